"""Next-horizon revenue as a distribution: a purchase probability times a spend law.

Every model gives, per customer, the chance p of at least one purchase in the horizon and the
law of the spend S if they buy (revenue Y = 0 with chance 1 - p, else S). From those two:

    predicted_revenue        E[Y] = p E[S]: sums to totals; drives levels, segments, CLV
    predicted_revenue_point  expm1(E[log1p Y]) = expm1(p E[log1p S]): the RMSLE-optimal point
    revenue_pXX              quantile XX of Y: 0 while XX <= 1 - p, else the spend quantile at
                             (XX - (1 - p)) / p
    spend_if_purchase_pXX    quantile XX of S

A spend law is given by its mean, its E[log1p S] and its quantile function, so a log-normal
(XGBoost's hurdle model) and seeded draws (BG/NBD + Gamma-Gamma) give the same columns.
Pure functions: numpy and pandas in and out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

QUANTILES = (0.1, 0.5, 0.9)
DISTRIBUTION_COLUMNS = (
    "purchase_probability",
    "predicted_revenue",
    "predicted_revenue_point",
    "revenue_p10",
    "revenue_p50",
    "revenue_p90",
    "spend_if_purchase_p10",
    "spend_if_purchase_p50",
    "spend_if_purchase_p90",
)
# Gauss-Hermite nodes for E[log1p S] of a log-normal S (exact to ~1e-12 for any spread used).
_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(40)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()


@dataclass(frozen=True)
class SpendLaw:
    """The law of the spend if a customer buys, for n customers at once."""

    mean: np.ndarray
    log1p_mean: np.ndarray
    # levels (n,) in (0, 1) -> the spend quantile of each customer at its own level
    quantile: Callable[[np.ndarray], np.ndarray]


def lognormal_spend(mu, sigma) -> SpendLaw:
    """log S ~ Normal(mu, sigma^2), per customer."""
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    log_values = mu[:, None] + sigma[:, None] * _HERMITE_NODES[None, :]
    return SpendLaw(
        mean=np.exp(mu + sigma**2 / 2),
        log1p_mean=np.logaddexp(0.0, log_values) @ _HERMITE_WEIGHTS,
        quantile=lambda levels: np.exp(mu + sigma * special.ndtri(levels)),
    )


def sampled_spend(draws: np.ndarray, mean=None) -> SpendLaw:
    """Spend from seeded draws, one row per customer.

    When the exact ``mean`` is known, each row of draws is scaled to it: the exact mean sets
    the scale and the draws the shape, so totals carry no simulation noise and the mean, the
    quantiles and E[log1p] describe one law. (Replacing the mean alone left the others on the
    draws' own scale: a heavy buyer whose draws ran 1% above the exact mean got an RMSLE
    point above the mean, which no law gives.)
    """
    ordered = np.sort(np.asarray(draws, float), axis=1)
    if mean is not None:
        mean = np.asarray(mean, float)
        sampled = ordered.mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(sampled > 0, mean / sampled, 1.0)
        ordered = ordered * scale[:, None]
    count = ordered.shape[1]
    rows = np.arange(len(ordered))

    def quantile(levels: np.ndarray) -> np.ndarray:
        position = np.clip(np.asarray(levels, float), 0, 1) * (count - 1)
        below = np.floor(position).astype(int)
        above = np.minimum(below + 1, count - 1)
        weight = position - below
        return ordered[rows, below] * (1 - weight) + ordered[rows, above] * weight

    return SpendLaw(
        mean=ordered.mean(axis=1) if mean is None else mean,
        log1p_mean=np.log1p(ordered).mean(axis=1),
        quantile=quantile,
    )


def point_mass(values) -> SpendLaw:
    """A spend known exactly (the naive rule)."""
    values = np.asarray(values, float)
    return SpendLaw(mean=values, log1p_mean=np.log1p(values), quantile=lambda levels: values.copy())


def forecast_columns(purchase_probability, spend: SpendLaw) -> pd.DataFrame:
    """The DISTRIBUTION_COLUMNS of revenue Y = (0 w.p. 1 - p, else S)."""
    p = np.asarray(purchase_probability, float)
    columns = {
        "purchase_probability": p,
        "predicted_revenue": p * spend.mean,
        "predicted_revenue_point": np.expm1(p * spend.log1p_mean),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        for level in QUANTILES:
            spend_level = np.clip((level - (1 - p)) / p, 1e-12, 1 - 1e-12)
            revenue = np.where(level > 1 - p, spend.quantile(spend_level), 0.0)
            columns[f"revenue_p{round(level * 100)}"] = revenue
    for level in QUANTILES:
        columns[f"spend_if_purchase_p{round(level * 100)}"] = spend.quantile(np.full(len(p), level))
    return pd.DataFrame(columns)[list(DISTRIBUTION_COLUMNS)]
