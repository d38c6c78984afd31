"""Calibration on the validation cutoff: Platt scaling, the spend map and its spread."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from clv_warehouse.modeling import calibration


def test_platt_scaling_undoes_a_known_distortion():
    """Probabilities that over-predict buying (as models trained on earlier cutoffs do when
    buying declines) come back to the rate customers actually bought at."""
    rng = np.random.default_rng(4)
    truth = special.expit(rng.normal(-2, 1.2, 20_000))
    bought = rng.random(truth.size) < truth
    distorted = special.expit(0.7 + 0.8 * special.logit(truth))  # over-predicts
    fitted = calibration.fit_purchase_calibration(bought, distorted)
    assert fitted["status"] == "fitted"
    calibrated = calibration.apply_purchase_calibration(fitted, distorted)
    assert distorted.mean() > 1.3 * bought.mean()
    assert calibrated.mean() == pytest.approx(bought.mean(), rel=0.03)
    np.testing.assert_allclose(calibrated, truth, atol=0.03)


def test_platt_scaling_is_not_fitted_on_one_outcome_or_few_rows():
    for label in (np.zeros(100), np.ones(100), np.array([0, 1] * 5)):
        fitted = calibration.fit_purchase_calibration(label, np.full(label.size, 0.3))
        assert fitted["status"].startswith("not_fitted")
        assert (fitted["a"], fitted["b"]) == (0.0, 1.0)


def test_calibrated_probabilities_are_never_0_or_1():
    fitted = {"a": 30.0, "b": 20.0}
    values = calibration.apply_purchase_calibration(fitted, np.array([1e-12, 0.5, 1 - 1e-12]))
    assert ((values > 0) & (values < 1)).all()


def test_spend_map_and_spread_by_history():
    rng = np.random.default_rng(8)
    mu = rng.normal(3, 0.5, 5_000)
    bucket = rng.integers(0, 4, mu.size)
    noise = np.array([1.0, 0.8, 0.6, 0.4])[bucket]
    log_spend = 0.5 + 0.9 * mu + rng.normal(0, 1, mu.size) * noise
    fitted = calibration.fit_spend_calibration(log_spend, mu, bucket)
    assert fitted["status"] == "fitted"
    assert fitted["c0"] == pytest.approx(0.5, abs=0.1)
    assert fitted["c1"] == pytest.approx(0.9, abs=0.05)
    np.testing.assert_allclose(fitted["sigma_by_frequency"], [1.0, 0.8, 0.6, 0.4], rtol=0.06)
    mapped, sigma = calibration.apply_spend_calibration(fitted, mu, bucket)
    np.testing.assert_allclose(mapped, fitted["c0"] + fitted["c1"] * mu)
    np.testing.assert_allclose(sigma, np.asarray(fitted["sigma_by_frequency"])[bucket])


def test_spend_map_stays_monotone():
    """A validation cutoff where predicted log spend runs against the outcome keeps the
    ordering (c1 = 1) and only shifts the level."""
    mu = np.linspace(1, 5, 200)
    log_spend = 6 - mu
    fitted = calibration.fit_spend_calibration(log_spend, mu, np.zeros(200, dtype=int))
    assert fitted["c1"] == 1.0
    assert fitted["c0"] == pytest.approx(np.mean(log_spend - mu) + fitted["mean_shift"])


def test_expected_spends_sum_to_the_validation_buyers_spend():
    """Residuals that are not normal (here: skewed) make exp(mu + sigma^2 / 2) a biased mean;
    the level shift puts the total right on the validation cutoff."""
    rng = np.random.default_rng(12)
    mu = rng.normal(3, 0.5, 4_000)
    log_spend = mu + (rng.exponential(0.6, mu.size) - 0.6)
    bucket = np.zeros(mu.size, dtype=int)
    fitted = calibration.fit_spend_calibration(log_spend, mu, bucket)
    mapped, sigma = calibration.apply_spend_calibration(fitted, mu, bucket)
    assert np.exp(mapped + sigma**2 / 2).sum() == pytest.approx(np.exp(log_spend).sum())
    assert fitted["mean_shift"] != 0


def test_an_empty_bucket_borrows_the_overall_spread():
    residuals = np.r_[np.full(100, 1.0), np.full(100, -1.0)]
    spreads = calibration.spreads(residuals, np.zeros(200, dtype=int))
    assert spreads["sigma_by_frequency"] == pytest.approx([1.0, 1.0, 1.0, 1.0])
