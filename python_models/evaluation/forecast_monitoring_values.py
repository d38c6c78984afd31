"""Every earlier scoring run whose horizon has passed, scored against what customers spent."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "int_forecast_monitoring_outcomes": dbt.ref("int_forecast_monitoring_outcomes"),
        },
    )
    return stage.forecast_monitoring_values(inputs, {}.get)
