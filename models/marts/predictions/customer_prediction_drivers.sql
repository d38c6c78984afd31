{#-
    One row per customer at the backtest and scoring cutoffs: the three features that moved
    the customer's XGBoost revenue prediction most (largest |SHAP|, signed: positive raised it).
-#}
with

boosted as (

    select * from {{ ref('xgboost_customer_predictions') }}

),

final as (

    select
        -- ids
        cast(boosted.cutoff_date as date) as cutoff_date,
        case when boosted.phase = 'production' then 'scoring' else 'backtest' end as cutoff_role,
        boosted.customer_id,
        boosted.model_version,

        -- prediction
        cast(boosted.predicted_revenue as double) as predicted_revenue,

        -- drivers (SHAP on the log-revenue scale)
        boosted.driver_1_feature,
        cast(boosted.driver_1_contribution as double) as driver_1_contribution,
        boosted.driver_2_feature,
        cast(boosted.driver_2_contribution as double) as driver_2_contribution,
        boosted.driver_3_feature,
        cast(boosted.driver_3_contribution as double) as driver_3_contribution

    from boosted

)

select * from final
