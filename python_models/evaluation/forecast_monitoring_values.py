"""Every earlier scoring run whose horizon has passed, scored against what customers spent."""

from clv_warehouse.modeling.monitoring import forecast_monitoring_table


def model(dbt, session):
    dbt.config(materialized="table")
    outcomes = dbt.ref("int_forecast_monitoring_outcomes")
    return forecast_monitoring_table(outcomes.order("run_id, model_name, customer_id").df())
