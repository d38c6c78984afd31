{#-
    Labels of every customer at every cutoff whose window [C, C + horizon_days) is fully
    observed: revenue (net revenue of purchase days, as in the features), purchase days and
    orders in the window. Customers without a purchase in the window get zeros.
-#}

with

cutoffs as (

    select * from {{ ref('cutoffs') }}
    where is_label_complete

),

customers_at_cutoffs as (

    select
        customer_id,
        cutoff_date
    from {{ ref('int_customer_features_at_cutoffs') }}

),

customer_days as (

    select * from {{ ref('int_orders_grouped_to_days') }}

),

window_days as (

    select
        customers_at_cutoffs.customer_id,
        customers_at_cutoffs.cutoff_date,
        customer_days.is_purchase_day,
        customer_days.net_revenue,
        customer_days.orders
    from customers_at_cutoffs
    inner join cutoffs
        on customers_at_cutoffs.cutoff_date = cutoffs.cutoff_date
    inner join customer_days
        on customers_at_cutoffs.customer_id = customer_days.customer_id
        and cutoffs.cutoff_date <= customer_days.order_date
        and cutoffs.label_window_end_date > customer_days.order_date

),

window_totals as (

    select
        customer_id,
        cutoff_date,
        sum(case when is_purchase_day then net_revenue else 0 end) as label_revenue,
        count(case when is_purchase_day then 1 end) as label_purchase_days,
        sum(orders) as label_orders
    from window_days
    group by customer_id, cutoff_date

),

final as (

    select
        -- ids
        customers_at_cutoffs.customer_id,
        customers_at_cutoffs.cutoff_date,

        -- labels
        cast(coalesce(window_totals.label_revenue, 0) as double) as label_revenue,
        cast(coalesce(window_totals.label_purchase_days, 0) as bigint) as label_purchase_days,
        cast(coalesce(window_totals.label_orders, 0) as bigint) as label_orders,
        coalesce(window_totals.label_purchase_days, 0) > 0 as label_has_purchase

    from customers_at_cutoffs
    inner join cutoffs
        on customers_at_cutoffs.cutoff_date = cutoffs.cutoff_date
    left join window_totals
        on customers_at_cutoffs.customer_id = window_totals.customer_id
        and customers_at_cutoffs.cutoff_date = window_totals.cutoff_date

)

select * from final
