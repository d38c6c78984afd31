-- Spend-level forecast: revenue by spend level, last horizon vs predicted for the next. The
-- level is the customer's level in each period, so the bars compare like with like.

with

level_revenue as (

    select * from {{ ref('spend_level_revenue') }}
    where cutoff_role = 'scoring'

),

final as (

    select
        cast(spend_level as varchar) || '. ' || level_name as spend_level,
        current_revenue as revenue_last_horizon,
        predicted_revenue as predicted_revenue_next_horizon
    from level_revenue
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} '{{ var("primary_model") }}')

)

select * from final
order by spend_level
