-- Cohorts: how many new customers each month brought, and what they have spent since.

with

retention as (

    select * from {{ ref('cohort_retention') }}

),

final as (

    select
        acquisition_month,
        max(cohort_customers) as new_customers,
        sum(revenue) as revenue_since_acquisition,
        sum(revenue) / max(cohort_customers) as revenue_per_customer
    from retention
    group by acquisition_month

)

select * from final
order by acquisition_month
