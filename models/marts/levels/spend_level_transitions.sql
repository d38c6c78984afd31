{#-
    One row per model, scored cutoff, current level and predicted level (every pair, zeros
    included): how many customers move from their last-horizon spend level to the level
    predicted for the next horizon, and their share of the current level's customers
    (row share; each current level's row shares sum to 1).
-#}
with

customer_levels as (

    select * from {{ ref('customer_spend_levels') }}

),

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

),

scored as (

    select distinct
        cutoff_date,
        cutoff_role,
        model_name
    from customer_levels

),

grid as (

    select
        scored.cutoff_date,
        scored.cutoff_role,
        scored.model_name,
        current_levels.spend_level as current_level,
        current_levels.level_name as current_level_name,
        predicted_levels.spend_level as predicted_level,
        predicted_levels.level_name as predicted_level_name
    from scored
    cross join levels as current_levels
    cross join levels as predicted_levels

),

counted as (

    select
        cutoff_date,
        model_name,
        current_level,
        predicted_level,
        count(*) as customers,
        {{ clv_ordered_aggregate('sum', 'current_revenue', 'customer_id') }} as current_revenue,
        {{ clv_ordered_aggregate('sum', 'predicted_revenue', 'customer_id') }} as predicted_revenue
    from customer_levels
    group by cutoff_date, model_name, current_level, predicted_level

),

final as (

    select
        -- ids
        grid.cutoff_date,
        grid.cutoff_role,
        grid.model_name,
        grid.current_level,
        grid.current_level_name,
        grid.predicted_level,
        grid.predicted_level_name,

        -- counts
        cast(coalesce(counted.customers, 0) as bigint) as customers,
        cast(coalesce(counted.customers, 0) as double)
        / nullif(sum(coalesce(counted.customers, 0)) over (
            partition by grid.cutoff_date, grid.model_name, grid.current_level
        ), 0) as row_share,

        -- revenue (input currency)
        cast(coalesce(counted.current_revenue, 0) as double) as current_revenue,
        cast(coalesce(counted.predicted_revenue, 0) as double) as predicted_revenue

    from grid
    left join counted
        on grid.cutoff_date = counted.cutoff_date
        and grid.model_name = counted.model_name
        and grid.current_level = counted.current_level
        and grid.predicted_level = counted.predicted_level

)

select * from final
