"""XGBoost revenue regressor and purchase classifier, for the backtest and for production; in
a score build (`clv score`), the release's boosters, refused if the features changed."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "feature_catalog": lambda: dbt.ref("feature_catalog"),
            "int_model_inputs": lambda: dbt.ref("int_model_inputs"),
            "btyd_fits": lambda: dbt.ref("btyd_fits"),
            "cutoffs": lambda: dbt.ref("cutoffs"),
        },
        {("clv_releases", "model_releases"): lambda: dbt.source("clv_releases", "model_releases")},
    )
    config = {
        "xgboost_settings": dbt.config.get("xgboost_settings"),
        "release_settings": dbt.config.get("release_settings"),
        "xgboost_use_baseline_features": dbt.config.get("xgboost_use_baseline_features"),
        "btyd_time_unit_days": dbt.config.get("btyd_time_unit_days"),
    }
    return stage.xgboost_fits(inputs, config.get)
