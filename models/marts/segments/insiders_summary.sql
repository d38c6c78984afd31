{#-
    Who the Insiders are, in three rows: insiders, everyone else, all customers. How many,
    their main characteristics (averages), their share of past revenue, their expected
    revenue in the next horizon and its share, and the rule for entering and leaving.
-#}
with

segments as (

    select * from {{ ref('customer_segments') }}

),

insiders as (

    select customer_id from {{ ref('insiders') }}

),

grouped as (

    select
        case when insiders.customer_id is not null then 'insiders' else 'everyone_else' end as customer_group,
        segments.*
    from segments
    left join insiders
        on segments.customer_id = insiders.customer_id

    union all

    select
        'all_customers' as customer_group,
        segments.*
    from segments

),

summarised as (

    select
        customer_group,
        min(cutoff_date) as cutoff_date,
        min(horizon_days) as horizon_days,
        count(*) as customers,
        avg(purchase_days) as avg_purchase_days,
        {{ clv_ordered_aggregate('avg', 'avg_revenue_per_purchase_day', 'customer_id') }} as avg_revenue_per_purchase_day,
        avg(days_since_last_purchase) as avg_days_since_last_purchase,
        avg({{ dbt.datediff('first_purchase_date', 'cutoff_date', 'day') }}) as avg_tenure_days,
        {{ clv_ordered_aggregate('avg', 'purchase_probability', 'customer_id') }} as avg_purchase_probability,
        {{ clv_ordered_aggregate('avg', 'p_alive', 'customer_id') }} as avg_p_alive,
        {{ clv_ordered_aggregate('sum', 'lifetime_revenue', 'customer_id') }} as lifetime_revenue,
        {{ clv_ordered_aggregate('sum', 'revenue_last_365d', 'customer_id') }} as revenue_last_365d,
        {{ clv_ordered_aggregate('sum', 'predicted_revenue', 'customer_id') }} as predicted_revenue,
        {{ clv_ordered_aggregate('sum', 'clv', 'customer_id') }} as clv
    from grouped
    group by customer_group

),

totals as (

    select * from summarised
    where customer_group = 'all_customers'

),

final as (

    select
        -- ids
        summarised.customer_group,
        summarised.cutoff_date,
        cast(summarised.horizon_days as integer) as horizon_days,

        -- how many
        cast(summarised.customers as bigint) as customers,
        cast(summarised.customers as double) / totals.customers as customer_share,

        -- main characteristics (averages per customer)
        cast(summarised.avg_purchase_days as double) as avg_purchase_days,
        cast(summarised.avg_revenue_per_purchase_day as double) as avg_revenue_per_purchase_day,
        cast(summarised.avg_days_since_last_purchase as double) as avg_days_since_last_purchase,
        cast(summarised.avg_tenure_days as double) as avg_tenure_days,
        cast(summarised.avg_purchase_probability as double) as avg_purchase_probability,
        cast(summarised.avg_p_alive as double) as avg_p_alive,

        -- revenue and its share (input currency)
        cast(summarised.lifetime_revenue as double) as lifetime_revenue,
        cast(summarised.lifetime_revenue as double) / nullif(totals.lifetime_revenue, 0) as lifetime_revenue_share,
        cast(summarised.revenue_last_365d as double) as revenue_last_365d,
        cast(summarised.revenue_last_365d as double) / nullif(totals.revenue_last_365d, 0) as revenue_last_365d_share,
        cast(summarised.predicted_revenue as double) as predicted_revenue_next_horizon,
        cast(summarised.predicted_revenue as double) / nullif(totals.predicted_revenue, 0)
            as predicted_revenue_share,
        cast(summarised.clv as double) as clv,

        -- the rule
        'top {{ clv_number_var('insiders_top_share') }} of customers by predicted revenue for the next horizon, '
        || 'with at least {{ clv_number_var('insiders_min_purchase_days') }} purchase days '
        || 'and a purchase probability of at least {{ clv_number_var('insiders_min_purchase_probability') }}'
            as entry_rule,
        'recomputed on every build: a customer leaves on the first build where the entry rule no longer holds'
            as exit_rule

    from summarised
    cross join totals

)

select * from final
