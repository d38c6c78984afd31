"""Each customer's XGBoost predictions and top three drivers at the backtest and scoring cutoffs."""

from clv_warehouse.modeling.tables import xgboost_prediction_table


def model(dbt, session):
    dbt.config(materialized="table")
    fits = dbt.ref("xgboost_fits").df()
    inputs = dbt.ref("int_model_inputs").filter("cutoff_role in ('backtest', 'scoring')").df()
    return xgboost_prediction_table(fits, inputs)
