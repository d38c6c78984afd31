{#-
    The four samples feature drift compares, one row per customer and cutoff with every model
    input (int_model_inputs). Each is the customers at one cutoff, so drift compares a day
    with a day, like with like, never a pool of cutoffs with one:

        training           the training rows of the production boosters at their latest
                           training cutoff (the backtest cutoff)
        scoring            the customers at this build's scoring cutoff
        backtest_training  the training rows of the backtest boosters at their latest
                           training cutoff
        backtest           the customers at the backtest cutoff (what the backtest scored)

    scoring against training is the drift of this forecast; backtest against
    backtest_training is the drift the backtest forecast went through, one horizon on in the
    same way, which its metrics already show (marts.feature_drift).
    A view: it only selects rows of int_model_inputs.
-#}
{{ config(materialized='view') }}

with

inputs as (

    select * from {{ ref('int_model_inputs') }}

),

latest_training_cutoffs as (

    -- The rows the boosters were trained on (clv_warehouse.modeling.tables.phase_rows):
    -- training-eligible rows with a complete label (production) or whose label window ends by
    -- the backtest cutoff (backtest). In a score build the grid and the training cutoffs'
    -- features are the release's (int_customer_features_at_cutoffs keeps them), so these are
    -- the release's training rows, except where a late line changed a label.
    select
        max(case when is_label_complete then cutoff_date end) as training_cutoff_date,
        max(case when is_backtest_training_cutoff then cutoff_date end)
            as backtest_training_cutoff_date
    from inputs
    where is_training_eligible

),

training_rows as (

    select
        'training' as sample_role,
        inputs.*
    from inputs
    inner join latest_training_cutoffs
        on inputs.cutoff_date = latest_training_cutoffs.training_cutoff_date
    where inputs.is_training_eligible and inputs.is_label_complete

),

backtest_training_rows as (

    select
        'backtest_training' as sample_role,
        inputs.*
    from inputs
    inner join latest_training_cutoffs
        on inputs.cutoff_date = latest_training_cutoffs.backtest_training_cutoff_date
    where inputs.is_training_eligible and inputs.is_backtest_training_cutoff

),

scored_rows as (

    select
        inputs.cutoff_role as sample_role,
        inputs.*
    from inputs
    where inputs.cutoff_role in ('scoring', 'backtest')

),

final as (

    select * from training_rows
    union all
    select * from backtest_training_rows
    union all
    select * from scored_rows

)

select * from final
