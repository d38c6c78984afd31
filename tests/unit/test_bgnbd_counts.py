"""The BG/NBD count distribution: exact where lifetimes' closed form is, sane where it is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from scipy import stats

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


def test_a_heavy_buyer_does_not_lengthen_everyone_elses_sums():
    """Pairs are summed in groups of similar length: a wholesale customer with hundreds of
    expected purchases gets long sums, the occasional buyers short ones, and each customer's
    expectation and sampled counts are what they would be computed alone."""
    frequency = np.array([0.0, 1.0, 2.0, 600.0])
    age = np.array([20.0, 30.0, 40.0, 60.0])
    groups = list(bgnbd_counts.term_groups(CDNOW["r"], CDNOW["alpha"], frequency, age, 13.0))
    terms_of = {int(row): terms for rows, terms in groups for row in rows}
    assert terms_of[3] > 100
    assert max(terms_of[row] for row in (0, 1, 2)) < 40
    together = bgnbd_counts.expected_count_if_alive(
        **CDNOW, frequency=frequency, age=age, horizon=13.0
    )
    alone = [
        bgnbd_counts.expected_count_if_alive(**CDNOW, frequency=[x], age=[t], horizon=13.0)[0]
        for x, t in zip(frequency, age, strict=True)
    ]
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    uniforms = np.random.default_rng(7).random((4, 500))
    counts = bgnbd_counts.sample_counts_given_any(
        **CDNOW, frequency=frequency, age=age, horizon=13.0, uniforms=uniforms
    )
    for row in range(4):
        single = bgnbd_counts.sample_counts_given_any(
            **CDNOW,
            frequency=frequency[row : row + 1],
            age=age[row : row + 1],
            horizon=13.0,
            uniforms=uniforms[row : row + 1],
        )
        np.testing.assert_array_equal(counts[row], single[0])
    assert counts[3].mean() > 50 > counts[0].max()


@pytest.mark.parametrize(
    ("r_x", "alpha_x", "horizon"),
    [(0.243, 4.4, 13.0), (5.2, 30.0, 13.0), (600.0, 150.0, 52.0), (8.8e6, 1.9e8, 13.0)],
)
def test_the_negative_binomial_survival_equals_scipys(r_x, alpha_x, horizon):
    got = bgnbd_counts.negative_binomial_survival([r_x], [alpha_x], horizon, 400)[0]
    expected = stats.nbinom.sf(np.arange(400), r_x, alpha_x / (alpha_x + horizon))
    # on the extreme fit's far tail (1e-10) the two differ by 2.5e-8 relative, 4e-15 absolute
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-14)
