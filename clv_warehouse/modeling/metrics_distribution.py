"""Backtest metrics of a distributional forecast: each output judged by its own rule.

Per customer and cutoff a distributional forecast gives ``FORECAST_COLUMNS``: a purchase
probability, the expectation of next-horizon revenue ``Y``, the RMSLE-optimal point
``expm1(E[log1p Y])``, unconditional quantiles of ``Y`` (a point mass at 0 of probability
``1 - purchase_probability``) and quantiles of ``Y`` given ``Y > 0``. ``distribution_metrics``
scores the expectation like ``metrics.regression_metrics`` (plus a bootstrap interval of the
Gini), the point by RMSLE, the probability like ``metrics.classification_metrics`` and the
quantiles by range coverage and pinball loss; ``reference_rows`` scores the all-zeros and
best-constant forecasts with the same functions, to show beside the models.

Unlike ``metrics`` (whose undefined values are ``None``), an undefined value here is a float
NaN (no buyers, a single class, zero actual revenue), so each metric is a float column. Invalid
input (different lengths, no rows, NaN/inf, negative revenue, a probability outside [0, 1], a
lower bound above its upper bound, a missing column) raises ``ValueError``. Pure numpy/pandas,
no dbt; every random draw comes from ``numpy.random.default_rng(seed)``, so the same input and
seed give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from clv_warehouse.modeling.distributions import DISTRIBUTION_COLUMNS
from clv_warehouse.modeling.metrics import (
    CLASSIFICATION_METRIC_KEYS,
    REGRESSION_METRIC_KEYS,
    _binary_outcomes,
    _check_finite,
    _check_lengths,
    _check_non_negative,
    _float_array,
    _revenue_inputs,
    _tie_breaker_strings,
    classification_metrics,
    probability_array,
    regression_metrics,
    rmsle,
)

DEFAULT_SEED = 20_260_101
BOOTSTRAP_REPLICATES = 200
GINI_INTERVAL_LEVEL = 0.95
CENTRAL_RANGE: tuple[float, float] = (0.1, 0.9)
ZERO_FORECAST_PROBABILITY = 1e-6
QUANTILE_LEVELS: dict[str, float] = {"p10": 0.1, "p50": 0.5, "p90": 0.9}

# The columns of a forecast distribution (clv_warehouse.modeling.distributions).
FORECAST_COLUMNS: tuple[str, ...] = DISTRIBUTION_COLUMNS
ACTUAL_COLUMNS: tuple[str, ...] = ("actual_revenue", "actual_has_purchase")

DISTRIBUTION_METRIC_KEYS: tuple[str, ...] = (
    # the expectation (predicted_revenue)
    "n_customers",
    "actual_revenue",
    "predicted_revenue",
    "revenue_ratio",
    "rmse",
    "mae",
    "r2",
    "normalized_gini",
    "normalized_gini_low",
    "normalized_gini_high",
    "spearman",
    "decile_mape",
    "top_decile_revenue_capture",
    # the point (predicted_revenue_point)
    "rmsle_point",
    # the probability (purchase_probability)
    "auc",
    "brier",
    "log_loss",
    "positive_rate",
    "mean_probability",
    # the quantiles
    "interval_coverage_80",
    "spend_interval_coverage_80",
    "pinball_loss_p10",
    "pinball_loss_p50",
    "pinball_loss_p90",
    "pinball_loss_mean",
)

_FROM_REGRESSION = tuple(
    key for key in DISTRIBUTION_METRIC_KEYS[1:] if key in REGRESSION_METRIC_KEYS
)
_FROM_CLASSIFICATION = tuple(
    key for key in DISTRIBUTION_METRIC_KEYS if key in CLASSIFICATION_METRIC_KEYS
)

DISTRIBUTION_METRIC_DEFINITIONS: dict[str, str] = {
    "n_customers": "Number of customers evaluated.",
    "actual_revenue": "Sum of actual revenue over the horizon.",
    "predicted_revenue": "Sum of the predicted expectation (predicted_revenue).",
    "revenue_ratio": "predicted_revenue / actual_revenue; NaN when actual_revenue is 0.",
    "rmse": "Root mean squared error of the expectation.",
    "mae": "Mean absolute error of the expectation.",
    "r2": "1 - SS_res / SS_tot of the expectation; NaN when actual revenue is constant.",
    "normalized_gini": (
        "Gini of actual revenue ordered by the expectation over the Gini of the perfect "
        "ordering (average ranks for ties); NaN when actual revenue is all 0 or constant."
    ),
    "normalized_gini_low": (
        "Lower end of the seeded bootstrap 95% percentile interval of normalized_gini "
        "(200 resamples of customers)."
    ),
    "normalized_gini_high": "Upper end of the same bootstrap interval.",
    "spearman": "Spearman rank correlation of the expectation and actual revenue.",
    "decile_mape": (
        "Mean over deciles of the expectation (with mean actual > 0) of "
        "|mean predicted - mean actual| / mean actual."
    ),
    "top_decile_revenue_capture": (
        "Share of actual revenue spent by the decile with the highest expectation."
    ),
    "rmsle_point": (
        "Root mean squared log error of predicted_revenue_point (the RMSLE-optimal point)."
    ),
    "auc": "ROC AUC of purchase_probability against actual_has_purchase; NaN with one class.",
    "brier": "mean((purchase_probability - actual_has_purchase)^2).",
    "log_loss": "Mean negative log-likelihood of actual_has_purchase, clipped at 1e-15.",
    "positive_rate": "Share of customers with actual_has_purchase.",
    "mean_probability": "Mean purchase_probability.",
    "interval_coverage_80": (
        "Share of customers inside their central 80% range: actual > 0 counts when "
        "revenue_p10 <= actual <= revenue_p90; actual = 0 counts when a randomized PIT, "
        "uniform on [0, 1 - purchase_probability], lies in [0.1, 0.9]. Ideal 0.80."
    ),
    "spend_interval_coverage_80": (
        "Share of buyers (actual revenue > 0) with spend_if_purchase_p10 <= actual <= "
        "spend_if_purchase_p90; NaN without buyers. Ideal 0.80."
    ),
    "pinball_loss_p10": "Mean pinball (quantile) loss of revenue_p10 at tau = 0.1.",
    "pinball_loss_p50": "Mean pinball loss of revenue_p50 at tau = 0.5 (half the MAE).",
    "pinball_loss_p90": "Mean pinball loss of revenue_p90 at tau = 0.9.",
    "pinball_loss_mean": "Mean of pinball_loss_p10, pinball_loss_p50 and pinball_loss_p90.",
}


class GiniInterval(NamedTuple):
    """A bootstrap percentile interval; both ends NaN when no resample defines the Gini."""

    low: float
    high: float


# --------------------------------------------------------------------------------------------
# helpers


def _none_to_nan(value: float | int | None) -> float:
    return math.nan if value is None else float(value)


def _row_keys(customer_ids: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int64]:
    """Dense code of each row's customer id in ascending ``str`` order (code-point order),
    or the row position when no ids are given."""
    if customer_ids is None:
        return np.arange(n, dtype=np.int64)
    strings = _tie_breaker_strings(customer_ids)
    if len(strings) != n:
        raise ValueError(
            f"inputs must have the same length, got n={n}, customer_ids={len(strings)}"
        )
    _, codes = np.unique(np.asarray(strings, dtype=str), return_inverse=True)
    return codes.astype(np.int64).reshape(-1)


def _bootstrap_counts(clusters: int, replicates: int, seed: int) -> npt.NDArray[np.int64]:
    """``(replicates, clusters)`` multiplicities: each row a resample of ``clusters`` draws
    with replacement, all drawn from ``default_rng(seed)`` in one call."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, clusters, size=(replicates, clusters))
    flat = (draws + np.arange(replicates)[:, None] * clusters).ravel()
    return np.bincount(flat, minlength=replicates * clusters).reshape(replicates, clusters)


def _weighted_gini(
    actual: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    weights: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """The Gini of ``metrics._gini`` on each resample at once (NaN where ``sum(a) == 0``).

    Row ``j`` appears ``w_j`` times in a resample of size ``m``. Sorted by score, the copies of
    a tie group ``g`` (total weight ``W_g``, weight ``C_g`` before it) share the average rank
    ``C_g + (W_g + 1) / 2``, so ``2 * rank - m - 1 = 2 * C_g + W_g - m``, an exact integer.
    """
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    new_group = np.empty(len(score), dtype=bool)
    new_group[0] = True
    new_group[1:] = sorted_score[1:] != sorted_score[:-1]
    starts = np.flatnonzero(new_group)
    weight = weights[:, order]
    weighted_actual = weight * actual[order]
    group_weight = np.add.reduceat(weight, starts, axis=1)
    group_actual = np.add.reduceat(weighted_actual, starts, axis=1)
    size = group_weight.sum(axis=1, keepdims=True)
    centred_rank = 2 * (np.cumsum(group_weight, axis=1) - group_weight) + group_weight - size
    numerator = (group_actual * centred_rank).sum(axis=1)
    denominator = size[:, 0] * group_actual.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


# --------------------------------------------------------------------------------------------
# the expectation: a bootstrap interval of the normalized Gini


def normalized_gini_interval(
    actual: npt.ArrayLike,
    predicted: npt.ArrayLike,
    customer_ids: npt.ArrayLike | None = None,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = DEFAULT_SEED,
    level: float = GINI_INTERVAL_LEVEL,
) -> GiniInterval:
    """Seeded bootstrap percentile interval of ``metrics.regression_metrics``' normalized Gini.

    Each of ``replicates`` resamples draws customers with replacement (as many draws as there
    are distinct customers; every row of a drawn customer comes along, so a customer with
    several rows is resampled as a whole). Within a resample, copies of one row are ties and
    get their average rank, exactly as ``regression_metrics`` ranks a frame holding those
    copies. The interval is ``numpy.quantile`` (linear) of the defined replicate values at
    ``(1 - level) / 2`` and ``(1 + level) / 2``; a resample whose actual revenue is all 0 or
    constant has no Gini and is left out, and both ends are NaN when none has one.

    With ``customer_ids`` the customers are drawn in ascending ``str(id)`` order, so the
    interval does not depend on row order; without them rows are the customers, in input order.
    The same inputs and ``seed`` always give the same interval. Inputs are validated as in
    ``regression_metrics``.
    """
    a, p = _revenue_inputs(actual, predicted)
    n = _check_lengths(actual=a, predicted=p)
    if (
        isinstance(replicates, bool)
        or not isinstance(replicates, int | np.integer)
        or replicates < 1
    ):
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    customer = _row_keys(customer_ids, n)
    counts = _bootstrap_counts(int(customer.max()) + 1, int(replicates), seed)
    weights = counts[:, customer]
    model = _weighted_gini(a, p, weights)
    perfect = _weighted_gini(a, a, weights)
    defined = np.isfinite(model) & np.isfinite(perfect) & (perfect != 0)
    if not defined.any():
        return GiniInterval(math.nan, math.nan)
    values = model[defined] / perfect[defined]
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return GiniInterval(float(low), float(high))


# --------------------------------------------------------------------------------------------
# the quantiles: coverage and pinball loss


def _probabilities(values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    return probability_array(values, "purchase_probability")


def _bounds(
    lower: npt.ArrayLike, upper: npt.ArrayLike, names: tuple[str, str]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    low = _float_array(lower, names[0])
    high = _float_array(upper, names[1])
    _check_lengths(**{names[0]: low, names[1]: high})
    _check_finite(low, names[0])
    _check_finite(high, names[1])
    crossed = low > high
    if crossed.any():
        index = int(np.flatnonzero(crossed)[0])
        raise ValueError(
            f"{names[0]} must not exceed {names[1]}: {int(crossed.sum())} row(s), first at "
            f"index {index} ({low[index]} > {high[index]})"
        )
    return low, high


def interval_coverage(
    actual: npt.ArrayLike,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    purchase_probability: npt.ArrayLike,
    *,
    seed: int,
    customer_ids: npt.ArrayLike | None = None,
) -> float:
    """Share of customers inside their central 80% predictive range ``[p10, p90]``.

    Revenue ``Y`` has a point mass at 0 of probability ``1 - q`` (``q`` the purchase
    probability), so ``F(0) = 1 - q`` and the PIT of an actual 0 is not one number but the
    interval ``[0, 1 - q]``. The randomized PIT draws it uniformly there:

    - actual ``y > 0``: covered when ``lower <= y <= upper`` (``lower``/``upper`` are the
      forecast's ``revenue_p10``/``revenue_p90``);
    - actual ``y = 0``: covered when ``u * (1 - q)`` lies in ``[0.1, 0.9]``, ``u`` uniform on
      [0, 1) from ``default_rng(seed)``. Its chance of coverage is
      ``|[0.1, 0.9] ∩ [0, 1 - q]| / (1 - q)``: 0 when ``1 - q <= 0.1``, 0.8 when ``q = 0``.

    A calibrated forecast covers 80% of customers in expectation whatever the share of zeros,
    whereas counting every zero inside ``[0, p90]`` would reward forecasts that put too much
    mass at zero. One uniform is drawn per row, assigned in ascending ``str(customer_id)``
    order when ``customer_ids`` is given (so the result does not depend on row order), else in
    row order. Raises ``ValueError`` on invalid input (see the module doc).
    """
    a = _float_array(actual, "actual")
    low, high = _bounds(lower, upper, ("lower", "upper"))
    probability = _probabilities(purchase_probability)
    n = _check_lengths(actual=a, lower=low, upper=high, purchase_probability=probability)
    _check_finite(a, "actual")
    _check_non_negative(a, "actual")
    keys = _row_keys(customer_ids, n)
    uniforms = np.empty(n)
    uniforms[np.lexsort((np.arange(n), keys))] = np.random.default_rng(seed).random(n)
    pit = uniforms * (1.0 - probability)
    low_level, high_level = CENTRAL_RANGE
    covered = np.where(
        a == 0,
        (pit >= low_level) & (pit <= high_level),
        (low <= a) & (a <= high),
    )
    return float(covered.mean())


def spend_interval_coverage(
    actual: npt.ArrayLike, spend_p10: npt.ArrayLike, spend_p90: npt.ArrayLike
) -> float:
    """Share of buyers (actual revenue > 0) with ``spend_p10 <= actual <= spend_p90``: the
    coverage of the 80% range of the spend given a purchase. NaN when nobody bought."""
    a = _float_array(actual, "actual")
    low, high = _bounds(spend_p10, spend_p90, ("spend_p10", "spend_p90"))
    _check_lengths(actual=a, spend_p10=low, spend_p90=high)
    _check_finite(a, "actual")
    _check_non_negative(a, "actual")
    buyers = a > 0
    if not buyers.any():
        return math.nan
    return float(np.mean((low[buyers] <= a[buyers]) & (a[buyers] <= high[buyers])))


def pinball_loss(actual: npt.ArrayLike, quantile_values: npt.ArrayLike, tau: float) -> float:
    """Mean pinball (quantile) loss ``mean(max(tau * d, (tau - 1) * d))``, ``d = actual -
    quantile``: minimized by the true ``tau``-quantile; at ``tau = 0.5`` it is half the MAE."""
    if not 0 < tau < 1:
        raise ValueError(f"tau must be strictly between 0 and 1, got {tau!r}")
    a = _float_array(actual, "actual")
    q = _float_array(quantile_values, "quantile_values")
    _check_lengths(actual=a, quantile_values=q)
    _check_finite(a, "actual")
    _check_finite(q, "quantile_values")
    difference = a - q
    return float(np.mean(np.maximum(tau * difference, (tau - 1) * difference)))


def mean_pinball_loss(actual: npt.ArrayLike, quantiles: Mapping[float, npt.ArrayLike]) -> float:
    """Mean of ``pinball_loss`` over ``{tau: quantile values}``, e.g.
    ``{0.1: revenue_p10, 0.5: revenue_p50, 0.9: revenue_p90}``."""
    if not quantiles:
        raise ValueError("quantiles must name at least one tau")
    losses = [pinball_loss(actual, values, tau) for tau, values in quantiles.items()]
    return math.fsum(losses) / len(losses)


# --------------------------------------------------------------------------------------------
# everything at once


def _column(frame: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    try:
        return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"column {name} must be numeric: {error}") from error


def distribution_metrics(
    frame: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    replicates: int = BOOTSTRAP_REPLICATES,
    level: float = GINI_INTERVAL_LEVEL,
) -> dict[str, float | int]:
    """Every backtest metric of one model's distributional forecast at one cutoff.

    ``frame`` holds one row per customer with ``FORECAST_COLUMNS`` and ``ACTUAL_COLUMNS``
    (``actual_has_purchase`` boolean or 0/1) and optionally ``customer_id``, which orders tied
    predictions into deciles (see ``metrics.decile_groups``) and fixes the bootstrap and PIT
    draws to customers, so the result does not depend on row order; without it, row positions
    stand in. Returns exactly the keys of ``DISTRIBUTION_METRIC_KEYS`` (defined in
    ``DISTRIBUTION_METRIC_DEFINITIONS``): ``n_customers`` an int, every other value a float,
    NaN where undefined. Coverage and spend coverage read ``actual_revenue`` (a buyer is
    ``actual_revenue > 0``, as for the zero mass of ``Y``); AUC, Brier and log loss read
    ``actual_has_purchase``. ``seed`` drives the Gini bootstrap and the randomized PIT.
    """
    missing = [name for name in (*FORECAST_COLUMNS, *ACTUAL_COLUMNS) if name not in frame]
    if missing:
        raise ValueError(f"distribution_metrics: frame has no column(s) {', '.join(missing)}")
    n = len(frame)
    if "customer_id" in frame:
        if frame["customer_id"].isna().any():
            raise ValueError("distribution_metrics: column customer_id has missing values")
        ids = _tie_breaker_strings(frame["customer_id"].to_numpy(dtype=object))
    else:
        ids = [f"{position:012d}" for position in range(n)]
    actual = _column(frame, "actual_revenue")
    expectation = _column(frame, "predicted_revenue")
    probability = _column(frame, "purchase_probability")
    try:
        outcomes = _binary_outcomes(_column(frame, "actual_has_purchase"))
    except ValueError as error:
        raise ValueError(f"column actual_has_purchase: {error}") from error

    regression = regression_metrics(actual, expectation, ids)
    classification = classification_metrics(outcomes, probability)
    gini = normalized_gini_interval(
        actual, expectation, ids, replicates=replicates, seed=seed, level=level
    )
    pinball = {
        f"pinball_loss_{name}": pinball_loss(actual, _column(frame, f"revenue_{name}"), tau)
        for name, tau in QUANTILE_LEVELS.items()
    }
    result: dict[str, float | int] = {"n_customers": n}
    result.update({key: _none_to_nan(regression[key]) for key in _FROM_REGRESSION})
    result.update({key: _none_to_nan(classification[key]) for key in _FROM_CLASSIFICATION})
    result["normalized_gini_low"] = gini.low
    result["normalized_gini_high"] = gini.high
    result["rmsle_point"] = rmsle(actual, _column(frame, "predicted_revenue_point"))
    result["interval_coverage_80"] = interval_coverage(
        actual,
        _column(frame, "revenue_p10"),
        _column(frame, "revenue_p90"),
        probability,
        seed=seed,
        customer_ids=ids,
    )
    result["spend_interval_coverage_80"] = spend_interval_coverage(
        actual, _column(frame, "spend_if_purchase_p10"), _column(frame, "spend_if_purchase_p90")
    )
    result.update(pinball)
    result["pinball_loss_mean"] = math.fsum(pinball.values()) / len(pinball)
    return {key: result[key] for key in DISTRIBUTION_METRIC_KEYS}


# --------------------------------------------------------------------------------------------
# reference forecasts


def reference_forecasts(
    actual: npt.ArrayLike,
    actual_has_purchase: npt.ArrayLike,
    customer_ids: npt.ArrayLike | None = None,
) -> dict[str, pd.DataFrame]:
    """The two reference forecasts, as frames ``distribution_metrics`` accepts.

    - ``all_zeros``: every revenue column 0, ``purchase_probability`` 1e-6.
    - ``best_constant``: for each output the one constant that its own rule scores best on
      these actuals: ``predicted_revenue = mean(actual)`` (squared error: R^2 = 0, ratio 1),
      ``predicted_revenue_point = expm1(mean(log1p(actual)))`` (RMSLE),
      ``purchase_probability`` = the purchase rate clipped to ``[1e-6, 1 - 1e-6]`` (Brier, log
      loss), ``revenue_pXX`` = the empirical ``XX``% quantile of actual revenue and
      ``spend_if_purchase_pXX`` that of the buyers' revenue (0 without buyers), both by
      ``numpy.quantile(method="inverted_cdf")``, an observed value that minimizes the pinball
      loss among constants.

    A constant ranks nobody, so both have normalized Gini 0 and AUC 0.5.
    """
    a = _float_array(actual, "actual")
    outcomes = _binary_outcomes(actual_has_purchase)
    n = _check_lengths(actual=a, actual_has_purchase=outcomes)
    _check_finite(a, "actual")
    _check_non_negative(a, "actual")
    base = pd.DataFrame({"actual_revenue": a, "actual_has_purchase": outcomes.astype(bool)})
    if customer_ids is not None:
        base.insert(0, "customer_id", _tie_breaker_strings(customer_ids))
        _check_lengths(actual=a, customer_ids=base["customer_id"].to_numpy())

    zeros = {column: np.zeros(n) for column in FORECAST_COLUMNS}
    zeros["purchase_probability"] = np.full(n, ZERO_FORECAST_PROBABILITY)

    buyers = a[a > 0]
    rate = min(
        max(float(outcomes.mean()), ZERO_FORECAST_PROBABILITY), 1 - ZERO_FORECAST_PROBABILITY
    )
    constants = {
        "purchase_probability": rate,
        "predicted_revenue": float(a.mean()),
        "predicted_revenue_point": float(np.expm1(np.mean(np.log1p(a)))),
    }
    for name, tau in QUANTILE_LEVELS.items():
        constants[f"revenue_{name}"] = float(np.quantile(a, tau, method="inverted_cdf"))
        constants[f"spend_if_purchase_{name}"] = (
            float(np.quantile(buyers, tau, method="inverted_cdf")) if len(buyers) else 0.0
        )
    best = {column: np.full(n, constants[column]) for column in FORECAST_COLUMNS}
    return {
        "all_zeros": base.assign(**zeros),
        "best_constant": base.assign(**best),
    }


def reference_rows(
    actual: npt.ArrayLike,
    actual_has_purchase: npt.ArrayLike,
    customer_ids: npt.ArrayLike | None = None,
    *,
    seed: int = DEFAULT_SEED,
    replicates: int = BOOTSTRAP_REPLICATES,
    level: float = GINI_INTERVAL_LEVEL,
) -> pd.DataFrame:
    """``distribution_metrics`` of each ``reference_forecasts`` forecast: one row per
    reference (``reference`` = ``all_zeros``, ``best_constant``), then the columns of
    ``DISTRIBUTION_METRIC_KEYS``."""
    rows = [
        {
            "reference": name,
            **distribution_metrics(forecast, seed=seed, replicates=replicates, level=level),
        }
        for name, forecast in reference_forecasts(actual, actual_has_purchase, customer_ids).items()
    ]
    return pd.DataFrame(rows, columns=["reference", *DISTRIBUTION_METRIC_KEYS])
