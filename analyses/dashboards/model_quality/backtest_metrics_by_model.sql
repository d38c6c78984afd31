-- Model quality: every backtest metric of the naive model, the BG/NBD + Gamma-Gamma baseline
-- and XGBoost side by side, on the customers of the backtest cutoff (labels fully observed).

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
order by case model_name when 'naive' then 1 when 'btyd' then 2 else 3 end
