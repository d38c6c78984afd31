"""The forecast columns of a purchase probability times a spend law."""

from __future__ import annotations

import numpy as np
import pytest

from clv_warehouse.modeling import distributions


def test_lognormal_hurdle_matches_a_simulation():
    p, mu, sigma = np.array([0.3, 0.95]), np.array([3.0, 4.0]), np.array([0.8, 0.4])
    columns = distributions.forecast_columns(p, distributions.lognormal_spend(mu, sigma))
    rng = np.random.default_rng(2)
    for row in range(2):
        buys = rng.random(400_000) < p[row]
        revenue = np.where(buys, np.exp(rng.normal(mu[row], sigma[row], buys.size)), 0.0)
        got = columns.iloc[row]
        assert got["predicted_revenue"] == pytest.approx(revenue.mean(), rel=0.02)
        assert got["predicted_revenue_point"] == pytest.approx(
            np.expm1(np.log1p(revenue).mean()), rel=0.02
        )
        for level in (10, 50, 90):
            assert got[f"revenue_p{level}"] == pytest.approx(
                np.quantile(revenue, level / 100), rel=0.02, abs=1e-9
            )
            assert got[f"spend_if_purchase_p{level}"] == pytest.approx(
                np.quantile(revenue[buys], level / 100), rel=0.02
            )


def test_quantiles_are_zero_below_the_mass_at_zero_and_ordered():
    p = np.linspace(0.01, 0.99, 99)
    columns = distributions.forecast_columns(
        p, distributions.lognormal_spend(np.full(99, 2.0), np.full(99, 1.0))
    )
    assert (columns.loc[p < 0.9, "revenue_p10"] == 0).all()
    assert (columns.loc[p > 0.9, "revenue_p10"] > 0).all()
    assert (columns.loc[p <= 0.5, "revenue_p50"] == 0).all()
    assert (columns["revenue_p10"] <= columns["revenue_p50"]).all()
    assert (columns["revenue_p50"] <= columns["revenue_p90"]).all()
    # Jensen: the RMSLE point never exceeds the mean.
    assert (columns["predicted_revenue_point"] <= columns["predicted_revenue"]).all()


def test_sampled_spend_is_scaled_to_the_exact_mean_and_interpolates_quantiles():
    """The exact mean sets the draws' scale and their shape the rest, so the mean, the
    quantiles and E[log1p] all describe one law."""
    draws = np.tile(np.arange(1.0, 102.0), (2, 1))  # mean 51
    law = distributions.sampled_spend(draws, mean=np.array([51.0, 102.0]))
    np.testing.assert_array_equal(law.mean, [51.0, 102.0])
    np.testing.assert_allclose(law.quantile(np.array([0.1, 0.5])), [11.0, 102.0])
    np.testing.assert_allclose(
        law.log1p_mean,
        [np.log1p(np.arange(1.0, 102.0)).mean(), np.log1p(2 * np.arange(1.0, 102.0)).mean()],
    )


def test_the_point_never_exceeds_the_mean_when_the_draws_run_above_it():
    """Found at 100M generated lines: a heavy buyer (52 expected purchases, p = 0.999) whose
    400 draws averaged a little above the exact mean got a point 0.7% above the mean, which
    no law can give (Jensen) and marts.predictions' data test refuses."""
    rng = np.random.default_rng(3)
    draws = rng.normal(23_000.0, 1_000.0, (500, 400))
    exact = draws.mean(axis=1) * rng.uniform(0.95, 1.0, 500)  # the draws run 0-5% high
    columns = distributions.forecast_columns(
        np.full(500, 0.999), distributions.sampled_spend(draws, mean=exact)
    )
    assert (columns["predicted_revenue_point"] <= columns["predicted_revenue"]).all()
    assert (columns["spend_if_purchase_p50"] <= exact * 1.01).all()


def test_a_point_mass_is_its_own_forecast():
    columns = distributions.forecast_columns(
        np.array([0.999999]), distributions.point_mass(np.array([12.0]))
    )
    assert columns["spend_if_purchase_p10"].iloc[0] == 12.0
    assert columns["revenue_p90"].iloc[0] == 12.0
