-- Cohorts: each acquisition month's customers, month by month since their first purchase:
-- revenue of each calendar month and the cumulative revenue per cohort customer (filter: up
-- to this many months since acquisition, default all).

with

retention as (

    select * from {{ ref('cohort_retention') }}

),

final as (

    select
        activity_month,
        strftime(acquisition_month, '%Y-%m') as acquisition_month,
        months_since_acquisition,
        revenue,
        cumulative_revenue_per_cohort_customer
    from retention
    where is_complete_month
        {{ metabase_optional('and months_since_acquisition <= ', 'max_months') }}

)

select * from final
order by acquisition_month, months_since_acquisition
