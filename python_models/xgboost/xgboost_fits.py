"""XGBoost revenue regressor and purchase classifier, for the backtest and for production."""

from clv_warehouse.modeling.tables import (
    boosting_settings_from_config,
    model_features,
    xgboost_fit_table,
)


def model(dbt, session):
    dbt.config(materialized="table")
    settings = boosting_settings_from_config(dbt.config.get("xgboost_settings"))
    features = model_features(
        dbt.ref("feature_catalog").df(), dbt.config.get("xgboost_use_baseline_features")
    )
    inputs = dbt.ref("int_model_inputs").filter("is_label_complete or cutoff_role = 'scoring'")
    return xgboost_fit_table(inputs.df(), features, settings)
