"""Synthetic customers for the modelling unit tests: features and a next-horizon revenue that
depends on them, so a model has something to learn."""

from __future__ import annotations

import numpy as np


def synthetic_customers(rng: np.random.Generator, customers: int) -> dict[str, np.ndarray]:
    """One cutoff's customers: frequency, recency_days, monetary_mean, tenure_days, country
    (with missing values) and revenue (0 for those who do not buy)."""
    frequency = rng.poisson(2.0, customers)
    recency = rng.uniform(0, 300, customers)
    monetary = rng.gamma(2.0, 20.0, customers)
    country = rng.choice(
        np.array(["US", "GB", "DE", None], dtype=object), customers, p=[0.4, 0.3, 0.2, 0.1]
    )
    logit = -1.5 + 0.6 * frequency - recency / 150 + 0.5 * (country == "US")
    buys = rng.uniform(size=customers) < 1 / (1 + np.exp(-logit))
    spend = monetary * (1 + frequency / 3) * np.exp(rng.normal(0, 0.3, customers))
    return {
        "frequency": frequency,
        "recency_days": recency,
        "monetary_mean": monetary,
        "tenure_days": recency + rng.uniform(0, 200, customers),
        "country": country,
        "revenue": np.where(buys, spend, 0.0),
    }
