-- Out-of-time backtest: every cutoff the backtest XGBoost models trained on has its label
-- window [C, C + horizon) closed by the backtest cutoff, and the backtest baseline was fitted
-- at the backtest cutoff itself (on data before it).
with

backtest as (

    select
        cutoff_date,
        horizon_days
    from {{ ref('cutoffs') }}
    where cutoff_role = 'backtest'

),

boosted_training_cutoffs as (

    select
        fits.target,
        cast(training_cutoff.value as date) as training_cutoff_date
    from {{ ref('xgboost_fits') }} as fits
    {{ clv_join_json_text_array('fits.training_cutoffs', 'training_cutoff', 'value') }}
    where fits.phase = 'backtest'

),

late_training as (

    select
        'xgboost ' || boosted_training_cutoffs.target as offending_model,
        boosted_training_cutoffs.training_cutoff_date as cutoff_date
    from boosted_training_cutoffs
    cross join backtest
    where {{ dbt.dateadd('day', 'backtest.horizon_days', 'boosted_training_cutoffs.training_cutoff_date') }}
        > backtest.cutoff_date

),

backtest_baseline as (

    select
        'btyd' as offending_model,
        metrics.cutoff_date
    from {{ ref('backtest_metrics') }} as metrics
    cross join backtest
    where metrics.cutoff_date <> backtest.cutoff_date

)

select * from late_training
union all
select * from backtest_baseline
