-- Model quality: every backtest metric of the naive model, the BG/NBD + Gamma-Gamma baseline
-- and XGBoost side by side, on the customers of the backtest cutoff (labels fully observed),
-- then the two reference forecasts (all_zeros, best_constant). RMSLE judges the point
-- forecast; Gini comes with its bootstrap 95% interval; coverage is the share of customers
-- inside their central 80% range (0.8 = calibrated).

with

metrics as (

    select * from {{ ref('backtest_metrics') }}

),

final as (

    select
        model_name,
        n_customers,
        actual_revenue,
        predicted_revenue,
        revenue_ratio,
        rmsle,
        normalized_gini,
        normalized_gini_low,
        normalized_gini_high,
        interval_coverage_80,
        spend_interval_coverage_80,
        spearman,
        top_decile_revenue_capture,
        decile_mape,
        auc,
        brier,
        log_loss,
        fallback_predictions,
        cutoff_date as backtest_cutoff
    from metrics

)

select * from final
order by
    case model_name
        when 'naive' then 1 when 'btyd' then 2 when 'xgboost' then 3
        when 'all_zeros' then 4 else 5
    end
