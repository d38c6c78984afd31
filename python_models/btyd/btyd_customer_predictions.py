"""Each customer's BG/NBD + Gamma-Gamma predictions at every cutoff, from btyd_fits."""

from clv_warehouse.modeling.tables import btyd_prediction_table, btyd_settings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = btyd_settings(
        horizon_days=dbt.config.get("horizon_days"),
        time_unit_days=dbt.config.get("btyd_time_unit_days"),
        penalizers=dbt.config.get("btyd_penalizers"),
        clv_months=dbt.config.get("clv_months"),
        monthly_discount_rate=dbt.config.get("monthly_discount_rate"),
    )
    fits = dbt.ref("btyd_fits").df()
    rfm = dbt.ref("customer_rfm").order("cutoff_date, customer_id").df()
    return btyd_prediction_table(fits, rfm, settings)
