-- Model quality: which features drive the production XGBoost models, as the share of mean
-- |SHAP| (filter: target, purchase or spend; default purchase). Top 20.

with

importance as (

    select * from {{ ref('feature_importance') }}
    where phase = 'production'

),

final as (

    select
        feature_name,
        importance_share,
        mean_abs_shap,
        feature_group,
        description
    from importance
    where target = coalesce({{ metabase_optional('', 'target', ', ') }} 'purchase')
        and importance_rank <= 20

)

select * from final
order by importance_share desc, feature_name asc
