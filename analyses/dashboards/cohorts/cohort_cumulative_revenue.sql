-- Cohorts: cumulative revenue per customer of each acquisition month, by months since
-- acquisition: which cohorts are worth more over time.

with

retention as (

    select * from {{ ref('cohort_retention') }}

),

final as (

    select
        months_since_acquisition,
        strftime(acquisition_month, '%Y-%m') as acquisition_month,
        cumulative_revenue_per_cohort_customer
    from retention
    where is_complete_month
        {{ metabase_optional('and months_since_acquisition <= ', 'max_months') }}

)

select * from final
order by acquisition_month, months_since_acquisition
