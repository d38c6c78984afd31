{#-
    One row per customer at the scoring cutoff: the primary model's forecast, the facts a
    marketer acts on, and the segment flags (thresholds are vars, see dbt_project.yml):
      high value          top high_value_top_share by predicted revenue
      churn risk          top churn_risk_past_value_top_share by revenue of the last 365 days,
                          but purchase probability < churn_risk_max_purchase_probability
                          or p_alive < churn_risk_max_p_alive
      missed opportunity  no purchase in the last horizon, yet top
                          missed_opportunity_top_share by predicted revenue
    primary_segment picks the first that applies in that order, else 'other'.
-#}
{%- set primary_model = clv_primary_model() -%}

with

predictions as (

    select * from {{ ref('predictions') }}
    where cutoff_role = 'scoring'

),

features as (

    select * from {{ ref('customer_features') }}

),

cutoffs as (

    select * from {{ ref('cutoffs') }}
    where cutoff_role = 'scoring'

),

customer_levels as (

    select * from {{ ref('customer_spend_levels') }}
    where cutoff_role = 'scoring' and model_name = {{ clv_quote(primary_model) }}

),

drivers as (

    select * from {{ ref('customer_prediction_drivers') }}
    where cutoff_role = 'scoring'

),

forecast as (

    select
        primary_model.customer_id,
        primary_model.cutoff_date,
        primary_model.model_name,
        primary_model.model_version,
        primary_model.predicted_revenue,
        primary_model.revenue_p10,
        primary_model.revenue_p90,
        primary_model.purchase_probability,
        baseline.p_alive,
        baseline.clv,
        baseline.expected_purchases
    from predictions as primary_model
    left join predictions as baseline
        on primary_model.customer_id = baseline.customer_id
        and baseline.model_name = 'btyd'
    where primary_model.model_name = {{ clv_quote(primary_model) }}

),

ranked as (

    select
        forecast.*,
        features.first_purchase_date,
        features.last_purchase_date,
        features.days_since_last_purchase,
        features.purchase_days,
        features.revenue,
        features.revenue_last_365d,
        features.revenue_last_horizon,
        features.avg_revenue_per_purchase_day,
        features.country,
        features.store_id,
        cume_dist() over (order by forecast.predicted_revenue desc) as predicted_revenue_top_share,
        cume_dist() over (order by features.revenue_last_365d desc) as past_value_top_share
    from forecast
    inner join features
        on forecast.customer_id = features.customer_id
        and forecast.cutoff_date = features.cutoff_date

),

flagged as (

    select
        ranked.*,
        ranked.predicted_revenue_top_share <= {{ clv_number_var('high_value_top_share') }} as is_high_value,
        ranked.revenue_last_365d > 0
        and ranked.past_value_top_share <= {{ clv_number_var('churn_risk_past_value_top_share') }}
        and (
            ranked.purchase_probability < {{ clv_number_var('churn_risk_max_purchase_probability') }}
            or coalesce(ranked.p_alive < {{ clv_number_var('churn_risk_max_p_alive') }}, false)
        ) as is_churn_risk,
        ranked.revenue_last_horizon = 0
        and ranked.predicted_revenue_top_share <= {{ clv_number_var('missed_opportunity_top_share') }}
            as is_missed_opportunity
    from ranked

),

final as (

    select
        -- ids
        flagged.customer_id,
        flagged.cutoff_date,
        cutoffs.horizon_days,
        flagged.model_name,
        flagged.model_version,

        -- forecast for [cutoff, cutoff + horizon); money in the input currency
        flagged.predicted_revenue,
        flagged.revenue_p10,
        flagged.revenue_p90,
        flagged.purchase_probability,
        flagged.p_alive,
        flagged.clv,
        customer_levels.current_level,
        customer_levels.predicted_level,

        -- what the customer did before the cutoff
        flagged.first_purchase_date,
        flagged.last_purchase_date,
        flagged.days_since_last_purchase,
        flagged.purchase_days,
        flagged.revenue as lifetime_revenue,
        flagged.revenue_last_365d,
        flagged.revenue_last_horizon,
        flagged.avg_revenue_per_purchase_day,
        flagged.country,
        flagged.store_id,

        -- why the forecast is what it is (XGBoost SHAP, null for other primary models)
        case when flagged.model_name = 'xgboost' then drivers.driver_1_feature end as top_driver,

        -- ranks (share of customers at or above this one)
        flagged.predicted_revenue_top_share,
        flagged.past_value_top_share,

        -- segments
        flagged.is_high_value,
        flagged.is_churn_risk,
        flagged.is_missed_opportunity,
        case
            when flagged.is_high_value then 'high_value'
            when flagged.is_churn_risk then 'churn_risk'
            when flagged.is_missed_opportunity then 'missed_opportunity'
            else 'other'
        end as primary_segment

    from flagged
    inner join cutoffs
        on flagged.cutoff_date = cutoffs.cutoff_date
    left join customer_levels
        on flagged.customer_id = customer_levels.customer_id
    -- joined on the key alone: a condition on the left side in a left join's on clause made
    -- DuckDB compare every pair of rows (a nested-loop join: 80 s for this query at 299k
    -- customers, 0.6 s without it)
    left join drivers
        on flagged.customer_id = drivers.customer_id

)

select * from final
