-- Spend-level forecast: how many customers reached each spend level in the last horizon
-- (the days before the scoring cutoff). Filter: model (its level rules are the same for all).

with

level_revenue as (

    select * from {{ ref('spend_level_revenue') }}
    where cutoff_role = 'scoring'

),

final as (

    select
        cast(spend_level as varchar) || '. ' || level_name as spend_level,
        current_customers as customers,
        current_revenue as revenue
    from level_revenue
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} '{{ var("primary_model") }}')

)

select * from final
order by spend_level
