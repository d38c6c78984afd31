-- Cohorts: revenue of each calendar month, split by the month its customers were acquired.

with

retention as (

    select * from {{ ref('cohort_retention') }}

),

final as (

    select
        activity_month,
        strftime(acquisition_month, '%Y-%m') as acquisition_month,
        revenue
    from retention
    where is_complete_month
        {{ metabase_optional('and months_since_acquisition <= ', 'max_months') }}

)

select * from final
order by activity_month, acquisition_month
