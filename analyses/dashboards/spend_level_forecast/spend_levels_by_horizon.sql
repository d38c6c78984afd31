-- Spend-level forecast: per spend level, the customers and revenue of the last horizon (the
-- days before the scoring cutoff) and what the model predicts for the next one (level 0 =
-- unlikely to buy; otherwise the level of their spend if they buy). Filter: model.

with

level_revenue as (

    select * from {{ ref('spend_level_revenue') }}
    where cutoff_role = 'scoring'

),

final as (

    select
        cast(spend_level as string) || '. ' || level_name as spend_level,
        current_customers as customers_last_horizon,
        predicted_customers as customers_next_horizon,
        current_revenue as revenue_last_horizon,
        predicted_revenue as predicted_revenue_next_horizon
    from level_revenue
    where model_name = coalesce({{ metabase_optional('', 'model', ', ') }} {{ clv_quote(var("primary_model")) }})

)

select * from final
order by spend_level
