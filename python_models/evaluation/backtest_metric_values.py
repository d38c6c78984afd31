"""Every evaluation metric of every model at the backtest cutoff, from int_backtest_outcomes."""

from clv_warehouse.modeling.tables import backtest_metric_table


def model(dbt, session):
    dbt.config(materialized="table")
    outcomes = dbt.ref("int_backtest_outcomes").order("model_name, customer_id").df()
    return backtest_metric_table(outcomes)
