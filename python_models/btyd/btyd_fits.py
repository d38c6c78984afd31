"""BG/NBD + Gamma-Gamma fitted at every cutoff on that cutoff's RFM summary, the scoring
cutoff's on the summary at the training end; in a score build (`clv score`), the release's
fits, the scoring one moved to the new scoring cutoff."""

from clv_warehouse.modeling import stage


def model(dbt, session):
    dbt.config(materialized="table")
    # read only by a score build: a training build's warehouse may not hold it yet
    releases = lambda: dbt.source("clv_releases", "model_releases")  # noqa: E731
    inputs = stage.DbtInputs(
        {
            "customer_rfm": dbt.ref("customer_rfm"),
            "int_customer_rfm_at_training_end": dbt.ref("int_customer_rfm_at_training_end"),
            "cutoffs": dbt.ref("cutoffs"),
        },
        {("clv_releases", "model_releases"): releases},
    )
    config = {
        "btyd_settings": dbt.config.get("btyd_settings"),
        "release_settings": dbt.config.get("release_settings"),
    }
    return stage.btyd_fits(inputs, config.get)
