{#-
    One row per earlier scoring run and model whose horizon has fully passed (cutoff +
    horizon_days <= this build's scoring cutoff): what the run predicted for the horizon
    against what customers then spent, judged by the backtest's rules (Gini with its seeded
    bootstrap interval, decile MAPE, randomized-PIT interval coverage, AUC; see
    clv_warehouse.modeling.monitoring). Empty until such a run exists.
-#}
{%- set primary_model = clv_primary_model() -%}
{%- set total_ratio_band = clv_total_ratio_band() -%}
{%- set realized_ratio = 'metric_values.actual_revenue / nullif(metric_values.predicted_revenue, 0)' %}

with

metric_values as (

    select * from {{ ref('forecast_monitoring_values') }}

),

outcomes as (

    select * from {{ ref('int_forecast_monitoring_outcomes') }}

),

current_cutoff as (

    select max(scoring_cutoff_date) as scoring_cutoff_date
    from {{ ref('cutoffs') }}

),

runs as (

    select
        run_id,
        model_name,
        min(run_started_at) as run_started_at,
        min(horizon_days) as horizon_days,
        min(horizon_end_date) as horizon_end_date,
        min(model_version) as model_version,
        count(case when is_fallback then 1 end) as fallback_predictions
    from outcomes
    group by run_id, model_name

),

final as (

    select
        -- ids
        metric_values.run_id,
        runs.run_started_at,
        metric_values.model_name,
        runs.model_version,
        metric_values.model_name = {{ clv_quote(primary_model) }} as is_primary_model,

        -- dates
        cast(metric_values.cutoff_date as date) as cutoff_date,
        cast(runs.horizon_days as integer) as horizon_days,
        cast(runs.horizon_end_date as date) as horizon_end_date,
        cast(current_cutoff.scoring_cutoff_date as date) as monitored_at_cutoff_date,

        -- totals (input currency)
        cast(metric_values.n_customers as bigint) as n_customers,
        cast(metric_values.predicted_revenue as double) as predicted_revenue,
        cast(metric_values.actual_revenue as double) as realized_revenue,
        cast({{ realized_ratio }} as double) as realized_to_predicted_ratio,
        coalesce(
            not ({{ realized_ratio }} between {{ total_ratio_band[0] }} and {{ total_ratio_band[1] }}),
            true
        ) as is_total_out_of_band,

        -- ranking and calibration of the expectation
        cast(metric_values.normalized_gini as double) as normalized_gini,
        cast(metric_values.normalized_gini_low as double) as normalized_gini_low,
        cast(metric_values.normalized_gini_high as double) as normalized_gini_high,
        cast(metric_values.spearman as double) as spearman,
        cast(metric_values.decile_mape as double) as decile_mape,
        cast(metric_values.top_decile_revenue_capture as double) as top_decile_revenue_capture,
        cast(metric_values.rmse as double) as rmse,
        cast(metric_values.mae as double) as mae,

        -- the RMSLE-optimal point
        cast(metric_values.rmsle_point as double) as rmsle,

        -- purchase probability
        cast(metric_values.auc as double) as auc,
        cast(metric_values.brier as double) as brier,
        cast(metric_values.log_loss as double) as log_loss,
        cast(metric_values.positive_rate as double) as positive_rate,
        cast(metric_values.mean_probability as double) as mean_probability,

        -- quantiles
        cast(metric_values.interval_coverage_80 as double) as interval_coverage_80,
        cast(metric_values.spend_interval_coverage_80 as double) as spend_interval_coverage_80,
        cast(metric_values.pinball_loss_mean as double) as pinball_loss_mean,

        -- fallbacks
        cast(runs.fallback_predictions as bigint) as fallback_predictions

    from metric_values
    inner join runs
        on metric_values.run_id = runs.run_id
        and metric_values.model_name = runs.model_name
    cross join current_cutoff

)

select * from final
