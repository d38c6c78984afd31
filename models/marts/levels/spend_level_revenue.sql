{#-
    One row per model, scored cutoff and spend level: the customers at that level in the last
    horizon and the revenue they spent, beside the customers the model predicts at that level
    for the next horizon and the revenue it predicts for them.
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

current_totals as (

    select
        cutoff_date,
        model_name,
        current_level as spend_level,
        count(*) as customers,
        {{ clv_ordered_aggregate('sum', 'current_revenue', 'customer_id') }} as revenue
    from customer_levels
    group by cutoff_date, model_name, current_level

),

predicted_totals as (

    select
        cutoff_date,
        model_name,
        predicted_level as spend_level,
        count(*) as customers,
        {{ clv_ordered_aggregate('sum', 'predicted_revenue', 'customer_id') }} as revenue
    from customer_levels
    group by cutoff_date, model_name, predicted_level

),

final as (

    select
        -- ids
        scored.cutoff_date,
        scored.cutoff_role,
        scored.model_name,
        levels.spend_level,
        levels.level_name,

        -- the last horizon
        cast(coalesce(current_totals.customers, 0) as bigint) as current_customers,
        cast(coalesce(current_totals.revenue, 0) as double) as current_revenue,

        -- the next horizon, predicted
        cast(coalesce(predicted_totals.customers, 0) as bigint) as predicted_customers,
        cast(coalesce(predicted_totals.revenue, 0) as double) as predicted_revenue

    from scored
    cross join levels
    left join current_totals
        on scored.cutoff_date = current_totals.cutoff_date
        and scored.model_name = current_totals.model_name
        and levels.spend_level = current_totals.spend_level
    left join predicted_totals
        on scored.cutoff_date = predicted_totals.cutoff_date
        and scored.model_name = predicted_totals.model_name
        and levels.spend_level = predicted_totals.spend_level

)

select * from final
