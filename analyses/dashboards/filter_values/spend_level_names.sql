-- Filter values: the names of this run's spend levels, for the dashboards' level filter.

with

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

)

select level_name from levels
order by spend_level
