"""Forecast monitoring and feature drift (clv_warehouse.modeling.monitoring)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from clv_warehouse.modeling import monitoring
from clv_warehouse.modeling.monitoring import MISSING
from clv_warehouse.modeling.tables import backtest_metric_table


def test_identical_samples_do_not_drift():
    values = pd.Series(np.arange(1000, dtype=float))
    result = monitoring.feature_stability(values, values.copy())
    assert result["psi"] == pytest.approx(0.0, abs=1e-12)
    assert result["feature_kind"] == "numeric"
    assert result["bins"] == 10
    assert len(json.loads(result["bin_edges"])) == 9


def test_psi_matches_the_formula_on_deciles():
    training = pd.Series(np.arange(100, dtype=float))
    # half of the scoring rows fall in the lowest training decile, the rest spread evenly
    scoring = pd.Series(np.r_[np.zeros(50), np.linspace(10.5, 99, 50)])
    result = monitoring.feature_stability(training, scoring)
    shares = (
        monitoring._numeric_bins(scoring, monitoring.decile_edges(training))
        .value_counts(normalize=True)
        .reindex([str(k) for k in range(10)], fill_value=0.0)
        .clip(lower=monitoring.EPSILON)
    )
    expected = sum((s - 0.1) * math.log(s / 0.1) for s in shares)
    assert result["psi"] == pytest.approx(expected)
    assert result["psi"] > monitoring.DRIFT_THRESHOLD


def test_tied_training_values_give_distinct_edges():
    training = pd.Series([0.0] * 80 + [1.0] * 10 + [5.0] * 10)
    # deciles 1-8 are all 0, decile 9 is 1: bins (-inf, 0], (0, 1], (1, inf)
    assert monitoring.decile_edges(training) == [0.0, 1.0]
    assert monitoring.feature_stability(training, training)["bins"] == 3


def test_an_empty_bin_adds_a_large_but_finite_term():
    training = pd.Series(["a"] * 50 + ["b"] * 50, dtype=object)
    scoring = pd.Series(["a"] * 50 + ["c"] * 50, dtype=object)
    result = monitoring.feature_stability(training, scoring)
    assert result["feature_kind"] == "categorical"
    assert json.loads(result["bin_edges"]) == ["a", "b", "c"]
    assert math.isfinite(result["psi"])
    # b and c each: (0.5 - 1e-4) * ln(0.5 / 1e-4)
    assert result["psi"] == pytest.approx(2 * (0.5 - 1e-4) * math.log(0.5 / 1e-4))


def test_missing_values_are_a_bin_of_their_own():
    training = pd.Series([1.0, 2.0, 3.0, 4.0] * 25)
    scoring = pd.Series([1.0, 2.0, np.nan, np.nan] * 25)
    result = monitoring.feature_stability(training, scoring)
    assert result["scoring_missing_share"] == 0.5
    assert result["training_missing_share"] == 0.0
    assert result["psi"] > monitoring.DRIFT_THRESHOLD


def test_booleans_are_levels():
    training = pd.Series([True, False] * 50)
    result = monitoring.feature_stability(training, pd.Series([True] * 100))
    assert result["feature_kind"] == "categorical"
    assert result["psi"] > 0


def _label_of_each_value(values: pd.Series) -> list:
    """The bins as the first version made them, one str() per value."""
    return values.astype(object).map(lambda v: MISSING if pd.isna(v) else str(v)).tolist()


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([True, False, True]),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series(["DE", None, "FR", "DE"], dtype="string"),
        pd.Series(["DE", None, "FR"], dtype="str"),
        pd.Series(["DE", None, 3], dtype=object),
        pd.Series([None, None], dtype=object),
    ],
    ids=["bool", "nullable-bool", "string", "str", "mixed-object", "all-missing"],
)
def test_levels_are_binned_by_column_as_they_were_value_by_value(values):
    """The column-wise bins (faster than one str() per value) are the
    labels the value-by-value version gave, so every PSI stays bit-identical."""
    assert monitoring._level_bins(values).tolist() == _label_of_each_value(values)


def test_numeric_bins_are_the_positions_as_text():
    values = pd.Series([0.5, 1.0, 2.5, np.nan, 99.0])
    edges = [1.0, 2.0, 3.0]
    assert monitoring._numeric_bins(values, edges).tolist() == ["0", "0", "2", MISSING, "3"]


def _samples() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    training = pd.DataFrame({"x": rng.normal(size=500), "country": rng.choice(["DE", "FR"], 500)})
    scoring = pd.DataFrame({"x": rng.normal(2, 1, 200), "country": rng.choice(["DE", "FR"], 200)})
    return pd.concat(
        [training.assign(sample_role="training"), scoring.assign(sample_role="scoring")],
        ignore_index=True,
    )


def test_drift_table_has_a_row_per_feature():
    table = monitoring.feature_drift_table(_samples(), ["x", "country"])
    assert list(table["feature_name"]) == ["x", "country"]
    assert list(table["feature_kind"]) == ["numeric", "categorical"]
    x, country = table["psi"]
    assert x > monitoring.DRIFT_THRESHOLD > country >= 0
    assert list(table[["training_rows", "scoring_rows"]].iloc[0]) == [500, 200]


def test_backtest_psi_is_the_same_index_one_step_back():
    """backtest_psi compares the backtest rows with the backtest's training rows, binned at
    their deciles, exactly as psi compares the scoring rows with the training rows."""
    samples = _samples()
    shifted = samples.assign(
        sample_role=samples["sample_role"].map(
            {"training": "backtest_training", "scoring": "backtest"}
        )
    )
    table = monitoring.feature_drift_table(pd.concat([samples, shifted]), ["x", "country"])
    assert list(table["backtest_psi"]) == list(table["psi"])
    without = monitoring.feature_drift_table(samples, ["x"])
    assert without["backtest_psi"].isna().all()


def test_drift_table_is_empty_without_one_of_the_samples():
    samples = _samples()
    table = monitoring.feature_drift_table(samples[samples["sample_role"] == "training"], ["x"])
    assert table.empty
    assert list(table.columns) == list(monitoring.DRIFT_TYPES)


def test_drift_table_names_what_is_wrong():
    with pytest.raises(ValueError, match="no column"):
        monitoring.feature_drift_table(_samples(), ["x", "age"])
    with pytest.raises(ValueError, match="sample_role"):
        monitoring.feature_drift_table(_samples().assign(sample_role="other"), ["x"])


def test_model_features_come_from_the_production_fits():
    fits = pd.DataFrame(
        {
            "phase": ["backtest", "production", "production"],
            "features": ['["old"]', '["a", "b"]', '["b", "c"]'],
        }
    )
    assert monitoring.model_features_of_fits(fits) == ["a", "b", "c"]


def _outcomes(run_id: str, cutoff: str, n: int = 200, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    actual = np.where(rng.random(n) < 0.3, rng.gamma(2.0, 30.0, n), 0.0)
    predicted = np.maximum(actual * rng.uniform(0.5, 1.5, n), 0.5)
    return pd.DataFrame(
        {
            "run_id": run_id,
            "cutoff_date": pd.Timestamp(cutoff),
            "model_name": "xgboost",
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "predicted_revenue": predicted,
            "purchase_probability": np.clip(predicted / 100, 0.01, 0.99),
            "predicted_revenue_point": predicted * 0.5,
            "revenue_p10": 0.0,
            "revenue_p50": predicted * 0.5,
            "revenue_p90": predicted * 2.0,
            "spend_if_purchase_p10": predicted * 0.5,
            "spend_if_purchase_p50": predicted,
            "spend_if_purchase_p90": predicted * 3,
            "actual_revenue": actual,
            "actual_has_purchase": actual > 0,
        }
    )


def test_monitoring_scores_each_run_as_the_backtest_scores_its_cutoff():
    outcomes = pd.concat([_outcomes("run-a", "1998-01-01"), _outcomes("run-b", "1998-02-01", 150)])
    table = monitoring.forecast_monitoring_table(outcomes)
    assert list(table["run_id"]) == ["run-a", "run-b"]
    assert list(table["n_customers"]) == [200, 150]
    backtest = backtest_metric_table(_outcomes("run-a", "1998-01-01").drop(columns="run_id"))
    same = backtest[backtest["model_name"] == "xgboost"].iloc[0]
    for column in (
        "normalized_gini",
        "decile_mape",
        "interval_coverage_80",
        "auc",
        "revenue_ratio",
    ):
        assert table[column].iloc[0] == pytest.approx(same[column]), column


def test_no_run_to_monitor_gives_an_empty_typed_table():
    table = monitoring.forecast_monitoring_table(_outcomes("r", "1998-01-01").iloc[0:0])
    assert table.empty
    assert list(table.columns) == list(monitoring.MONITORING_TYPES)
