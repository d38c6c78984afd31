{#-
    Retention by acquisition month: for each cohort (month of the first purchase) and each
    month since, how many of its customers bought and how much revenue they brought. Months
    with no buyer in the cohort appear with zeros, up to the last month with data.
-#}

with

customers as (

    select * from {{ ref('customers') }}
    where has_purchases

),

customer_days as (

    select * from {{ ref('int_orders_grouped_to_days') }}

),

cohorts as (

    select
        acquisition_month,
        count(*) as cohort_customers
    from customers
    group by acquisition_month

),

calendar_months as (

    select distinct cast({{ dbt.date_trunc('month', 'order_date') }} as date) as activity_month
    from customer_days

),

last_observed as (

    select max(order_date) as last_order_date from customer_days

),

cohort_months as (

    select
        cohorts.acquisition_month,
        cohorts.cohort_customers,
        calendar_months.activity_month
    from cohorts
    inner join calendar_months
        on cohorts.acquisition_month <= calendar_months.activity_month

),

monthly_activity as (

    select
        customers.acquisition_month,
        cast({{ dbt.date_trunc('month', 'customer_days.order_date') }} as date) as activity_month,
        count(distinct case when customer_days.is_purchase_day then customer_days.customer_id end)
            as active_customers,
        sum(case when customer_days.is_purchase_day then customer_days.net_revenue else 0 end) as revenue,
        sum(customer_days.net_revenue) as net_revenue
    from customer_days
    inner join customers
        on customer_days.customer_id = customers.customer_id
    group by 1, 2

),

final as (

    select
        -- ids
        cohort_months.acquisition_month,
        cohort_months.activity_month,
        cast(
            {{ dbt.datediff('cohort_months.acquisition_month', 'cohort_months.activity_month', 'month') }}
            as integer
        ) as months_since_acquisition,

        -- counts
        cast(cohort_months.cohort_customers as bigint) as cohort_customers,
        cast(coalesce(monthly_activity.active_customers, 0) as bigint) as active_customers,
        cast(coalesce(monthly_activity.active_customers, 0) as double) / cohort_months.cohort_customers
            as retention_rate,

        -- money (input currency)
        cast(coalesce(monthly_activity.revenue, 0) as {{ clv_money_total_type() }}) as revenue,
        cast(coalesce(monthly_activity.net_revenue, 0) as {{ clv_money_total_type() }}) as net_revenue,
        cast(coalesce(monthly_activity.revenue, 0) as double) / cohort_months.cohort_customers
            as revenue_per_cohort_customer,
        sum(cast(coalesce(monthly_activity.revenue, 0) as double)) over (
            partition by cohort_months.acquisition_month
            order by cohort_months.activity_month
            rows between unbounded preceding and current row
        ) / cohort_months.cohort_customers as cumulative_revenue_per_cohort_customer,

        -- flags: the last month may be cut short by the end of the data
        (
            cast({{ dbt.dateadd('month', 1, 'cohort_months.activity_month') }} as date)
            <= cast({{ dbt.dateadd('day', 1, 'last_observed.last_order_date') }} as date)
        ) as is_complete_month

    from cohort_months
    cross join last_observed
    left join monthly_activity
        on cohort_months.acquisition_month = monthly_activity.acquisition_month
        and cohort_months.activity_month = monthly_activity.activity_month

)

select * from final
