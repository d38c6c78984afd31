{#-
    The lists marketers act on, one row per customer per list at the scoring cutoff:
      high_value, churn_risk, missed_opportunity  (flags of customer_segments)
      insiders                                     (the loyalty list, marts.insiders)
    A customer can be on several lists. Level names come from this run's spend levels, so a
    list can be filtered and read without a lookup. The Customer lists dashboard reads it.
-#}
with

segments as (

    select * from {{ ref('customer_segments') }}

),

insiders as (

    select * from {{ ref('insiders') }}

),

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

),

memberships as (

    select
        customer_id,
        'high_value' as list_name
    from segments
    where is_high_value

    union all

    select
        customer_id,
        'churn_risk' as list_name
    from segments
    where is_churn_risk

    union all

    select
        customer_id,
        'missed_opportunity' as list_name
    from segments
    where is_missed_opportunity

    union all

    select
        customer_id,
        'insiders' as list_name
    from insiders

),

final as (

    select
        -- ids
        memberships.list_name,
        segments.customer_id,
        segments.cutoff_date,
        segments.horizon_days,
        segments.model_name,
        cast(
            row_number() over (
                partition by memberships.list_name
                order by segments.predicted_revenue desc, segments.customer_id asc
            ) as bigint
        ) as list_rank,

        -- forecast for [cutoff, cutoff + horizon); money in the input currency
        segments.predicted_revenue,
        segments.revenue_p10,
        segments.revenue_p90,
        segments.purchase_probability,
        segments.p_alive,
        segments.clv,
        segments.current_level,
        current_levels.level_name as current_level_name,
        segments.predicted_level,
        predicted_levels.level_name as predicted_level_name,

        -- what the customer did before the cutoff
        segments.last_purchase_date,
        segments.days_since_last_purchase,
        segments.purchase_days,
        segments.lifetime_revenue,
        segments.revenue_last_365d,
        segments.revenue_last_horizon,
        segments.avg_revenue_per_purchase_day,
        segments.country,
        segments.store_id,
        segments.top_driver,
        segments.primary_segment

    from memberships
    inner join segments
        on memberships.customer_id = segments.customer_id
    left join levels as current_levels
        on segments.current_level = current_levels.spend_level
    left join levels as predicted_levels
        on segments.predicted_level = predicted_levels.spend_level

)

select * from final
