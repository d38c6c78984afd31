"""Out-of-time backtest metrics: revenue predictions and purchase probabilities.

Every function takes one value per customer: the revenue a customer actually spent over the
horizon after a backtest cutoff against the revenue a model predicted at that cutoff
(``regression_metrics``, ``calibration_by_decile``), or whether the customer purchased against
the predicted probability (``classification_metrics``).

Pure numpy/scipy, no dbt. A metric that is undefined for the input (a ratio over a zero total,
a correlation of a constant) is ``None``, never NaN or inf, so results can be written as SQL
NULL. Invalid input (different lengths, no rows, NaN/inf, negative revenue, a probability
outside [0, 1]) raises ``ValueError``.

Deciles follow SQL ``ntile(10) over (order by predicted desc, tie_breaker asc)`` exactly, so a
decile table built here matches one built in the warehouse row for row.

The metrics of a distributional forecast (quantiles, coverage, Gini interval, reference rows)
build on these in ``metrics_distribution``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy import stats

N_DECILES = 10
LOG_LOSS_EPSILON = 1e-15

REGRESSION_METRIC_KEYS: tuple[str, ...] = (
    "n_customers",
    "actual_revenue",
    "predicted_revenue",
    "revenue_ratio",
    "rmse",
    "mae",
    "rmsle",
    "mae_log1p",
    "r2",
    "normalized_gini",
    "spearman",
    "decile_mape",
    "top_decile_revenue_capture",
)

CLASSIFICATION_METRIC_KEYS: tuple[str, ...] = (
    "auc",
    "brier",
    "log_loss",
    "positive_rate",
    "mean_probability",
)

METRIC_DEFINITIONS: dict[str, str] = {
    # regression_metrics
    "n_customers": "Number of customers evaluated (one actual and one predicted value each).",
    "actual_revenue": "Sum of actual revenue over the horizon across all customers.",
    "predicted_revenue": "Sum of predicted revenue over the horizon across all customers.",
    "revenue_ratio": "predicted_revenue / actual_revenue; NULL when actual_revenue is 0.",
    "rmse": "Root mean squared error: sqrt(mean((predicted - actual)^2)).",
    "mae": "Mean absolute error: mean(|predicted - actual|).",
    "rmsle": "Root mean squared log error: sqrt(mean((log1p(predicted) - log1p(actual))^2)).",
    "mae_log1p": "Mean absolute log1p error: mean(|log1p(predicted) - log1p(actual)|).",
    "r2": "Coefficient of determination 1 - SS_res / SS_tot; NULL when actual is constant.",
    "normalized_gini": (
        "Gini of actual revenue ordered by prediction (average ranks for ties) divided by the "
        "Gini of the perfect ordering: 1 perfect, 0 constant/random, < 0 reversed; NULL when "
        "actual revenue is all 0 or constant."
    ),
    "spearman": (
        "Spearman rank correlation of predicted and actual; NULL when either is constant or "
        "there are fewer than 2 customers."
    ),
    "decile_mape": (
        "Mean over prediction deciles with mean actual > 0 of "
        "|mean predicted - mean actual| / mean actual; NULL when no such decile."
    ),
    "top_decile_revenue_capture": (
        "Share of total actual revenue spent by the customers in prediction decile 1 (highest "
        "predictions); NULL when actual_revenue is 0."
    ),
    # classification_metrics
    "auc": (
        "Area under the ROC curve: probability that a random purchaser scores higher than a "
        "random non-purchaser, ties counting one half; NULL when only one class is present."
    ),
    "brier": "Brier score: mean((probability - outcome)^2), outcome 0 or 1.",
    "log_loss": (
        "Mean negative log-likelihood of the 0/1 outcomes, probabilities clipped to "
        "[1e-15, 1 - 1e-15]."
    ),
    "positive_rate": "Share of customers whose outcome is 1 (purchased).",
    "mean_probability": "Mean predicted probability.",
}


# --------------------------------------------------------------------------------------------
# validation helpers


def _float_array(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric: {error}") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_lengths(**arrays: npt.NDArray[np.generic] | list[str]) -> int:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"inputs must have the same length, got {described}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError(f"inputs must not be empty ({', '.join(lengths)} have no rows)")
    return n


def _check_finite(array: npt.NDArray[np.float64], name: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must be finite: {int(bad.sum())} NaN/inf value(s), "
            f"first at index {index} ({array[index]})"
        )


def _check_non_negative(array: npt.NDArray[np.float64], name: str) -> None:
    negative = array < 0
    if negative.any():
        index = int(np.flatnonzero(negative)[0])
        raise ValueError(
            f"{name} must be non-negative: {int(negative.sum())} negative value(s), "
            f"first at index {index} ({array[index]})"
        )


def _tie_breaker_strings(tie_breaker: npt.ArrayLike) -> list[str]:
    if isinstance(tie_breaker, str):
        raise ValueError("tie_breaker must be a sequence of strings, not a single string")
    values = np.asarray(tie_breaker, dtype=object)
    if values.ndim != 1:
        raise ValueError(f"tie_breaker must be one-dimensional, got shape {values.shape}")
    strings = []
    for index, value in enumerate(values):
        if value is None:
            raise ValueError(f"tie_breaker must not contain None (index {index})")
        strings.append(str(value))
    return strings


def _revenue_inputs(
    actual: npt.ArrayLike, predicted: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    actual_array = _float_array(actual, "actual")
    predicted_array = _float_array(predicted, "predicted")
    _check_lengths(actual=actual_array, predicted=predicted_array)
    for array, name in ((actual_array, "actual"), (predicted_array, "predicted")):
        _check_finite(array, name)
        _check_non_negative(array, name)
    return actual_array, predicted_array


def _finite_or_none(value: float | np.floating | None) -> float | None:
    """``None`` stays ``None``; a non-finite float (an overflow) becomes ``None`` too."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------------------------
# deciles


def _ntile_sizes(n: int, buckets: int = N_DECILES) -> npt.NDArray[np.int64]:
    """Group sizes of SQL ``ntile(buckets)`` over ``n`` rows: larger groups first."""
    buckets_used = min(n, buckets)
    sizes = np.full(buckets_used, n // buckets_used if buckets_used else 0, dtype=np.int64)
    if buckets_used:
        sizes[: n % buckets_used] += 1
    return sizes


def _decile_groups(
    predicted: npt.NDArray[np.float64], tie_breaker: list[str]
) -> npt.NDArray[np.int64]:
    n = len(predicted)
    # Rank the strings in Python order, then sort numerically: predicted desc, tie_breaker asc.
    codes = {value: code for code, value in enumerate(sorted(set(tie_breaker)))}
    tie_codes = np.fromiter((codes[value] for value in tie_breaker), dtype=np.int64, count=n)
    order = np.lexsort((tie_codes, -predicted))  # last key is primary; stable
    sizes = _ntile_sizes(n)
    deciles = np.empty(n, dtype=np.int64)
    deciles[order] = np.repeat(np.arange(1, len(sizes) + 1, dtype=np.int64), sizes)
    return deciles


def decile_groups(predicted: npt.ArrayLike, tie_breaker: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Prediction decile of each row, as SQL ``ntile(10) over (order by predicted desc,
    tie_breaker asc)`` assigns it.

    Rows are sorted by ``predicted`` descending, equal predictions by ``tie_breaker`` ascending
    (each value compared as a Python ``str``, i.e. by code point, which is also the order of
    DuckDB's default binary collation on UTF-8 text); rows equal on both keep their input order.
    The sorted rows are cut into 10 consecutive groups whose sizes differ by at most one, the
    larger groups first: with ``n`` rows the first ``n % 10`` groups hold ``n // 10 + 1`` rows
    and the rest ``n // 10``. With fewer than 10 rows, groups ``1..n`` hold one row each.

    Returns an int64 array aligned with the input: 1 for the highest predictions, up to 10.
    An empty input gives an empty array. Raises ``ValueError`` when the lengths differ, a
    prediction is NaN/inf or a tie breaker is ``None``.
    """
    predicted_array = _float_array(predicted, "predicted")
    tie_strings = _tie_breaker_strings(tie_breaker)
    if len(predicted_array) != len(tie_strings):
        raise ValueError(
            "inputs must have the same length, got "
            f"predicted={len(predicted_array)}, tie_breaker={len(tie_strings)}"
        )
    _check_finite(predicted_array, "predicted")
    return _decile_groups(predicted_array, tie_strings)


def _calibration_rows(
    actual: npt.NDArray[np.float64],
    predicted: npt.NDArray[np.float64],
    deciles: npt.NDArray[np.int64],
) -> list[dict[str, float | int]]:
    rows: list[dict[str, float | int]] = []
    for decile in range(1, N_DECILES + 1):
        in_decile = deciles == decile
        customers = int(in_decile.sum())
        if customers == 0:
            continue
        sum_predicted = float(predicted[in_decile].sum())
        sum_actual = float(actual[in_decile].sum())
        rows.append(
            {
                "decile": decile,
                "customers": customers,
                "mean_predicted": sum_predicted / customers,
                "mean_actual": sum_actual / customers,
                "sum_predicted": sum_predicted,
                "sum_actual": sum_actual,
            }
        )
    return rows


def calibration_by_decile(
    actual: npt.ArrayLike, predicted: npt.ArrayLike, tie_breaker: npt.ArrayLike
) -> list[dict[str, float | int]]:
    """Predicted against actual revenue per prediction decile (see ``decile_groups``).

    One dict per non-empty decile, decile 1 (highest predictions) first, with keys ``decile``
    (int), ``customers`` (int, rows in the decile), ``sum_predicted`` and ``sum_actual`` (sums
    over the decile's rows) and ``mean_predicted`` and ``mean_actual`` (those sums divided by
    ``customers``). Inputs are validated as in ``regression_metrics``.
    """
    actual_array, predicted_array = _revenue_inputs(actual, predicted)
    tie_strings = _tie_breaker_strings(tie_breaker)
    _check_lengths(actual=actual_array, predicted=predicted_array, tie_breaker=tie_strings)
    deciles = _decile_groups(predicted_array, tie_strings)
    return _calibration_rows(actual_array, predicted_array, deciles)


# --------------------------------------------------------------------------------------------
# regression


def _gini(actual: npt.NDArray[np.float64], score: npt.NDArray[np.float64]) -> float:
    """``(2 / (n * sum(actual))) * sum_i actual_i * rank_i - (n + 1) / n``, average ranks.

    Computed in the algebraically equal form ``sum_i actual_i * (2 * rank_i - n - 1) /
    (n * sum(actual))``: ``2 * rank_i - n - 1`` is an exact integer (average ranks are
    multiples of 1/2) that is 0 for every row of a constant score, and ``math.fsum`` makes the
    sum correctly rounded, so a constant score gives exactly 0 and the result does not depend
    on row order. The caller guarantees ``sum(actual) > 0``.
    """
    n = len(actual)
    centred_ranks = 2.0 * stats.rankdata(score, method="average") - (n + 1)
    return math.fsum(actual * centred_ranks) / (n * math.fsum(actual))


def _normalized_gini(
    actual: npt.NDArray[np.float64], predicted: npt.NDArray[np.float64]
) -> float | None:
    if math.fsum(actual) == 0:
        return None
    perfect = _gini(actual, actual)
    if perfect == 0:
        return None
    return _gini(actual, predicted) / perfect


def _is_constant(array: npt.NDArray[np.float64]) -> bool:
    return bool(np.all(array == array[0]))


def regression_metrics(
    actual: npt.ArrayLike, predicted: npt.ArrayLike, tie_breaker: npt.ArrayLike
) -> dict[str, float | int | None]:
    """Accuracy, ranking and calibration of per-customer revenue predictions.

    ``actual`` is each customer's revenue over the horizon, ``predicted`` the model's
    prediction of it and ``tie_breaker`` the customer id (orders equal predictions for the
    deciles, see ``decile_groups``). Returns exactly the keys of ``REGRESSION_METRIC_KEYS``
    (``n`` customers, ``a`` actual, ``p`` predicted):

    - ``n_customers``: ``n`` (int).
    - ``actual_revenue``, ``predicted_revenue``: ``sum(a)``, ``sum(p)``.
    - ``revenue_ratio``: ``sum(p) / sum(a)``; None when ``sum(a) == 0``.
    - ``rmse``: ``sqrt(mean((p - a)^2))``; ``mae``: ``mean(|p - a|)``.
    - ``rmsle``: ``sqrt(mean((log1p(p) - log1p(a))^2))``;
      ``mae_log1p``: ``mean(|log1p(p) - log1p(a)|)``.
    - ``r2``: ``1 - SS_res / SS_tot`` with ``SS_res = sum((a - p)^2)`` and
      ``SS_tot = sum((a - mean(a))^2)``; None when ``a`` is constant (``SS_tot == 0``).
    - ``normalized_gini``: ``gini(a, p) / gini(a, a)`` where ``gini(a, s) = (2 / (n * sum(a)))
      * sum_i a_i * rank_i - (n + 1) / n`` and ``rank_i`` is the ascending rank of ``s_i``,
      ties given their average rank. A constant prediction gives 0, a perfect ordering 1, a
      reversed one a negative number; row order does not matter. None when ``sum(a) == 0`` or
      ``gini(a, a) == 0`` (``a`` constant).
    - ``spearman``: ``scipy.stats.spearmanr(a, p)`` correlation; None when ``n < 2`` or either
      input is constant.
    - ``decile_mape``: mean, over the deciles of ``decile_groups(p, tie_breaker)`` whose mean
      actual is > 0, of ``|mean(p) - mean(a)| / mean(a)`` within the decile; None when no
      decile has a mean actual > 0.
    - ``top_decile_revenue_capture``: ``sum(a)`` over decile 1 divided by ``sum(a)``; None
      when ``sum(a) == 0``.

    All floats are Python floats and finite: an undefined value (or one that overflows) is
    None. Raises ``ValueError`` when the lengths differ, the input is empty, or any actual or
    predicted value is NaN, inf or negative.
    """
    a, p = _revenue_inputs(actual, predicted)
    tie_strings = _tie_breaker_strings(tie_breaker)
    n = _check_lengths(actual=a, predicted=p, tie_breaker=tie_strings)

    actual_revenue = math.fsum(a)
    predicted_revenue = math.fsum(p)
    error = p - a
    log_error = np.log1p(p) - np.log1p(a)

    r2: float | None = None
    if not _is_constant(a):
        ss_res = float(np.sum(error**2))
        ss_tot = float(np.sum((a - a.mean()) ** 2))
        r2 = 1.0 - ss_res / ss_tot

    spearman: float | None = None
    if n >= 2 and not _is_constant(a) and not _is_constant(p):
        spearman = float(stats.spearmanr(a, p).statistic)

    deciles = _decile_groups(p, tie_strings)
    calibration = _calibration_rows(a, p, deciles)
    decile_errors = [
        abs(row["mean_predicted"] - row["mean_actual"]) / row["mean_actual"]
        for row in calibration
        if row["mean_actual"] > 0
    ]
    decile_mape = math.fsum(decile_errors) / len(decile_errors) if decile_errors else None

    top_decile_revenue_capture: float | None = None
    revenue_ratio: float | None = None
    if actual_revenue > 0:
        revenue_ratio = predicted_revenue / actual_revenue
        top_decile_revenue_capture = math.fsum(a[deciles == 1]) / actual_revenue

    metrics: dict[str, float | int | None] = {
        "n_customers": n,
        "actual_revenue": _finite_or_none(actual_revenue),
        "predicted_revenue": _finite_or_none(predicted_revenue),
        "revenue_ratio": _finite_or_none(revenue_ratio),
        "rmse": _finite_or_none(math.sqrt(float(np.mean(error**2)))),
        "mae": _finite_or_none(np.mean(np.abs(error))),
        "rmsle": _finite_or_none(rmsle(a, p)),
        "mae_log1p": _finite_or_none(np.mean(np.abs(log_error))),
        "r2": _finite_or_none(r2),
        "normalized_gini": _finite_or_none(_normalized_gini(a, p)),
        "spearman": _finite_or_none(spearman),
        "decile_mape": _finite_or_none(decile_mape),
        "top_decile_revenue_capture": _finite_or_none(top_decile_revenue_capture),
    }
    return metrics


# --------------------------------------------------------------------------------------------
# classification


def _binary_outcomes(actual: npt.ArrayLike) -> npt.NDArray[np.float64]:
    raw = np.asarray(actual)
    is_bool = raw.dtype == np.bool_
    outcomes = raw.astype(np.float64) if is_bool else _float_array(raw, "actual")
    if outcomes.ndim != 1:
        raise ValueError(f"actual must be one-dimensional, got shape {outcomes.shape}")
    not_binary = ~np.isin(outcomes, (0.0, 1.0))
    if not_binary.any():
        index = int(np.flatnonzero(not_binary)[0])
        raise ValueError(
            f"actual must be 0/1 or boolean: {int(not_binary.sum())} other value(s), "
            f"first at index {index} ({outcomes[index]})"
        )
    return outcomes


def _auc(outcomes: npt.NDArray[np.float64], probability: npt.NDArray[np.float64]) -> float | None:
    positives = outcomes == 1
    n_positive = int(positives.sum())
    n_negative = len(outcomes) - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    ranks = stats.rankdata(probability, method="average")
    u_statistic = math.fsum(ranks[positives]) - n_positive * (n_positive + 1) / 2
    return u_statistic / (n_positive * n_negative)


def _probability_inputs(
    actual: npt.ArrayLike, probability: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    outcomes = _binary_outcomes(actual)
    probabilities = probability_array(probability, "probability")
    _check_lengths(actual=outcomes, probability=probabilities)
    return outcomes, probabilities


def probability_array(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """Finite floats within [0, 1], or a ValueError naming ``name`` and the first offender."""
    probabilities = _float_array(values, name)
    _check_finite(probabilities, name)
    outside = (probabilities < 0) | (probabilities > 1)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{name} must be within [0, 1]: {int(outside.sum())} value(s) outside, "
            f"first at index {index} ({probabilities[index]})"
        )
    return probabilities


def rmsle(actual: npt.ArrayLike, predicted: npt.ArrayLike) -> float:
    """``sqrt(mean((log1p(predicted) - log1p(actual))^2))`` of non-negative revenue; the one
    definition the backtest metrics and the XGBoost search both use."""
    a, p = _revenue_inputs(actual, predicted)
    _check_lengths(actual=a, predicted=p)
    return math.sqrt(float(np.mean((np.log1p(p) - np.log1p(a)) ** 2)))


def log_loss(actual: npt.ArrayLike, probability: npt.ArrayLike) -> float:
    """Mean negative log-likelihood of 0/1 outcomes, probabilities clipped to
    ``[1e-15, 1 - 1e-15]``; the one definition the metrics and the XGBoost search use."""
    outcomes, probabilities = _probability_inputs(actual, probability)
    clipped = np.clip(probabilities, LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    return float(-np.mean(outcomes * np.log(clipped) + (1 - outcomes) * np.log1p(-clipped)))


def classification_metrics(
    actual: npt.ArrayLike, probability: npt.ArrayLike
) -> dict[str, float | None]:
    """Discrimination and calibration of per-customer purchase probabilities.

    ``actual`` is each customer's outcome (1 = purchased within the horizon; 0/1 numbers or
    booleans), ``probability`` the predicted probability of it. Returns exactly the keys of
    ``CLASSIFICATION_METRIC_KEYS`` (``y`` outcome, ``q`` probability):

    - ``auc``: Mann-Whitney AUC, ``(sum of the average ranks of q over positives
      - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)``: the share of (positive, negative) pairs
      in which the positive has the higher probability, ties counting 1/2. None when only one
      class is present.
    - ``brier``: ``mean((q - y)^2)``.
    - ``log_loss``: ``-mean(y * log(c) + (1 - y) * log(1 - c))`` with ``c = clip(q, 1e-15,
      1 - 1e-15)``, so a confident wrong prediction costs about 34.5, never inf.
    - ``positive_rate``: ``mean(y)``; ``mean_probability``: ``mean(q)``.

    Raises ``ValueError`` when the lengths differ, the input is empty, an outcome is not 0/1,
    or a probability is NaN, inf or outside [0, 1].
    """
    outcomes, probabilities = _probability_inputs(actual, probability)
    return {
        "auc": _finite_or_none(_auc(outcomes, probabilities)),
        "brier": _finite_or_none(np.mean((probabilities - outcomes) ** 2)),
        "log_loss": _finite_or_none(log_loss(outcomes, probabilities)),
        "positive_rate": _finite_or_none(np.mean(outcomes)),
        "mean_probability": _finite_or_none(np.mean(probabilities)),
    }
