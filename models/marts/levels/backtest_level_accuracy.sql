{#-
    One row per model, predicted level and actual level at the backtest cutoff (every pair,
    zeros included): how many customers the model put at a level and where they actually
    ended up in the horizon after the cutoff. row_share is the share of the predicted level's
    customers (each predicted level's shares sum to 1); the diagonal is the level precision.
-#}
with

customer_levels as (

    select * from {{ ref('customer_spend_levels') }}
    where cutoff_role = 'backtest'

),

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

),

models as (

    select distinct
        cutoff_date,
        model_name
    from customer_levels

),

counted as (

    select
        model_name,
        predicted_level,
        actual_level,
        count(*) as customers
    from customer_levels
    group by model_name, predicted_level, actual_level

),

final as (

    select
        -- ids
        models.cutoff_date,
        models.model_name,
        predicted_levels.spend_level as predicted_level,
        predicted_levels.level_name as predicted_level_name,
        actual_levels.spend_level as actual_level,
        actual_levels.level_name as actual_level_name,

        -- counts
        cast(coalesce(counted.customers, 0) as bigint) as customers,
        cast(coalesce(counted.customers, 0) as double)
        / nullif(sum(coalesce(counted.customers, 0)) over (
            partition by models.model_name, predicted_levels.spend_level
        ), 0) as row_share,

        -- flags
        predicted_levels.spend_level = actual_levels.spend_level as is_correct

    from models
    cross join levels as predicted_levels
    cross join levels as actual_levels
    left join counted
        on models.model_name = counted.model_name
        and predicted_levels.spend_level = counted.predicted_level
        and actual_levels.spend_level = counted.actual_level

)

select * from final
