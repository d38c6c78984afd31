"""XGBoost revenue regressor and purchase classifier, for the backtest and for production; in
a score build (`clv score`), the release's boosters, refused if the features changed."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    # read only by a score build: a training build's warehouse may not hold it yet
    releases = lambda: dbt.source("clv_releases", "model_releases")  # noqa: E731
    inputs = stage.DbtInputs(
        {
            "feature_catalog": dbt.ref("feature_catalog"),
            "int_model_inputs": dbt.ref("int_model_inputs"),
            "btyd_fits": dbt.ref("btyd_fits"),
            "cutoffs": dbt.ref("cutoffs"),
        },
        {("clv_releases", "model_releases"): releases},
    )
    config = {
        "xgboost_settings": dbt.config.get("xgboost_settings"),
        "release_settings": dbt.config.get("release_settings"),
        "xgboost_use_baseline_features": dbt.config.get("xgboost_use_baseline_features"),
        "btyd_time_unit_days": dbt.config.get("btyd_time_unit_days"),
    }
    return stage.xgboost_fits(inputs, config.get)
