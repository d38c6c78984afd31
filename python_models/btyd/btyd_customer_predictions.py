"""Each customer's BG/NBD + Gamma-Gamma predictions at every cutoff, from btyd_fits."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = stage.DbtInputs(
        {
            "btyd_fits": dbt.ref("btyd_fits"),
            "customer_rfm": dbt.ref("customer_rfm"),
        },
        previous=stage.own_table(session, dbt.this),
    )
    config = {
        "btyd_settings": dbt.config.get("btyd_settings"),
        "release_settings": dbt.config.get("release_settings"),
    }
    return stage.btyd_customer_predictions(inputs, config.get)
