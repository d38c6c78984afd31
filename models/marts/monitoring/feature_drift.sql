{#-
    One row per feature of the production XGBoost model: how far the customers at this build's
    scoring cutoff have moved from the rows the model was trained on, as a population
    stability index (PSI; bins and the empty-bin floor in clv_warehouse.modeling.monitoring).
    A key feature is one of the 10 most important of either production booster (rank by mean
    |SHAP| in marts.feature_importance); PSI above 0.25 is a major shift (is_drifted), and a
    drifted key feature makes the build summary print a WARNING.
-#}
{%- set key_feature_rank = 10 -%}
{%- set drift_threshold = 0.25 -%}

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

training_window as (

    select
        min(case when is_label_complete then cutoff_date end) as first_training_cutoff_date,
        max(case when is_label_complete then cutoff_date end) as last_training_cutoff_date,
        max(scoring_cutoff_date) as scoring_cutoff_date
    from cutoffs

),

final as (

    select
        -- ids
        drift_values.feature_name,
        drift_values.feature_kind,
        feature_ranks.feature_group,

        -- the two samples
        cast(training_window.first_training_cutoff_date as date) as first_training_cutoff_date,
        cast(training_window.last_training_cutoff_date as date) as last_training_cutoff_date,
        cast(training_window.scoring_cutoff_date as date) as scoring_cutoff_date,
        cast(drift_values.training_rows as bigint) as training_rows,
        cast(drift_values.scoring_rows as bigint) as scoring_rows,
        cast(drift_values.training_missing_share as double) as training_missing_share,
        cast(drift_values.scoring_missing_share as double) as scoring_missing_share,

        -- bins and the index
        cast(drift_values.bins as integer) as bins,
        drift_values.bin_edges,
        cast(drift_values.psi as double) as psi,
        case
            when drift_values.psi < 0.1 then 'stable'
            when drift_values.psi <= {{ drift_threshold }} then 'moderate'
            else 'major'
        end as drift_level,
        drift_values.psi > {{ drift_threshold }} as is_drifted,

        -- importance
        cast(feature_ranks.importance_rank as integer) as importance_rank,
        cast(feature_ranks.importance_share as double) as importance_share,
        coalesce(feature_ranks.importance_rank <= {{ key_feature_rank }}, false) as is_key_feature,
        feature_ranks.description

    from drift_values
    cross join training_window
    left join feature_ranks
        on drift_values.feature_name = feature_ranks.feature_name

)

select * from final
