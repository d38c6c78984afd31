"""The BG/NBD count distribution: exact where lifetimes' closed form is, sane where it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from clv_warehouse.modeling import bgnbd_counts, btyd
from clv_warehouse.modeling.btyd import BtydFit, BtydSettings

# The fit the online_retail fixture reached on a 2-core machine on 2026-12-02 (four
# customers): r and alpha run to 1e7 and 1e8, a to 1e-9, b to 1e8. The purchase rate is then
# almost exactly r / alpha and nobody drops out, so the count is Poisson(r t / alpha).
EXTREME = {"r": 8.839275e06, "alpha": 1.906758e08, "a": 8.828214e-10, "b": 3.271065e08}
# The published CDNOW fit (Fader, Hardie and Lee 2005), in weeks.
CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _fit(params: dict) -> BtydFit:
    fit = BtydFit(status=btyd.FITTED, message="", customers=1, repeat_buyers=1, time_unit_days=7)
    fit.r, fit.alpha, fit.a, fit.b = (params[k] for k in ("r", "alpha", "a", "b"))
    fit.p, fit.q, fit.v = 6.25, 3.74, 15.44
    return fit


def _lifetimes(params: dict) -> BetaGeoFitter:
    model = BetaGeoFitter()
    model.params_ = pd.Series(params)
    return model


def test_an_extreme_fit_expects_at_least_its_purchase_probability():
    """E[X] >= P(X >= 1) for any count; lifetimes' closed form gave 0.275 < 0.449 here."""
    fit = _fit(EXTREME)
    rfm = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [89.0], "monetary_value": [0]})
    predicted = btyd.predict_btyd(fit, rfm, BtydSettings(horizon_days=90, time_unit_days=7))
    poisson_mean = EXTREME["r"] * (90 / 7) / (EXTREME["alpha"] + 89 / 7)
    assert predicted["expected_purchases"][0] == pytest.approx(poisson_mean, rel=1e-6)
    assert predicted["purchase_probability"][0] == pytest.approx(1 - np.exp(-poisson_mean))
    assert predicted["expected_purchases"][0] >= predicted["purchase_probability"][0]
    assert predicted["is_valid_output"].all()


def test_the_expectation_equals_lifetimes_where_its_closed_form_is_accurate():
    rng = np.random.default_rng(3)
    frequency = rng.integers(0, 15, 400).astype(float)
    age = rng.uniform(1, 78, 400)
    recency = age * rng.uniform(0, 1, 400) * (frequency > 0)
    model = _lifetimes(CDNOW)
    alive = model.conditional_probability_alive(frequency, recency, age)
    for horizon in (1.0, 13.0, 52.0):
        closed = model.conditional_expected_number_of_purchases_up_to_time(
            horizon, frequency, recency, age
        )
        summed = btyd.expected_purchases(_fit(CDNOW), frequency, age, horizon, alive)
        np.testing.assert_allclose(summed, closed, rtol=1e-9)


def test_the_count_survival_is_a_survival_function_of_min_of_two_counts():
    survival = bgnbd_counts.count_survival_if_alive(
        0.243, 4.414, 0.793, 2.426, np.array([0.0, 4.0]), np.array([10.0, 40.0]), 13.0, 60
    )
    assert (np.diff(survival, axis=1) <= 0).all()
    assert ((survival >= 0) & (survival <= 1)).all()
    none = bgnbd_counts.probability_of_none_if_alive(0.243, 4.414, [0.0, 4.0], [10.0, 40.0], 13.0)
    np.testing.assert_allclose(survival[:, 0], 1 - none, rtol=1e-12)


def test_the_expectation_agrees_with_a_simulation_of_the_story():
    """Posterior given alive: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x); buy at
    rate lambda, drop out after each purchase with chance p."""
    rng = np.random.default_rng(11)
    x, age, horizon, n = 2.0, 30.0, 26.0, 200_000
    rate = rng.gamma(CDNOW["r"] + x, 1 / (CDNOW["alpha"] + age), n)
    dropout = rng.beta(CDNOW["a"], CDNOW["b"] + x, n)
    potential = rng.poisson(rate * horizon)
    lasting = rng.geometric(dropout)
    simulated = np.minimum(potential, lasting).mean()
    got = bgnbd_counts.expected_count_if_alive(**CDNOW, frequency=[x], age=[age], horizon=horizon)
    assert got[0] == pytest.approx(simulated, rel=0.01)
