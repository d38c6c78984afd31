"""Population stability index of each production feature, scoring rows against training rows."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "xgboost_fits": dbt.ref("xgboost_fits"),
            "int_feature_drift_samples": dbt.ref("int_feature_drift_samples"),
        },
    )
    return stage.feature_drift_values(inputs, {}.get)
