{#-
    The spend levels of this run: the rows of reference.spend_levels whose horizon_days is the
    horizon_days var. Every level model reads them from here, so the choice of bounds is made
    in one place (tests/dbt/assert_spend_levels_cover_the_horizon.sql checks it is complete).
-#}
with

levels as (

    select * from {{ ref('spend_levels') }}

)

select
    spend_level,
    level_name,
    min_revenue,
    max_revenue
from levels
where horizon_days = {{ clv_positive_int_var('horizon_days') }}
