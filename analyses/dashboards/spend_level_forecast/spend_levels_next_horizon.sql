-- Spend-level forecast: how many customers each model expects at each spend level in the next
-- horizon (level 0 = unlikely to buy; otherwise the level of their spend if they buy).

with

level_revenue as (

    select * from {{ ref('spend_level_revenue') }}
    where cutoff_role = 'scoring'

),

final as (

    select
        cast(spend_level as varchar) || '. ' || level_name as spend_level,
        predicted_customers as customers,
        predicted_revenue
    from level_revenue
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} '{{ var("primary_model") }}')

)

select * from final
order by spend_level
