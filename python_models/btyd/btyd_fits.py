"""BG/NBD + Gamma-Gamma fitted at every cutoff on that cutoff's RFM summary, the scoring
cutoff's on the summary at the training end; in a score build (`clv score`), the release's
fits, the scoring one moved to the new scoring cutoff."""

from clv_warehouse.modeling.releases import (
    applied_btyd_fits,
    release_rows,
    release_settings_from_config,
)
from clv_warehouse.modeling.tables import btyd_fit_table, btyd_settings_from_config


def model(dbt, session):
    dbt.config(materialized="table")
    settings = btyd_settings_from_config(dbt.config.get("btyd_settings"))
    job, release = release_settings_from_config(dbt.config.get("release_settings"))
    if job == "score":
        held = dbt.source("clv_releases", "model_releases").df()
        stored = release_rows(held, release, "btyd_fits")
        return applied_btyd_fits(stored, dbt.ref("cutoffs").df(), release)
    rfm = dbt.ref("customer_rfm").order("cutoff_date, customer_id").df()
    at_training_end = dbt.ref("int_customer_rfm_at_training_end").df()
    return btyd_fit_table(rfm, settings, scoring_rfm=at_training_end)
