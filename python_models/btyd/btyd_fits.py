"""BG/NBD + Gamma-Gamma fitted at every cutoff on that cutoff's RFM summary."""

from clv_warehouse.modeling.tables import btyd_fit_table, btyd_settings_from_config


def model(dbt, session):
    dbt.config(materialized="table")
    settings = btyd_settings_from_config(dbt.config.get("btyd_settings"))
    rfm = dbt.ref("customer_rfm").order("cutoff_date, customer_id").df()
    return btyd_fit_table(rfm, settings)
