{#-
    One row per XGBoost model (phase x target) and feature: mean |SHAP| over the customers the
    model scored, its rank, and what the feature means (from reference.feature_catalog).
-#}
with

importance as (

    select * from {{ ref('xgboost_feature_importance') }}

),

catalog as (

    select * from {{ ref('feature_catalog') }}

),

baseline_features as (

    select
        'btyd_expected_purchases' as feature_name,
        'baseline' as feature_group,
        'BG/NBD expected purchase days in the next horizon, fitted at the same cutoff.' as description
    union all
    select
        'btyd_p_alive' as feature_name,
        'baseline' as feature_group,
        'BG/NBD probability the customer is still active at the cutoff.' as description
    union all
    select
        'btyd_purchase_probability' as feature_name,
        'baseline' as feature_group,
        'BG/NBD probability of at least one purchase in the next horizon.' as description
    union all
    select
        'btyd_predicted_revenue' as feature_name,
        'baseline' as feature_group,
        'BG/NBD + Gamma-Gamma predicted revenue for the next horizon.' as description

),

described as (

    select
        feature_name,
        feature_group,
        description
    from catalog
    union all
    select
        feature_name,
        feature_group,
        description
    from baseline_features

),

final as (

    select
        -- ids
        importance.phase,
        cast(importance.cutoff_date as date) as cutoff_date,
        importance.target,
        importance.feature_name,
        importance.model_version,

        -- importance
        cast(importance.mean_abs_shap as double) as mean_abs_shap,
        cast(importance.importance_rank as integer) as importance_rank,
        cast(importance.importance_share as double) as importance_share,

        -- what it is
        described.feature_group,
        described.description

    from importance
    left join described
        on importance.feature_name = described.feature_name

)

select * from final
