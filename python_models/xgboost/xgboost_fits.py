"""XGBoost revenue regressor and purchase classifier, for the backtest and for production; in
a score build (`clv score`), the release's boosters, refused if the features changed."""

from clv_warehouse.modeling.releases import (
    applied_xgboost_fits,
    release_contract_from_config,
    release_rows,
    release_settings_from_config,
    released_fit_table,
)
from clv_warehouse.modeling.tables import (
    boosting_settings_from_config,
    model_features,
    xgboost_fit_table,
)


def model(dbt, session):
    dbt.config(materialized="table")
    settings = boosting_settings_from_config(dbt.config.get("xgboost_settings"))
    job, release = release_settings_from_config(dbt.config.get("release_settings"))
    catalog = dbt.ref("feature_catalog").df()
    features = model_features(catalog, dbt.config.get("xgboost_use_baseline_features"))
    contract = release_contract_from_config(
        features, catalog, settings, dbt.config.get("btyd_time_unit_days")
    )
    if job == "score":
        stored = release_rows(
            dbt.source("clv_releases", "model_releases").df(), release, "xgboost_fits"
        )
        return applied_xgboost_fits(stored, dbt.ref("cutoffs").df(), contract, release)
    inputs = dbt.ref("int_model_inputs").filter("is_label_complete or cutoff_role = 'scoring'")
    fits = xgboost_fit_table(inputs.df(), features, settings)
    return released_fit_table(fits, dbt.ref("btyd_fits").df(), contract)
