{#-
    One row per model at the backtest cutoff: every evaluation metric of DESIGN.md, computed
    out of time (the models never saw data on or after the backtest cutoff), each output of a
    forecast judged by its own rule, and the two reference forecasts (all_zeros,
    best_constant) beside them. The metrics themselves come from
    clv_warehouse.modeling.metrics_distribution (python_models/evaluation).
-#}
with

metric_values as (

    select * from {{ ref('backtest_metric_values') }}

),

versions as (

    select
        model_name,
        min(model_version) as model_version,
        count(case when is_fallback then 1 end) as fallback_predictions
    from {{ ref('predictions') }}
    where cutoff_role = 'backtest'
    group by model_name

),

final as (

    select
        -- ids
        cast(metric_values.cutoff_date as date) as cutoff_date,
        metric_values.model_name,
        coalesce(versions.model_version, 'reference') as model_version,
        metric_values.is_reference,

        -- revenue
        cast(metric_values.n_customers as bigint) as n_customers,
        cast(metric_values.actual_revenue as double) as actual_revenue,
        cast(metric_values.predicted_revenue as double) as predicted_revenue,
        cast(metric_values.revenue_ratio as double) as revenue_ratio,
        cast(metric_values.rmse as double) as rmse,
        cast(metric_values.mae as double) as mae,
        cast(metric_values.r2 as double) as r2,
        cast(metric_values.normalized_gini as double) as normalized_gini,
        cast(metric_values.normalized_gini_low as double) as normalized_gini_low,
        cast(metric_values.normalized_gini_high as double) as normalized_gini_high,
        cast(metric_values.spearman as double) as spearman,
        cast(metric_values.decile_mape as double) as decile_mape,
        cast(metric_values.top_decile_revenue_capture as double) as top_decile_revenue_capture,

        -- the RMSLE-optimal point
        cast(metric_values.rmsle_point as double) as rmsle,
        cast(metric_values.mae_log1p_point as double) as mae_log1p,

        -- purchase probability
        cast(metric_values.auc as double) as auc,
        cast(metric_values.brier as double) as brier,
        cast(metric_values.log_loss as double) as log_loss,
        cast(metric_values.positive_rate as double) as positive_rate,
        cast(metric_values.mean_probability as double) as mean_probability,

        -- quantiles
        cast(metric_values.interval_coverage_80 as double) as interval_coverage_80,
        cast(metric_values.spend_interval_coverage_80 as double) as spend_interval_coverage_80,
        cast(metric_values.pinball_loss_p10 as double) as pinball_loss_p10,
        cast(metric_values.pinball_loss_p50 as double) as pinball_loss_p50,
        cast(metric_values.pinball_loss_p90 as double) as pinball_loss_p90,
        cast(metric_values.pinball_loss_mean as double) as pinball_loss_mean,

        -- fallbacks
        coalesce(versions.fallback_predictions, 0) as fallback_predictions

    from metric_values
    left join versions
        on metric_values.model_name = versions.model_name

)

select * from final
