"""Forecast monitoring and feature drift: pandas frames in, the dbt Python models' tables out.

``forecast_monitoring_table`` scores every earlier scoring run whose horizon has passed with
the backtest's own metrics (``tables.judge_forecast``, i.e. ``metrics_distribution``): the
same Gini with its seeded bootstrap, randomized-PIT interval coverage, AUC and decile MAPE.

``feature_drift_table`` gives, per model feature, the population stability index (PSI) of the
customers at the scoring cutoff against the training rows of the latest training cutoff (one
cutoff against one cutoff: a pool of training cutoffs would drift from any single day by
construction), and the same index one step back, of the customers at the backtest cutoff
against the backtest's latest training rows: the drift the backtest forecast went through
(``backtest_psi``), whose effect its metrics show.

    PSI = sum over bins of (s - t) * ln(s / t)

with ``t`` the reference (training) share and ``s`` the compared (scoring) share of a bin.
Each term is >= 0, so PSI >= 0; 0 means the same distribution. Bins:

- numeric features: the distinct deciles of the reference values (at most 9 edges, fewer when
  values tie; each edge a training value, the inverted CDF), intervals closed on the right,
  ``(-inf, e1], (e1, e2], ..., (ek, inf)``;
- text and boolean features: one bin per level seen in either sample;
- missing values (both kinds): a bin of their own, when either sample has one.

A bin empty in one sample would make ``ln`` infinite: shares are floored at ``EPSILON``
(1e-4, i.e. 0.01% of the rows) without renormalizing, so a level that appears only at scoring
adds a large but finite term. The usual reading: below 0.1 stable, 0.1 to 0.25 moderate,
above 0.25 a major shift (``DRIFT_THRESHOLD``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from clv_warehouse.modeling import metrics_distribution as judged
from clv_warehouse.modeling.tables import COUNT, DATE, FLOAT, TEXT, judge_forecast, typed

EPSILON = 1e-4
DRIFT_THRESHOLD = 0.25
DECILES = tuple(k / 10 for k in range(1, 10))
MISSING = "(missing)"

MONITORING_TYPES = {
    "run_id": TEXT,
    "cutoff_date": DATE,
    "model_name": TEXT,
    "n_customers": COUNT,
    **dict.fromkeys(judged.DISTRIBUTION_METRIC_KEYS[1:], FLOAT),
    "mae_log1p_point": FLOAT,
}
DRIFT_TYPES = {
    "feature_name": TEXT,
    "feature_kind": TEXT,
    "bins": COUNT,
    "bin_edges": TEXT,
    "training_rows": COUNT,
    "scoring_rows": COUNT,
    "training_missing_share": FLOAT,
    "scoring_missing_share": FLOAT,
    "psi": FLOAT,
    "backtest_psi": FLOAT,
}
SAMPLE_ROLES = ("training", "scoring", "backtest_training", "backtest")


# --- forecast monitoring ---------------------------------------------------------------------


def forecast_monitoring_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per earlier run, cutoff and model: the backtest metrics of that run's forecast
    against what customers then spent.

    ``outcomes`` is int_forecast_monitoring_outcomes: run_id, cutoff_date, model_name,
    customer_id, the forecast columns, actual_revenue and actual_has_purchase. No rows in
    (no run's horizon has passed yet), no rows out.
    """
    rows = []
    keys = ["run_id", "cutoff_date", "model_name"]
    for (run_id, cutoff, model_name), group in outcomes.groupby(keys, sort=True):
        group = group.sort_values("customer_id", kind="stable")
        row = judge_forecast(cutoff, model_name, False, group)
        del row["is_reference"]
        rows.append({"run_id": run_id, **row})
    return typed(pd.DataFrame(rows), MONITORING_TYPES)


# --- feature drift ---------------------------------------------------------------------------


def is_categorical(values: pd.Series) -> bool:
    """Text and boolean columns are binned by level; everything else by training deciles."""
    return bool(
        values.dtype == object
        or pd.api.types.is_string_dtype(values)
        or pd.api.types.is_bool_dtype(values)
    )


def decile_edges(training: pd.Series) -> list[float]:
    """The distinct deciles of the training values (missing values left out), each one a
    training value: a count feature keeps integer edges."""
    values = pd.to_numeric(training, errors="raise").dropna().to_numpy(dtype=np.float64)
    if values.size == 0:
        return []
    return [float(edge) for edge in np.unique(np.quantile(values, DECILES, method="inverted_cdf"))]


def _numeric_bins(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    numbers = pd.to_numeric(values, errors="raise").astype("float64")
    positions = np.searchsorted(np.asarray(edges, dtype=np.float64), numbers, side="left")
    # each bin's label made once, not once per row (str(position): "0" .. "10")
    names = np.array([str(position) for position in range(len(edges) + 1)], dtype=object)
    labels = pd.Series(names[positions], index=values.index, dtype=object)
    return labels.where(numbers.notna(), MISSING)


def _level_bins(values: pd.Series) -> pd.Series:
    """str(level) of each value, MISSING where missing: by column for text and booleans,
    by value for anything else an object column holds."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values):
        levels = np.where(values.astype("boolean").fillna(False).to_numpy(bool), "True", "False")
        labels = pd.Series(levels.astype(object), index=values.index, dtype=object)
    elif pd.api.types.is_string_dtype(values) and values.dtype != object:
        labels = pd.Series(values.to_numpy(dtype=object), index=values.index, dtype=object)
    else:
        return values.astype(object).map(lambda v: MISSING if pd.isna(v) else str(v))
    return labels.where(~missing, MISSING)


def stability_index(training_shares: pd.Series, scoring_shares: pd.Series) -> float:
    """PSI of two share vectors over the same bins, each share floored at ``EPSILON``."""
    bins = training_shares.index.union(scoring_shares.index)
    expected = training_shares.reindex(bins, fill_value=0.0).clip(lower=EPSILON)
    actual = scoring_shares.reindex(bins, fill_value=0.0).clip(lower=EPSILON)
    return float(((actual - expected) * np.log(actual / expected)).sum())


def feature_stability(training: pd.Series, scoring: pd.Series) -> dict:
    """PSI of one feature, scoring against training, with how it was binned."""
    if is_categorical(training) or is_categorical(scoring):
        kind = "categorical"
        training_bins, scoring_bins = _level_bins(training), _level_bins(scoring)
        levels = sorted(set(training_bins) | set(scoring_bins))
        edges = json.dumps([level for level in levels if level != MISSING])
    else:
        kind = "numeric"
        cuts = decile_edges(training)
        training_bins, scoring_bins = _numeric_bins(training, cuts), _numeric_bins(scoring, cuts)
        edges = json.dumps(cuts)
    training_shares = training_bins.value_counts(normalize=True)
    scoring_shares = scoring_bins.value_counts(normalize=True)
    return {
        "feature_kind": kind,
        "bins": len(training_shares.index.union(scoring_shares.index)),
        "bin_edges": edges,
        "training_rows": len(training),
        "scoring_rows": len(scoring),
        "training_missing_share": float(training.isna().mean()),
        "scoring_missing_share": float(scoring.isna().mean()),
        "psi": stability_index(training_shares, scoring_shares),
    }


def model_features_of_fits(fits: pd.DataFrame) -> list[str]:
    """The features of the production boosters (xgboost_fits), in the order they list them."""
    features: list[str] = []
    for listed in fits.loc[fits["phase"] == "production", "features"].dropna():
        features += [name for name in json.loads(listed) if name not in features]
    return features


def feature_drift_table(samples: pd.DataFrame, features: Sequence[str]) -> pd.DataFrame:
    """One row per feature: PSI of the scoring rows against the training rows, and
    ``backtest_psi`` of the backtest rows against the backtest's training rows.

    ``samples`` is int_feature_drift_samples (sample_role training, scoring, backtest_training
    or backtest, and the feature columns). When training or scoring rows are missing (no fit,
    nothing to score) the table is empty; without a backtest sample ``backtest_psi`` is
    missing.
    """
    unknown = sorted(set(samples["sample_role"].dropna()) - set(SAMPLE_ROLES))
    if unknown:
        raise ValueError(f"sample_role must be one of {', '.join(SAMPLE_ROLES)}, got {unknown}")
    missing = [name for name in features if name not in samples]
    if missing:
        raise ValueError(f"feature drift: the samples have no column(s) {', '.join(missing)}")
    role = {name: samples[samples["sample_role"] == name] for name in SAMPLE_ROLES}
    rows = []
    if len(role["training"]) and len(role["scoring"]):
        has_backtest = bool(len(role["backtest_training"]) and len(role["backtest"]))
        for name in features:
            row = feature_stability(role["training"][name], role["scoring"][name])
            row["backtest_psi"] = (
                feature_stability(role["backtest_training"][name], role["backtest"][name])["psi"]
                if has_backtest
                else None
            )
            rows.append({"feature_name": name, **row})
    return typed(pd.DataFrame(rows), DRIFT_TYPES)
