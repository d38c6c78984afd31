"""The Python stage, one function per dbt Python model, over a reader of the model's inputs.

On DuckDB the dbt Python models (python_models/*/*.py) call these with ``DbtInputs``; on
Spark the runner (clv_warehouse/spark/runner.py) calls the same functions with inputs read
from Spark, between dbt invocations. So both engines share one code path: pandas frames in,
pandas frames out, and no dbt import here.

``config(key)`` returns the model's rendered config value (dbt.config.get on DuckDB, the
manifest's config of the stand-in model on Spark); ``STAGE_INPUTS`` names the relations each
function reads, which is when the runner can call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pandas as pd

from clv_warehouse.connections import has_table
from clv_warehouse.modeling.monitoring import (
    feature_drift_table,
    forecast_monitoring_table,
    model_features_of_fits,
)
from clv_warehouse.modeling.releases import (
    applied_btyd_fits,
    applied_xgboost_fits,
    release_contract_from_config,
    release_rows,
    release_settings_from_config,
    released_fit_table,
)
from clv_warehouse.modeling.tables import (
    backtest_metric_table,
    boosting_settings_from_config,
    btyd_fit_table,
    btyd_prediction_table,
    btyd_settings_from_config,
    model_features,
    xgboost_fit_table,
    xgboost_importance_table,
    xgboost_prediction_table,
)
from clv_warehouse.sql_text import sql_identifier

Config = Callable[[str], object]


class Inputs(Protocol):
    """Reads a model's inputs as pandas frames."""

    def ref(self, name: str, *, where: str | None = None, order: str | None = None) -> pd.DataFrame:
        """The relation dbt's ref(name) names, filtered by a SQL condition, in an order."""
        ...

    def source(self, source_name: str, table_name: str) -> pd.DataFrame:
        """The relation dbt's source(source_name, table_name) names."""
        ...

    def previous(self) -> pd.DataFrame | None:
        """The model's own table as the last build left it, or None (first build, Spark)."""
        ...


class DbtInputs:
    """Inputs of a dbt Python model on dbt-duckdb, filtered and ordered in DuckDB.

    The model file passes its ``dbt.ref(...)`` relations (lazy: nothing is read until
    ``.df()``), written out where dbt sees which nodes the model depends on, and each source
    as a function, called only when read (a training build never opens the releases).
    """

    def __init__(
        self,
        refs: dict[str, object],
        sources: dict[tuple[str, str], Callable[[], object]] | None = None,
        previous: Callable[[], object | None] | None = None,
    ) -> None:
        self._refs = refs
        self._sources = sources or {}
        self._previous = previous

    def ref(self, name: str, *, where: str | None = None, order: str | None = None) -> pd.DataFrame:
        relation = self._refs[name]
        if where is not None:
            relation = relation.filter(where)
        if order is not None:
            relation = relation.order(order)
        return relation.df()

    def source(self, source_name: str, table_name: str) -> pd.DataFrame:
        return self._sources[(source_name, table_name)]().df()

    def previous(self) -> pd.DataFrame | None:
        relation = self._previous() if self._previous is not None else None
        return None if relation is None else relation.df()


def own_table(session, this) -> Callable[[], object | None]:
    """What reads a dbt-duckdb Python model's own table (``dbt.this``) as the last build left
    it: the model runs before dbt swaps its new table in. None when there is none yet."""

    def read():
        if not has_table(session, this.schema, this.identifier, catalog=this.database):
            return None
        parts = (this.database, this.schema, this.identifier)
        return session.sql("select * from " + ".".join(sql_identifier(p) for p in parts))

    return read


def btyd_fits(inputs: Inputs, config: Config) -> pd.DataFrame:
    settings = btyd_settings_from_config(config("btyd_settings"))
    job, release = release_settings_from_config(config("release_settings"))
    if job == "score":
        stored = release_rows(inputs.source("clv_releases", "model_releases"), release, "btyd_fits")
        return applied_btyd_fits(stored, inputs.ref("cutoffs"), release)
    rfm = inputs.ref("customer_rfm", order="cutoff_date, customer_id")
    at_training_end = inputs.ref("int_customer_rfm_at_training_end")
    return btyd_fit_table(rfm, settings, scoring_rfm=at_training_end)


def btyd_customer_predictions(inputs: Inputs, config: Config) -> pd.DataFrame:
    """A score job keeps the rows of every cutoff whose fit, settings and RFM rows are the
    last build's (all but the new scoring cutoff, in practice); a train job predicts all."""
    settings = btyd_settings_from_config(config("btyd_settings"))
    job, _ = release_settings_from_config(config("release_settings"))
    fits = inputs.ref("btyd_fits")
    rfm = inputs.ref("customer_rfm", order="cutoff_date, customer_id")
    previous = inputs.previous() if job == "score" else None
    return btyd_prediction_table(fits, rfm, settings, previous)


def xgboost_fits(inputs: Inputs, config: Config) -> pd.DataFrame:
    settings = boosting_settings_from_config(config("xgboost_settings"))
    job, release = release_settings_from_config(config("release_settings"))
    catalog = inputs.ref("feature_catalog")
    features = model_features(catalog, config("xgboost_use_baseline_features"))
    contract = release_contract_from_config(
        features, catalog, settings, config("btyd_time_unit_days")
    )
    if job == "score":
        stored = release_rows(
            inputs.source("clv_releases", "model_releases"), release, "xgboost_fits"
        )
        return applied_xgboost_fits(stored, inputs.ref("cutoffs"), contract, release)
    model_inputs = inputs.ref(
        "int_model_inputs", where="is_label_complete or cutoff_role = 'scoring'"
    )
    fits = xgboost_fit_table(model_inputs, features, settings)
    return released_fit_table(fits, inputs.ref("btyd_fits"), contract)


def xgboost_customer_predictions(inputs: Inputs, config: Config) -> pd.DataFrame:
    fits = inputs.ref("xgboost_fits")
    model_inputs = inputs.ref("int_model_inputs", where="cutoff_role in ('backtest', 'scoring')")
    return xgboost_prediction_table(fits, model_inputs)


def xgboost_feature_importance(inputs: Inputs, config: Config) -> pd.DataFrame:
    fits = inputs.ref("xgboost_fits")
    model_inputs = inputs.ref("int_model_inputs", where="cutoff_role in ('backtest', 'scoring')")
    return xgboost_importance_table(
        fits,
        model_inputs,
        sample_rows=int(config("shap_sample_rows")),
        seed=int(config("xgboost_seed")),
    )


def backtest_metric_values(inputs: Inputs, config: Config) -> pd.DataFrame:
    outcomes = inputs.ref("int_backtest_outcomes", order="model_name, customer_id")
    return backtest_metric_table(outcomes)


def feature_drift_values(inputs: Inputs, config: Config) -> pd.DataFrame:
    features = model_features_of_fits(inputs.ref("xgboost_fits"))
    samples = inputs.ref("int_feature_drift_samples", order="sample_role, cutoff_date, customer_id")
    return feature_drift_table(samples, features)


def forecast_monitoring_values(inputs: Inputs, config: Config) -> pd.DataFrame:
    outcomes = inputs.ref(
        "int_forecast_monitoring_outcomes", order="run_id, model_name, customer_id"
    )
    return forecast_monitoring_table(outcomes)


# Each Python model: its function and the relations it reads (refs; a score build also reads
# the source clv_releases.model_releases, which Spark does not hold: see the runner).
STAGE: dict[str, Callable[[Inputs, Config], pd.DataFrame]] = {
    "btyd_fits": btyd_fits,
    "btyd_customer_predictions": btyd_customer_predictions,
    "xgboost_fits": xgboost_fits,
    "xgboost_customer_predictions": xgboost_customer_predictions,
    "xgboost_feature_importance": xgboost_feature_importance,
    "backtest_metric_values": backtest_metric_values,
    "feature_drift_values": feature_drift_values,
    "forecast_monitoring_values": forecast_monitoring_values,
}

STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "btyd_fits": ("customer_rfm", "int_customer_rfm_at_training_end", "cutoffs"),
    "btyd_customer_predictions": ("btyd_fits", "customer_rfm"),
    "xgboost_fits": ("feature_catalog", "int_model_inputs", "btyd_fits", "cutoffs"),
    "xgboost_customer_predictions": ("xgboost_fits", "int_model_inputs"),
    "xgboost_feature_importance": ("xgboost_fits", "int_model_inputs"),
    "backtest_metric_values": ("int_backtest_outcomes",),
    "feature_drift_values": ("xgboost_fits", "int_feature_drift_samples"),
    "forecast_monitoring_values": ("int_forecast_monitoring_outcomes",),
}
