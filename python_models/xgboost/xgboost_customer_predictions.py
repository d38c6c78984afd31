"""Each customer's XGBoost predictions and top three drivers at the backtest and scoring cutoffs."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "xgboost_fits": dbt.ref("xgboost_fits"),
            "int_model_inputs": dbt.ref("int_model_inputs"),
        },
    )
    return stage.xgboost_customer_predictions(inputs, {}.get)
