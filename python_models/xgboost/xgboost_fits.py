"""XGBoost revenue regressor and purchase classifier, for the backtest and for production."""

from clv_warehouse.modeling.tables import boosting_settings, model_features, xgboost_fit_table


def model(dbt, session):
    dbt.config(materialized="table")
    settings = boosting_settings(
        horizon_days=dbt.config.get("horizon_days"),
        seed=dbt.config.get("xgboost_seed"),
        search_candidates=dbt.config.get("xgboost_search_candidates"),
        max_rounds=dbt.config.get("xgboost_max_rounds"),
        early_stopping_rounds=dbt.config.get("xgboost_early_stopping_rounds"),
        threads=dbt.config.get("xgboost_threads"),
    )
    features = model_features(
        dbt.ref("feature_catalog").df(), dbt.config.get("xgboost_use_baseline_features")
    )
    inputs = dbt.ref("int_model_inputs").filter("is_label_complete or cutoff_role = 'scoring'").df()
    return xgboost_fit_table(inputs, features, settings)
