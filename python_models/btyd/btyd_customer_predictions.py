"""Each customer's BG/NBD + Gamma-Gamma predictions at every cutoff, from btyd_fits."""

from clv_warehouse.modeling.tables import btyd_prediction_table, btyd_settings_from_config


def model(dbt, session):
    dbt.config(materialized="table")
    settings = btyd_settings_from_config(dbt.config.get("btyd_settings"))
    fits = dbt.ref("btyd_fits").df()
    rfm = dbt.ref("customer_rfm").order("cutoff_date, customer_id").df()
    return btyd_prediction_table(fits, rfm, settings)
