-- reference.spend_levels must have bounds for the run's horizon_days: level 0 and at least one
-- level above it, with contiguous bounds (each level starts where the one below ends).
with

levels as (

    select * from {{ ref('int_spend_levels_of_horizon') }}

),

problems as (

    select 'no level 0 for horizon_days {{ var("horizon_days") }}' as problem
    where not exists (
            select 1 from levels
            where spend_level = 0
        )

    union all

    select 'no level above 0 for horizon_days {{ var("horizon_days") }}' as problem
    where not exists (
            select 1 from levels
            where spend_level > 0
        )

    union all

    select
        'level ' || cast(upper_level.spend_level as string) || ' does not start where the level below ends'
            as problem
    from levels as upper_level
    inner join levels as lower_level
        on upper_level.spend_level = lower_level.spend_level + 1
    where lower_level.spend_level > 0
        and coalesce(lower_level.max_revenue, -1) <> upper_level.min_revenue

)

select * from problems
