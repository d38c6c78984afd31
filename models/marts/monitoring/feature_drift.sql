{#-
    One row per feature of the production XGBoost model: how far the customers at this build's
    scoring cutoff have moved from the rows the model was trained on at its latest training
    cutoff, as a population stability index (PSI; bins and the empty-bin floor in
    clv_warehouse.modeling.monitoring), beside the same index one step back (backtest_psi:
    the backtest cutoff's customers against the backtest's latest training rows, the drift
    the backtest forecast went through, whose effect its metrics show).
    A key feature is one of the 10 most important of either production booster (rank by mean
    |SHAP| in marts.feature_importance); PSI above 0.25 is a major shift (is_drifted). The
    build summary warns of a key feature that drifted beyond what the backtest went through
    (PSI more than twice backtest_psi), unless it is a calendar feature (the cutoff's month, week and place
    in the year: the same for every customer at a cutoff, different at any other): is_warned.
-#}
{%- set key_feature_rank = 10 -%}
{%- set drift_threshold = 0.25 -%}
{#- how many times the backtest's PSI a forecast's may reach before the summary warns -#}
{%- set backtest_factor = 2 -%}

with

drift_values as (

    select * from {{ ref('feature_drift_values') }}

),

importance as (

    select * from {{ ref('feature_importance') }}
    where phase = 'production'

),

cutoffs as (

    select * from {{ ref('cutoffs') }}

),

feature_ranks as (

    select
        feature_name,
        min(importance_rank) as importance_rank,
        max(importance_share) as importance_share,
        min(feature_group) as feature_group,
        min(description) as description
    from importance
    group by feature_name

),

compared_cutoffs as (

    -- the cutoffs of the four samples of int_feature_drift_samples
    select
        max(case when is_label_complete then cutoff_date end) as training_cutoff_date,
        max(scoring_cutoff_date) as scoring_cutoff_date,
        max(case when is_backtest_training_cutoff then cutoff_date end)
            as backtest_training_cutoff_date,
        max(backtest_cutoff_date) as backtest_cutoff_date
    from cutoffs

),

judged as (

    select
        drift_values.*,
        feature_ranks.feature_group,
        feature_ranks.importance_rank,
        feature_ranks.importance_share,
        feature_ranks.description,
        coalesce(feature_ranks.feature_group = 'calendar', false) as is_calendar_feature,
        coalesce(feature_ranks.importance_rank <= {{ key_feature_rank }}, false)
            as is_key_feature,
        drift_values.psi > {{ drift_threshold }}
        and (
            drift_values.backtest_psi is null
            or drift_values.psi > {{ backtest_factor }} * drift_values.backtest_psi
        ) as is_beyond_backtest
    from drift_values
    left join feature_ranks
        on drift_values.feature_name = feature_ranks.feature_name

),

final as (

    select
        -- ids
        judged.feature_name,
        judged.feature_kind,
        judged.feature_group,
        judged.is_calendar_feature,

        -- the samples compared
        cast(compared_cutoffs.training_cutoff_date as date) as training_cutoff_date,
        cast(compared_cutoffs.scoring_cutoff_date as date) as scoring_cutoff_date,
        cast(compared_cutoffs.backtest_training_cutoff_date as date)
            as backtest_training_cutoff_date,
        cast(compared_cutoffs.backtest_cutoff_date as date) as backtest_cutoff_date,
        cast(judged.training_rows as bigint) as training_rows,
        cast(judged.scoring_rows as bigint) as scoring_rows,
        cast(judged.training_missing_share as double) as training_missing_share,
        cast(judged.scoring_missing_share as double) as scoring_missing_share,

        -- bins and the index
        cast(judged.bins as integer) as bins,
        judged.bin_edges,
        cast(judged.psi as double) as psi,
        case
            when judged.psi < 0.1 then 'stable'
            when judged.psi <= {{ drift_threshold }} then 'moderate'
            else 'major'
        end as drift_level,
        judged.psi > {{ drift_threshold }} as is_drifted,

        -- one step back: the backtest
        cast(judged.backtest_psi as double) as backtest_psi,
        judged.is_beyond_backtest,

        -- importance, and the summary's warning
        cast(judged.importance_rank as integer) as importance_rank,
        cast(judged.importance_share as double) as importance_share,
        judged.is_key_feature,
        judged.is_key_feature
        and not judged.is_calendar_feature
        and judged.is_beyond_backtest as is_warned,
        judged.description

    from judged
    cross join compared_cutoffs

)

select * from final
