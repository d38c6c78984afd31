"""Calibration of the hurdle model on the validation cutoff, and the spread of its spend.

Fitted on out-of-time predictions only (clv_warehouse.modeling.boosting says which): Platt
scaling of the purchase probability, a monotone two-parameter map of mean log spend, and the
spread of log spend around it by depth of purchase history. Each fit returns a JSON-able dict
with a ``status``: "fitted", or "not_fitted: <why>" with identity parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special

from clv_warehouse.modeling import metrics

# Calibration needs this many validation rows (buyers, for spend) and both outcomes.
MIN_CALIBRATION_ROWS = 20
# Depth of purchase history (BTYD frequency: repeat purchase days) that sets the spend spread:
# a customer seen buying often spends more predictably.
SPREAD_BUCKETS = (0, 1, 3, 7)
# Buckets with few buyers borrow from the overall spread, as if it had this many rows.
SPREAD_SHRINKAGE_ROWS = 20
PROBABILITY_EPSILON = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON))


def spread_bucket(frame: pd.DataFrame) -> np.ndarray:
    """Index into SPREAD_BUCKETS of each row's frequency (0 when the frame has none)."""
    if "frequency" not in frame.columns:
        return np.zeros(len(frame), dtype=int)
    frequency = pd.to_numeric(frame["frequency"], errors="coerce").fillna(0).to_numpy(float)
    return np.searchsorted(SPREAD_BUCKETS, frequency, side="right") - 1


def fit_purchase_calibration(label: np.ndarray, probability: np.ndarray) -> dict:
    """Platt scaling: p' = sigmoid(a + b logit(p)), b > 0, by maximum likelihood."""
    identity = {"a": 0.0, "b": 1.0}
    label = np.asarray(label, float)
    if len(label) < MIN_CALIBRATION_ROWS or label.min() == label.max():
        return {**identity, "status": f"not_fitted: {len(label)} validation rows, one outcome"}
    x = _logit(np.asarray(probability, float))

    def loss(params):
        return metrics.log_loss(label, special.expit(params[0] + params[1] * x))

    result = optimize.minimize(loss, [0.0, 1.0], method="L-BFGS-B", bounds=[(-20, 20), (1e-3, 20)])
    if not result.success or not np.all(np.isfinite(result.x)):
        return {**identity, "status": f"not_fitted: {result.message}"}
    return {"a": float(result.x[0]), "b": float(result.x[1]), "status": "fitted"}


def apply_purchase_calibration(calibration: dict, probability: np.ndarray) -> np.ndarray:
    a, b = calibration.get("a", 0.0), calibration.get("b", 1.0)
    calibrated = special.expit(a + b * _logit(np.asarray(probability, float)))
    return np.clip(calibrated, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)


def fit_spend_calibration(log_spend: np.ndarray, mu: np.ndarray, bucket: np.ndarray) -> dict:
    """mu' = c0 + c1 mu by least squares (c1 > 0), the spread of log spend around mu' per
    history bucket (shrunk towards the overall spread where a bucket has few buyers), and a
    level shift (mean_shift, in c0) that makes the expected spends sum to the actual ones."""
    log_spend, mu = np.asarray(log_spend, float), np.asarray(mu, float)
    if len(log_spend) < MIN_CALIBRATION_ROWS:
        return {"status": f"not_fitted: {len(log_spend)} validation buyers"}
    c1 = float(np.cov(mu, log_spend, bias=True)[0, 1] / np.var(mu)) if np.var(mu) > 0 else 0.0
    if not np.isfinite(c1) or c1 <= 0:
        c0, c1 = float(np.mean(log_spend - mu)), 1.0
    else:
        c0 = float(np.mean(log_spend) - c1 * np.mean(mu))
    residuals = log_spend - (c0 + c1 * mu)
    spread = spreads(residuals, bucket)
    # The mean of a log-normal is exp(mu + sigma^2 / 2) only if the residuals are normal:
    # shift the level so the validation buyers' expected spends sum to what they spent
    # (the expectation sums to totals, levels and CLV; quantiles move by the same factor).
    sigma = np.asarray(spread["sigma_by_frequency"])[np.asarray(bucket, int)]
    expected = np.exp(c0 + c1 * mu + sigma**2 / 2)
    mean_shift = float(np.log(np.sum(np.exp(log_spend)) / np.sum(expected)))
    return {
        "c0": c0 + mean_shift,
        "c1": c1,
        "mean_shift": mean_shift,
        **spread,
        "status": "fitted",
    }


def spreads(residuals: np.ndarray, bucket: np.ndarray) -> dict:
    overall = float(np.mean(residuals**2))
    sigmas = []
    for index in range(len(SPREAD_BUCKETS)):
        chosen = residuals[bucket == index]
        weight = len(chosen) / (len(chosen) + SPREAD_SHRINKAGE_ROWS)
        variance = weight * (float(np.mean(chosen**2)) if len(chosen) else 0.0)
        sigmas.append(float(np.sqrt(variance + (1 - weight) * overall)))
    return {"sigma_by_frequency": sigmas, "frequency_buckets": list(SPREAD_BUCKETS)}


def apply_spend_calibration(calibration: dict, mu: np.ndarray, bucket: np.ndarray):
    """(mu', sigma) of log spend for each row."""
    mu = calibration.get("c0", 0.0) + calibration.get("c1", 1.0) * np.asarray(mu, float)
    sigmas = np.asarray(calibration["sigma_by_frequency"], float)
    return mu, sigmas[np.asarray(bucket, int)]
