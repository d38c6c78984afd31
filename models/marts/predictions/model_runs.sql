{#-
    One row per model per scored cutoff of this run: what was fitted (parameters, chosen
    hyperparameters), on how much data, how long it took, how it went (status, invalid
    outputs, fallbacks) and, at the backtest cutoff, its headline metrics
    (all of them in marts.backtest_metrics).

    A primary model (var primary_model) whose backtest total leaves [0.8, 1.25] of what
    customers spent is flagged (is_backtest_total_out_of_band) and the summary warns: levels,
    segments and the Insiders list would all inherit that bias.
-#}
{%- set total_ratio_band = clv_total_ratio_band() -%}
with

predictions as (

    select * from {{ ref('predictions') }}

),

baseline_fits as (

    select * from {{ ref('btyd_fits') }}
    where cutoff_role in ('backtest', 'scoring')

),

baseline_outputs as (

    select
        cutoff_date,
        count(case when not is_valid_output then 1 end) as invalid_outputs
    from {{ ref('btyd_customer_predictions') }}
    group by cutoff_date

),

boosted_fits as (

    select * from {{ ref('xgboost_fits') }}

),

metric_values as (

    select * from {{ ref('backtest_metrics') }}

),

scored as (

    select
        run_id,
        run_started_at,
        cutoff_date,
        cutoff_role,
        horizon_days,
        model_name,
        min(case when not is_fallback then model_version end) as model_version,
        count(*) as scored_customers,
        count(case when is_fallback then 1 end) as fallback_predictions
    from predictions
    group by run_id, run_started_at, cutoff_date, cutoff_role, horizon_days, model_name

),

naive_estimates as (

    select
        cutoff_date,
        bool_and(is_rate_estimated) as is_rate_estimated
    from {{ ref('int_naive_predictions') }}
    group by cutoff_date

),

naive_runs as (

    select
        scored.cutoff_date,
        'naive' as model_name,
        case when naive_estimates.is_rate_estimated then 'fitted' else 'unvalidated' end as status,
        case
            when naive_estimates.is_rate_estimated then ''
            else
                'no earlier cutoff has a fully observed horizon (the history is shorter than'
                || ' horizon_days plus a cutoff step): the repeat rate is unknown, every purchase'
                || ' probability is 0.5, and no model could be trained or checked'
        end as message,
        {{ clv_json_object({'rule': "'next horizon revenue = last horizon revenue'"}) }} as model_parameters,
        cast(null as string) as hyperparameters,
        cast(null as bigint) as training_rows,
        cast(null as double) as fit_seconds,
        cast(0 as bigint) as invalid_outputs,
        cast(null as double) as frequency_monetary_correlation
    from scored
    inner join naive_estimates
        on scored.cutoff_date = naive_estimates.cutoff_date
    where scored.model_name = 'naive'

),

baseline_runs as (

    select
        baseline_fits.cutoff_date,
        'btyd' as model_name,
        baseline_fits.status,
        baseline_fits.message,
        {{ clv_json_object({
            'r': 'baseline_fits.r', 'alpha': 'baseline_fits.alpha',
            'a': 'baseline_fits.a', 'b': 'baseline_fits.b',
            'p': 'baseline_fits.p', 'q': 'baseline_fits.q', 'v': 'baseline_fits.v',
            'time_unit_days': 'baseline_fits.time_unit_days',
            'bgnbd_penalizer': 'baseline_fits.bgnbd_penalizer',
            'gamma_gamma_penalizer': 'baseline_fits.gamma_gamma_penalizer',
            'bgnbd_attempts': clv_json_text('baseline_fits.bgnbd_attempts'),
            'gamma_gamma_attempts': clv_json_text('baseline_fits.gamma_gamma_attempts')
        }) }} as model_parameters,
        cast(null as string) as hyperparameters,
        cast(baseline_fits.customers as bigint) as training_rows,
        cast(baseline_fits.fit_seconds as double) as fit_seconds,
        cast(coalesce(baseline_outputs.invalid_outputs, 0) as bigint) as invalid_outputs,
        cast(baseline_fits.frequency_monetary_correlation as double) as frequency_monetary_correlation
    from baseline_fits
    left join baseline_outputs
        on baseline_fits.cutoff_date = baseline_outputs.cutoff_date

),

boosted_runs as (

    select
        cast(scored_cutoff_date as date) as cutoff_date,
        'xgboost' as model_name,
        case
            when not bool_and(status = 'trained') then 'not_trained'
            when bool_and(calibration_status = 'fitted') then 'trained'
            else 'uncalibrated'
        end as status,
        coalesce({{ clv_string_agg("nullif(message, '')", "'; '", 'target') }}, '') as message,
        {{ clv_json_object({
            'spend_rounds': "max(case when target = 'spend' then rounds end)",
            'purchase_rounds': "max(case when target = 'purchase' then rounds end)",
            'validation_cutoff': 'max(validation_cutoff)',
            'spend_validation_rmse_log': "max(case when target = 'spend' then validation_score end)",
            'purchase_validation_log_loss': "max(case when target = 'purchase' then validation_score end)",
            'spend_calibration': clv_json_text("max(case when target = 'spend' then calibration end)"),
            'purchase_calibration': clv_json_text("max(case when target = 'purchase' then calibration end)")
        }) }} as model_parameters,
        {{ clv_json_object({
            'spend': clv_json_text("max(case when target = 'spend' then hyperparameters end)"),
            'purchase': clv_json_text("max(case when target = 'purchase' then hyperparameters end)")
        }) }} as hyperparameters,
        cast(max(training_rows) as bigint) as training_rows,
        cast(sum(fit_seconds) as double) as fit_seconds,
        cast(0 as bigint) as invalid_outputs,
        cast(null as double) as frequency_monetary_correlation
    from boosted_fits
    where scored_cutoff_date is not null
    group by scored_cutoff_date

),

fitted as (

    select * from naive_runs
    union all
    select * from baseline_runs
    union all
    select * from boosted_runs

),

final as (

    select
        -- ids
        scored.run_id,
        scored.run_started_at,
        scored.cutoff_date,
        scored.cutoff_role,
        scored.horizon_days,
        scored.model_name,
        scored.model_version,

        -- the fit
        fitted.status,
        fitted.message,
        fitted.model_parameters,
        fitted.hyperparameters,
        fitted.training_rows,
        fitted.fit_seconds,
        fitted.frequency_monetary_correlation,

        -- the outputs
        cast(scored.scored_customers as bigint) as scored_customers,
        cast(scored.fallback_predictions as bigint) as fallback_predictions,
        fitted.invalid_outputs,

        -- headline backtest metrics (null at the scoring cutoff)
        metric_values.rmsle as backtest_rmsle,
        metric_values.normalized_gini as backtest_normalized_gini,
        metric_values.revenue_ratio as backtest_revenue_ratio,
        metric_values.auc as backtest_auc,

        -- flags
        scored.model_name = {{ clv_quote(clv_primary_model()) }} as is_primary_model,
        case
            when metric_values.model_name is null then null
            when metric_values.revenue_ratio between {{ total_ratio_band[0] }} and {{ total_ratio_band[1] }} then false
            else true
        end as is_backtest_total_out_of_band

    from scored
    left join fitted
        on scored.cutoff_date = fitted.cutoff_date
        and scored.model_name = fitted.model_name
    left join metric_values
        on scored.cutoff_date = metric_values.cutoff_date
        and scored.model_name = metric_values.model_name

)

select * from final
