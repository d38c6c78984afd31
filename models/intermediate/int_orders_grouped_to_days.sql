{#-
    One row per customer per day with at least one kept line. Purchases on the same day merge
    (Fader-Hardie), and a return nets against the purchases of its day. A purchase day is a
    day whose net revenue is positive; a day with only returns is not one.
    Every later model reads transactions through this table, never line by line.

    Incremental: only customers with a line classified since this table was last built are
    recomputed, whole (a late line changes the gaps of the days after it); classified_through
    is the audit table's latest classified_at this table has seen.
-#}
{{ config(
    materialized=clv_incremental_materialization(),
    incremental_strategy='delete+insert',
    unique_key='customer_id',
    on_schema_change='fail',
) }}

with

kept_lines as (

    select * from {{ ref('int_transaction_lines_audited') }}
    where is_kept
    {%- if is_incremental() %}
        and customer_id in ({{ clv_customers_classified_since(this) }})
    {%- endif %}

),

grouped as (

    select
        -- ids
        customer_id,
        order_date,

        -- counts
        count(distinct case when not is_return then order_id end) as orders,
        count(case when not is_return then 1 end) as purchase_lines,
        count(case when is_return then 1 end) as return_lines,
        sum(case when not is_return then quantity end) as units_purchased,
        sum(case when is_return then -quantity end) as units_returned,

        -- money (exact decimals; units of the input currency)
        sum(case when not is_return then line_revenue else 0 end) as gross_revenue,
        sum(case when is_return then -line_revenue else 0 end) as returned_revenue,
        sum(line_revenue) as net_revenue,

        -- attributes of the day (smallest value when lines disagree)
        min(country) as country,
        min(store_id) as store_id

    from kept_lines
    group by customer_id, order_date

),

flagged as (

    select
        *,
        net_revenue > 0 as is_purchase_day
    from grouped

),

final as (

    select
        -- ids
        customer_id,
        order_date,

        -- counts
        cast(orders as bigint) as orders,
        cast(purchase_lines as bigint) as purchase_lines,
        cast(return_lines as bigint) as return_lines,
        cast(units_purchased as double) as units_purchased,
        cast(units_returned as double) as units_returned,

        -- money
        cast(gross_revenue as decimal(38, 4)) as gross_revenue,
        cast(returned_revenue as decimal(38, 4)) as returned_revenue,
        cast(net_revenue as decimal(38, 4)) as net_revenue,

        -- attributes
        country,
        store_id,

        -- flags and gaps: only earlier days are looked at, so no later data leaks in
        is_purchase_day,
        case
            when is_purchase_day then {{ dbt.datediff(
                'lag(order_date) over (partition by customer_id, is_purchase_day order by order_date)',
                'order_date', 'day') }}
        end as days_since_previous_purchase_day,

        -- incremental bookkeeping
        ({{ clv_latest_classification() }}) as classified_through

    from flagged

)

select * from final
