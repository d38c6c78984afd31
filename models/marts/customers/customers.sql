with

customer_days as (

    select * from {{ ref('int_orders_grouped_to_days') }}

),

lifetime_totals as (

    select
        customer_id,

        -- dates
        min(order_date) as first_transaction_date,
        min(case when is_purchase_day then order_date end) as first_purchase_date,
        max(case when is_purchase_day then order_date end) as last_purchase_date,

        -- counts
        count(case when is_purchase_day then 1 end) as purchase_days,
        sum(orders) as orders,
        sum(purchase_lines) as purchase_lines,
        sum(units_purchased) as units_purchased,
        sum(return_lines) as return_lines,
        count(case when return_lines > 0 then 1 end) as return_days,
        sum(units_returned) as units_returned,

        -- money
        sum(case when is_purchase_day then net_revenue else 0 end) as revenue,
        sum(gross_revenue) as gross_revenue,
        sum(returned_revenue) as returned_revenue,
        sum(net_revenue) as net_revenue,

        -- place: the last one known
        {{ clv_last_value_by('country', 'order_date') }} as country,
        {{ clv_last_value_by('store_id', 'order_date') }} as store_id

    from customer_days
    group by customer_id

),

final as (

    select
        -- ids
        customer_id,

        -- dates
        first_transaction_date,
        first_purchase_date,
        last_purchase_date,
        cast({{ dbt.date_trunc('month', 'first_purchase_date') }} as date) as acquisition_month,

        -- place
        country,
        store_id,

        -- counts
        cast(purchase_days as bigint) as purchase_days,
        cast(orders as bigint) as orders,
        cast(purchase_lines as bigint) as purchase_lines,
        cast(units_purchased as double) as units_purchased,
        cast(return_lines as bigint) as return_lines,
        cast(return_days as bigint) as return_days,
        cast(units_returned as double) as units_returned,

        -- money (input currency)
        cast(revenue as {{ clv_money_total_type() }}) as revenue,
        cast(gross_revenue as {{ clv_money_total_type() }}) as gross_revenue,
        cast(returned_revenue as {{ clv_money_total_type() }}) as returned_revenue,
        cast(net_revenue as {{ clv_money_total_type() }}) as net_revenue,
        cast(returned_revenue as double) / nullif(gross_revenue, 0) as return_rate_revenue,

        -- flags
        purchase_days > 0 as has_purchases,
        purchase_days > 1 as is_repeat_customer,
        -- returned more than bought (returns of purchases made before the data starts):
        -- excluded from model training
        returned_revenue > gross_revenue as has_returns_exceeding_purchases

    from lifetime_totals

)

select * from final
