"""Every evaluation metric of every model at the backtest cutoff, from int_backtest_outcomes."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "int_backtest_outcomes": dbt.ref("int_backtest_outcomes"),
        },
    )
    return stage.backtest_metric_values(inputs, {}.get)
