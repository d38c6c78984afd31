-- Cohorts: the share of each acquisition month's customers who bought again N months after
-- their first month (filter: up to this many months since acquisition, default all). Metabase
-- pivots the three columns into a cohort matrix (table.pivot).

with

retention as (

    select * from {{ ref('cohort_retention') }}

),

final as (

    select
        strftime(acquisition_month, '%Y-%m') as acquisition_month,
        months_since_acquisition,
        retention_rate
    from retention
    where is_complete_month
        {{ metabase_optional('and months_since_acquisition <= ', 'max_months') }}

)

select * from final
order by acquisition_month, months_since_acquisition
