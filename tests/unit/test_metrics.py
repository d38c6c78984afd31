from __future__ import annotations

import math
from itertools import product

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clv_warehouse.modeling.metrics import (
    CLASSIFICATION_METRIC_KEYS,
    METRIC_DEFINITIONS,
    REGRESSION_METRIC_KEYS,
    calibration_by_decile,
    classification_metrics,
    decile_groups,
    regression_metrics,
)
from clv_warehouse.modeling.metrics_distribution import (
    DISTRIBUTION_METRIC_DEFINITIONS,
    DISTRIBUTION_METRIC_KEYS,
    FORECAST_COLUMNS,
    ZERO_FORECAST_PROBABILITY,
    distribution_metrics,
    interval_coverage,
    mean_pinball_loss,
    normalized_gini_interval,
    pinball_loss,
    reference_forecasts,
    reference_rows,
    spend_interval_coverage,
)


def _ids(n: int) -> list[str]:
    return [f"c{i:04d}" for i in range(n)]


# --------------------------------------------------------------------------------------------
# decile_groups


def test_decile_groups_n23_sizes_and_order():
    # Distinct predictions 0..22: the highest 3 are decile 1, ..., the lowest 2 decile 10.
    predicted = np.arange(23, dtype=float)
    deciles = decile_groups(predicted, _ids(23))
    sizes = [int((deciles == d).sum()) for d in range(1, 11)]
    assert sizes == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    in_sorted_order = deciles[np.argsort(-predicted)].tolist()
    assert in_sorted_order == [1, 1, 1, 2, 2, 2, 3, 3, 3] + [d for d in range(4, 11) for _ in "xy"]
    assert deciles.dtype == np.int64


def test_decile_groups_n7_one_row_per_group():
    predicted = [5.0, 1.0, 7.0, 3.0, 2.0, 6.0, 4.0]
    assert decile_groups(predicted, _ids(7)).tolist() == [3, 7, 1, 5, 6, 2, 4]


@pytest.mark.parametrize(
    ("n", "sizes"),
    [
        (10, [1] * 10),
        (20, [2] * 10),
        (1, [1]),
        (31, [4, 3, 3, 3, 3, 3, 3, 3, 3, 3]),
        (39, [4] * 9 + [3]),
    ],
)
def test_decile_groups_sizes(n, sizes):
    deciles = decile_groups(np.linspace(0, 1, n), _ids(n))
    assert np.bincount(deciles, minlength=len(sizes) + 1)[1:].tolist() == sizes


def test_decile_groups_empty():
    assert decile_groups([], []).tolist() == []


def test_decile_groups_ties_broken_by_tie_breaker_as_strings():
    # All predictions equal: order is by id as Python strings ("B" < "a" < "a10" < "a9" < ...).
    ids = ["c", "a", "b", "B", "a10", "a9"]
    assert decile_groups([1.0] * 6, ids).tolist() == [6, 2, 5, 1, 3, 4]
    # Prediction first (descending), id only among equal predictions.
    assert decile_groups([1.0, 2.0, 1.0, 2.0], ["b", "z", "a", "y"]).tolist() == [4, 2, 3, 1]
    # Non-string ids compare as their str(): "10" < "9".
    assert decile_groups([0.0, 0.0], [9, 10]).tolist() == [2, 1]


def test_decile_groups_matches_duckdb_ntile():
    rng = np.random.default_rng(7)
    for n in (3, 10, 23, 137):
        predicted = rng.integers(0, 6, size=n) / 2  # many ties
        ids = [f"id{value}" for value in rng.permutation(n * 3)[:n]]
        connection = duckdb.connect()
        connection.execute("create table t (i integer, p double, id varchar)")
        rows = [(i, float(predicted[i]), ids[i]) for i in range(n)]
        connection.executemany("insert into t values (?, ?, ?)", rows)
        rows = connection.execute(
            "select i, ntile(10) over (order by p desc, id asc) from t order by i"
        ).fetchall()
        connection.close()
        assert decile_groups(predicted, ids).tolist() == [decile for _, decile in rows]


def test_decile_groups_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        decile_groups([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="finite"):
        decile_groups([1.0, math.nan], ["a", "b"])
    with pytest.raises(ValueError, match="None"):
        decile_groups([1.0, 2.0], ["a", None])


# --------------------------------------------------------------------------------------------
# calibration_by_decile


def test_calibration_by_decile_hand_example():
    # n = 12: decile sizes 2, 2, then 1 x 8. Predictions 11..0 in that order.
    predicted = np.arange(12, dtype=float)[::-1]
    actual = np.array([10, 20, 0, 4, 1, 0, 0, 0, 0, 0, 0, 3], dtype=float)
    rows = calibration_by_decile(actual, predicted, _ids(12))
    assert [row["decile"] for row in rows] == list(range(1, 11))
    assert rows[0] == {
        "decile": 1,
        "customers": 2,
        "mean_predicted": 10.5,  # (11 + 10) / 2
        "mean_actual": 15.0,  # (10 + 20) / 2
        "sum_predicted": 21.0,
        "sum_actual": 30.0,
    }
    assert rows[1] == {
        "decile": 2,
        "customers": 2,
        "mean_predicted": 8.5,
        "mean_actual": 2.0,
        "sum_predicted": 17.0,
        "sum_actual": 4.0,
    }
    assert rows[9]["customers"] == 1
    assert rows[9]["sum_actual"] == 3.0
    assert sum(row["customers"] for row in rows) == 12
    assert sum(row["sum_actual"] for row in rows) == actual.sum()
    assert isinstance(rows[0]["customers"], int)


def test_calibration_by_decile_fewer_rows_than_deciles():
    rows = calibration_by_decile([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], ["a", "b", "c"])
    assert [(row["decile"], row["sum_actual"]) for row in rows] == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_calibration_by_decile_validates():
    with pytest.raises(ValueError, match="non-negative"):
        calibration_by_decile([-1.0], [1.0], ["a"])
    with pytest.raises(ValueError, match="same length"):
        calibration_by_decile([1.0], [1.0], ["a", "b"])


# --------------------------------------------------------------------------------------------
# regression_metrics

ACTUAL = [0.0, 1.0, 3.0, 4.0]
PREDICTED = [1.0, 1.0, 2.0, 4.0]
IDS = ["a", "b", "c", "d"]


def test_regression_metrics_hand_example():
    metrics = regression_metrics(ACTUAL, PREDICTED, IDS)
    assert tuple(metrics) == REGRESSION_METRIC_KEYS
    assert metrics["n_customers"] == 4
    assert isinstance(metrics["n_customers"], int)
    assert metrics["actual_revenue"] == 8.0
    assert metrics["predicted_revenue"] == 8.0
    assert metrics["revenue_ratio"] == 1.0
    # errors p - a = [1, 0, -1, 0]: mse = 2 / 4, mae = 2 / 4
    assert metrics["rmse"] == pytest.approx(math.sqrt(0.5))
    assert metrics["mae"] == pytest.approx(0.5)
    # log1p(p) - log1p(a) = [log 2 - log 1, 0, log 3 - log 4, 0]
    assert metrics["rmsle"] == pytest.approx(
        math.sqrt((math.log(2) ** 2 + math.log(3 / 4) ** 2) / 4)
    )
    assert metrics["mae_log1p"] == pytest.approx((math.log(2) + math.log(4 / 3)) / 4)
    # mean(a) = 2, SS_tot = 4 + 1 + 1 + 4 = 10, SS_res = 1 + 0 + 1 + 0 = 2
    assert metrics["r2"] == pytest.approx(0.8)
    # ranks(p) = [1.5, 1.5, 3, 4]: gini(a, p) = (2 / 32) * (0 + 1.5 + 9 + 16) - 5 / 4 = 13 / 32
    # ranks(a) = [1, 2, 3, 4]:     gini(a, a) = (2 / 32) * (0 + 2 + 9 + 16) - 5 / 4 = 14 / 32
    assert metrics["normalized_gini"] == pytest.approx(13 / 14)
    # Pearson of ranks: centred a = [-1.5, -.5, .5, 1.5], centred p = [-1, -1, .5, 1.5]
    # cov = 4.5, var a = 5, var p = 4.5 -> 4.5 / sqrt(5 * 4.5) = sqrt(0.9)
    assert metrics["spearman"] == pytest.approx(math.sqrt(0.9))
    # deciles (n = 4, one row each): d=1, c=2, a=3 (tie with b, "a" < "b"), b=4
    # |pred - act| / act: d: 0/4, c: 1/3, a: actual 0 -> skipped, b: 0/1 -> mean 1/9
    assert metrics["decile_mape"] == pytest.approx(1 / 9)
    # decile 1 is customer d: 4 of 8
    assert metrics["top_decile_revenue_capture"] == pytest.approx(0.5)


def test_regression_metrics_values_are_python_scalars():
    rng = np.random.default_rng(3)
    actual = rng.exponential(50, size=200) * (rng.random(200) < 0.3)
    predicted = rng.exponential(20, size=200)
    metrics = regression_metrics(actual, predicted, _ids(200))
    for key, value in metrics.items():
        if key == "n_customers":
            assert type(value) is int
        else:
            assert type(value) is float, key
            assert math.isfinite(value), key


def test_revenue_ratio_and_r2_hand_example():
    # a = [2, 4], p = [3, 3]: ratio 6 / 6 = 1, SS_res = 1 + 1, SS_tot = 1 + 1 -> r2 = 0
    metrics = regression_metrics([2.0, 4.0], [3.0, 3.0], ["x", "y"])
    assert metrics["revenue_ratio"] == 1.0
    assert metrics["r2"] == pytest.approx(0.0)
    # a = [2, 4], p = [1, 2]: ratio 3 / 6
    assert regression_metrics([2.0, 4.0], [1.0, 2.0], ["x", "y"])["revenue_ratio"] == 0.5


def test_top_decile_capture_with_twenty_customers():
    # 20 customers: decile 1 is the two highest predictions (ids c0019, c0018).
    predicted = np.arange(20, dtype=float)
    actual = np.zeros(20)
    actual[19], actual[18], actual[0] = 30.0, 10.0, 60.0
    metrics = regression_metrics(actual, predicted, _ids(20))
    assert metrics["top_decile_revenue_capture"] == pytest.approx(40 / 100)


def test_normalized_gini_perfect_ordering_is_one():
    actual = np.array([0.0, 0.0, 5.0, 1.0, 10.0, 2.5])
    perfect = regression_metrics(actual, actual * 2 + 1, _ids(6))
    assert perfect["normalized_gini"] == pytest.approx(1.0)
    # Strictly increasing in actual even where actual ties: still 1.
    strictly = regression_metrics(actual, [0.1, 0.2, 5.0, 1.0, 10.0, 2.5], _ids(6))
    assert strictly["normalized_gini"] == pytest.approx(1.0)


def test_normalized_gini_constant_prediction_is_exactly_zero():
    actual = [0.0, 0.3, 0.1, 7.7, 0.0, 12.25, 0.2]
    metrics = regression_metrics(actual, [0.0] * 7, _ids(7))
    assert metrics["normalized_gini"] == 0.0
    assert regression_metrics(actual, [3.3] * 7, _ids(7))["normalized_gini"] == 0.0


def test_normalized_gini_reversed_is_negative():
    # ranks(p) = [4, 3, 2, 1] -> gini(a, p) = (2 / 40) * (4 + 6 + 6 + 4) - 5 / 4 = -1 / 4
    # ranks(a) = [1, 2, 3, 4] -> gini(a, a) = (2 / 40) * (1 + 4 + 9 + 16) - 5 / 4 = 1 / 4
    metrics = regression_metrics([1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], IDS)
    assert metrics["normalized_gini"] == pytest.approx(-1.0)
    rng = np.random.default_rng(11)
    actual = rng.exponential(10, size=50)
    assert regression_metrics(actual, -actual + 100, _ids(50))["normalized_gini"] < 0


def test_normalized_gini_with_ties_hand_example():
    # a = [0, 5, 5, 10], p = [1, 0, 1, 1]: ranks(p) = [3, 1, 3, 3]
    # gini(a, p) = (2 / 80) * (0 + 5 + 15 + 30) - 5 / 4 = 0
    # ranks(a) = [1, 2.5, 2.5, 4]: gini(a, a) = (2 / 80) * (0 + 12.5 + 12.5 + 40) - 5 / 4 = 3 / 8
    metrics = regression_metrics([0.0, 5.0, 5.0, 10.0], [1.0, 0.0, 1.0, 1.0], IDS)
    assert metrics["normalized_gini"] == pytest.approx(0.0, abs=1e-12)
    # p = [0, 1, 1, 1]: ranks(p) = [1, 3, 3, 3] -> (2 / 80) * (15 + 15 + 30) - 5 / 4 = 1 / 4
    metrics = regression_metrics([0.0, 5.0, 5.0, 10.0], [0.0, 1.0, 1.0, 1.0], IDS)
    assert metrics["normalized_gini"] == pytest.approx((1 / 4) / (3 / 8))


def test_metrics_invariant_to_row_permutation_with_ties():
    rng = np.random.default_rng(5)
    n = 97
    actual = np.round(rng.exponential(30, size=n) * (rng.random(n) < 0.4), 2)
    predicted = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.exponential(5, size=n)))
    ids = np.array(_ids(n))
    baseline = regression_metrics(actual, predicted, ids)
    for seed in range(5):
        order = np.random.default_rng(seed).permutation(n)
        permuted = regression_metrics(actual[order], predicted[order], ids[order])
        assert permuted["normalized_gini"] == baseline["normalized_gini"]
        assert permuted == pytest.approx(baseline)
        permuted_rows = calibration_by_decile(actual[order], predicted[order], ids[order])
        baseline_rows = calibration_by_decile(actual, predicted, ids)
        assert len(permuted_rows) == len(baseline_rows)
        for permuted_row, baseline_row in zip(permuted_rows, baseline_rows, strict=True):
            assert permuted_row == pytest.approx(baseline_row)


def test_none_when_actual_revenue_is_zero():
    metrics = regression_metrics([0.0, 0.0, 0.0], [1.0, 2.0, 0.0], ["a", "b", "c"])
    for key in (
        "revenue_ratio",
        "r2",
        "normalized_gini",
        "spearman",
        "decile_mape",
        "top_decile_revenue_capture",
    ):
        assert metrics[key] is None, key
    assert metrics["actual_revenue"] == 0.0
    assert metrics["rmse"] == pytest.approx(math.sqrt(5 / 3))


def test_none_when_actual_is_constant_but_positive():
    metrics = regression_metrics([0.1, 0.1, 0.1], [0.3, 0.2, 0.1], ["a", "b", "c"])
    assert metrics["r2"] is None
    assert metrics["normalized_gini"] is None  # gini(a, a) == 0
    assert metrics["spearman"] is None
    assert metrics["revenue_ratio"] == pytest.approx(2.0)
    assert metrics["decile_mape"] is not None


def test_spearman_none_when_prediction_constant():
    metrics = regression_metrics([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], ["a", "b", "c"])
    assert metrics["spearman"] is None
    assert metrics["normalized_gini"] == 0.0
    assert metrics["r2"] is not None


def test_single_customer():
    metrics = regression_metrics([4.0], [3.0], ["a"])
    assert metrics["spearman"] is None
    assert metrics["r2"] is None
    assert metrics["normalized_gini"] is None
    assert metrics["rmse"] == 1.0
    assert metrics["decile_mape"] == pytest.approx(0.25)
    assert metrics["top_decile_revenue_capture"] == 1.0


def test_decile_mape_none_when_no_decile_has_positive_actual():
    assert regression_metrics([0.0, 0.0], [1.0, 0.0], ["a", "b"])["decile_mape"] is None


@pytest.mark.parametrize(
    ("actual", "predicted", "tie_breaker", "message"),
    [
        ([1.0, 2.0], [1.0], ["a", "b"], "same length"),
        ([1.0, 2.0], [1.0, 2.0], ["a"], "same length"),
        ([], [], [], "empty"),
        ([1.0, math.nan], [1.0, 2.0], ["a", "b"], "actual must be finite"),
        ([1.0, 2.0], [math.inf, 2.0], ["a", "b"], "predicted must be finite"),
        ([1.0, -0.5], [1.0, 2.0], ["a", "b"], "actual must be non-negative"),
        ([1.0, 2.0], [1.0, -2.0], ["a", "b"], "predicted must be non-negative"),
        ([[1.0, 2.0]], [[1.0, 2.0]], ["a", "b"], "one-dimensional"),
        (["x", "y"], [1.0, 2.0], ["a", "b"], "numeric"),
        ([1.0, 2.0], [1.0, 2.0], ["a", None], "None"),
        ([1.0, 2.0], [1.0, 2.0], "ab", "single string"),
    ],
)
def test_regression_metrics_rejects_bad_input(actual, predicted, tie_breaker, message):
    with pytest.raises(ValueError, match=message):
        regression_metrics(actual, predicted, tie_breaker)


# --------------------------------------------------------------------------------------------
# classification_metrics


def test_classification_metrics_hand_example():
    actual = [0, 0, 1, 1]
    probability = [0.1, 0.4, 0.35, 0.8]
    metrics = classification_metrics(actual, probability)
    assert tuple(metrics) == CLASSIFICATION_METRIC_KEYS
    # pairs (pos, neg): .35>.1, .35<.4, .8>.1, .8>.4 -> 3 / 4
    assert metrics["auc"] == pytest.approx(0.75)
    # (.01 + .16 + .4225 + .04) / 4
    assert metrics["brier"] == pytest.approx(0.158125)
    expected_log_loss = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert metrics["log_loss"] == pytest.approx(expected_log_loss)
    assert metrics["positive_rate"] == 0.5
    assert metrics["mean_probability"] == pytest.approx(0.4125)


def test_auc_with_ties_hand_example():
    # pos {.5, .9} vs neg {.5, .1}: .5=.5 -> 1/2, .5>.1, .9>.5, .9>.1 -> 3.5 / 4
    assert classification_metrics([0, 1, 1, 0], [0.5, 0.5, 0.9, 0.1])["auc"] == 0.875
    # everything tied -> 1/2
    assert classification_metrics([0, 1, 1, 0], [0.3] * 4)["auc"] == 0.5


def test_auc_matches_brute_force_pairwise_count():
    rng = np.random.default_rng(42)
    for n in (2, 15, 200):
        actual = rng.integers(0, 2, size=n)
        actual[0], actual[1] = 0, 1  # both classes present
        probability = rng.integers(0, 8, size=n) / 7  # many ties
        positives = probability[actual == 1]
        negatives = probability[actual == 0]
        wins = sum(
            1.0 if pos > neg else 0.5 if pos == neg else 0.0
            for pos, neg in product(positives, negatives)
        )
        expected = wins / (len(positives) * len(negatives))
        assert classification_metrics(actual, probability)["auc"] == pytest.approx(expected)


def test_booleans_accepted():
    as_bool = classification_metrics([False, True, True], [0.2, 0.7, 0.4])
    as_int = classification_metrics([0, 1, 1], [0.2, 0.7, 0.4])
    assert as_bool == as_int
    assert as_bool["positive_rate"] == pytest.approx(2 / 3)


def test_log_loss_clips_probabilities_zero_and_one():
    # Confidently wrong: 0 is clipped to 1e-15 and 1 to 1 - 1e-15 (as a float, 1 - 9.992e-16).
    wrong = classification_metrics([1, 0], [0.0, 1.0])
    assert math.isfinite(wrong["log_loss"])
    expected = -(math.log(1e-15) + math.log(1 - (1 - 1e-15))) / 2
    assert wrong["log_loss"] == pytest.approx(expected)
    assert wrong["log_loss"] == pytest.approx(34.54, abs=0.01)
    assert wrong["brier"] == 1.0
    assert wrong["auc"] == 0.0
    # Confidently right: almost 0, still finite.
    right = classification_metrics([1, 0], [1.0, 0.0])
    assert right["log_loss"] == pytest.approx(0.0, abs=1e-12)
    assert right["auc"] == 1.0


def test_auc_none_when_one_class():
    assert classification_metrics([0, 0, 0], [0.1, 0.5, 0.2])["auc"] is None
    only_positive = classification_metrics([1, 1], [0.9, 0.4])
    assert only_positive["auc"] is None
    assert only_positive["brier"] == pytest.approx((0.01 + 0.36) / 2)


@pytest.mark.parametrize(
    ("actual", "probability", "message"),
    [
        ([0, 2], [0.1, 0.2], "0/1"),
        ([0, 0.5], [0.1, 0.2], "0/1"),
        ([0, -1], [0.1, 0.2], "0/1"),
        ([0, math.nan], [0.1, 0.2], "0/1"),
        ([0, 1], [0.1, math.nan], "finite"),
        ([0, 1], [0.1, math.inf], "finite"),
        ([0, 1], [0.1, 1.1], r"within \[0, 1\]"),
        ([0, 1], [-0.1, 0.5], r"within \[0, 1\]"),
        ([0, 1], [0.1], "same length"),
        ([], [], "empty"),
    ],
)
def test_classification_metrics_rejects_bad_input(actual, probability, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(actual, probability)


# --------------------------------------------------------------------------------------------
# METRIC_DEFINITIONS


def test_metric_definitions_cover_every_key():
    regression_keys = set(regression_metrics(ACTUAL, PREDICTED, IDS))
    classification_keys = set(classification_metrics([0, 1], [0.2, 0.6]))
    assert set(METRIC_DEFINITIONS) == regression_keys | classification_keys
    assert regression_keys == set(REGRESSION_METRIC_KEYS)
    assert classification_keys == set(CLASSIFICATION_METRIC_KEYS)
    for key, definition in METRIC_DEFINITIONS.items():
        assert definition.strip(), key
        assert "\n" not in definition, key


# --------------------------------------------------------------------------------------------
# normalized_gini_interval


def _brute_force_gini_interval(actual, predicted, ids, replicates, seed, level=0.95):
    """The documented procedure, one resample at a time with the exact regression_metrics:
    draw K customers (K distinct ids, in ascending str order) with replacement from
    default_rng(seed).integers(0, K, size=(replicates, K)), stack every row of each draw."""
    actual, predicted = np.asarray(actual), np.asarray(predicted)
    customers = sorted(set(ids))
    rows_of = {customer: [i for i, c in enumerate(ids) if c == customer] for customer in customers}
    draws = np.random.default_rng(seed).integers(
        0, len(customers), size=(replicates, len(customers))
    )
    values = []
    for draw in draws:
        rows = [row for k in draw for row in rows_of[customers[k]]]
        gini = regression_metrics(actual[rows], predicted[rows], [str(r) for r in rows])[
            "normalized_gini"
        ]
        if gini is not None:
            values.append(gini)
    return np.quantile(values, [(1 - level) / 2, (1 + level) / 2])


def test_gini_interval_matches_brute_force_resamples_with_ties():
    rng = np.random.default_rng(21)
    n = 40
    actual = np.round(rng.exponential(20, size=n) * (rng.random(n) < 0.5))  # ties, zeros
    predicted = rng.integers(0, 5, size=n).astype(float)  # heavy ties
    ids = [f"id{i:02d}" for i in rng.permutation(n)]
    interval = normalized_gini_interval(actual, predicted, ids, replicates=60, seed=3)
    expected = _brute_force_gini_interval(actual, predicted, ids, 60, 3)
    assert interval == pytest.approx(expected, abs=1e-12)
    assert interval.low < interval.high


def test_gini_interval_resamples_customers_with_several_rows_as_a_whole():
    # Customers "b" and "c" have two rows each: a drawn customer brings both.
    actual = [0.0, 5.0, 1.0, 8.0, 2.0, 0.0, 3.0]
    predicted = [1.0, 4.0, 0.5, 6.0, 2.0, 2.0, 1.0]
    ids = ["a", "b", "b", "c", "c", "d", "e"]
    interval = normalized_gini_interval(actual, predicted, ids, replicates=80, seed=9, level=0.8)
    expected = _brute_force_gini_interval(actual, predicted, ids, 80, 9, level=0.8)
    assert interval == pytest.approx(expected, abs=1e-12)


def test_gini_interval_known_answers():
    rng = np.random.default_rng(4)
    actual = np.round(rng.exponential(10, size=300) * (rng.random(300) < 0.4), 1)
    # A strictly increasing function of actual orders every resample perfectly ...
    assert normalized_gini_interval(actual, actual * 3 + 1) == pytest.approx((1.0, 1.0))
    # ... a strictly decreasing one reverses it (copies tie in both orders) ...
    assert normalized_gini_interval(actual, 100 - actual) == pytest.approx((-1.0, -1.0))
    # ... and a constant ranks nobody: exactly 0.
    assert tuple(normalized_gini_interval(actual, np.full(300, 2.5))) == (0.0, 0.0)


def test_gini_interval_nan_when_no_resample_defines_it():
    assert all(math.isnan(end) for end in normalized_gini_interval([0.0, 0.0], [1.0, 2.0]))
    assert all(math.isnan(end) for end in normalized_gini_interval([3.0, 3.0], [1.0, 2.0]))


def test_gini_interval_seeded_and_independent_of_row_order():
    rng = np.random.default_rng(8)
    n = 500
    actual = rng.exponential(30, size=n) * (rng.random(n) < 0.3)
    predicted = actual * rng.lognormal(0, 1, size=n) + rng.exponential(1, size=n)
    ids = np.array(_ids(n))
    first = normalized_gini_interval(actual, predicted, ids, seed=5)
    assert normalized_gini_interval(actual, predicted, ids, seed=5) == first
    assert normalized_gini_interval(actual, predicted, ids, seed=6) != first
    order = rng.permutation(n)
    assert normalized_gini_interval(actual[order], predicted[order], ids[order], seed=5) == first
    point = regression_metrics(actual, predicted, ids)["normalized_gini"]
    assert first.low < point < first.high
    # A 99% interval holds the 80% one.
    wide = normalized_gini_interval(actual, predicted, ids, seed=5, level=0.99)
    narrow = normalized_gini_interval(actual, predicted, ids, seed=5, level=0.8)
    assert wide.low < narrow.low < narrow.high < wide.high


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replicates": 0}, "replicates"),
        ({"replicates": 2.5}, "replicates"),
        ({"level": 1.0}, "level"),
        ({"level": 0.0}, "level"),
    ],
)
def test_gini_interval_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        normalized_gini_interval([1.0, 2.0], [1.0, 2.0], **kwargs)
    # a numpy integer is a valid count
    assert normalized_gini_interval([1.0, 2.0], [1.0, 2.0], replicates=np.int64(3)) is not None


def test_gini_interval_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        normalized_gini_interval([1.0, 2.0], [1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match="actual must be non-negative"):
        normalized_gini_interval([1.0, -2.0], [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# interval_coverage, spend_interval_coverage


def test_interval_coverage_hand_example():
    actual = [5.0, 10.0, 10.0, 11.0, 0.0, 0.0]
    lower = [5.0, 1.0, 10.5, 1.0, 0.0, 0.0]
    upper = [6.0, 9.0, 12.0, 11.0, 0.0, 0.0]
    # Buyers: 5 in [5, 6] yes (bound), 10 in [1, 9] no, 10 in [10.5, 12] no, 11 in [1, 11] yes.
    # Zeros with q >= 0.9: PIT uniform on [0, <= 0.1), below 0.1 -> never covered, any seed.
    probability = [0.5, 0.5, 0.5, 0.5, 0.95, 0.9]
    for seed in range(5):
        assert interval_coverage(actual, lower, upper, probability, seed=seed) == 2 / 6


def test_interval_coverage_zero_mass_uses_randomized_pit():
    n = 40_000
    zeros = np.zeros(n)
    # lower = upper = 0 would count every zero if the rule read the quantiles for zeros.
    for probability, chance in ((0.0, 0.8), (0.5, 0.8), (0.75, 0.6), (0.85, 1 / 3)):
        # chance = |[0.1, 0.9] ∩ [0, 1 - q]| / (1 - q): q = 0.85 -> 0.05 / 0.15
        coverage = interval_coverage(zeros, zeros, zeros, np.full(n, probability), seed=1)
        assert coverage == pytest.approx(chance, abs=0.01), probability
    # Exactly the documented draw: u = default_rng(seed).random(n) in row order.
    q = np.linspace(0, 0.6, 50)
    pit = np.random.default_rng(7).random(50) * (1 - q)
    expected = np.mean((pit >= 0.1) & (pit <= 0.9))
    assert interval_coverage(np.zeros(50), np.zeros(50), np.ones(50), q, seed=7) == expected


def _zero_inflated_lognormal_quantile(level, probability, mu, sigma):
    """Quantile of Y = 0 with probability 1 - q, else lognormal(mu, sigma)."""
    conditional = (level - (1 - probability)) / probability
    safe = np.clip(conditional, 1e-12, 1 - 1e-12)
    return np.where(conditional <= 0, 0.0, np.exp(mu + sigma * stats.norm.ppf(safe)))


def test_interval_coverage_of_the_true_distribution_is_eighty_percent():
    rng = np.random.default_rng(12)
    n = 60_000
    # Purchase probabilities on both sides of 0.1 and 0.9, so p10 and p90 are 0 for some.
    probability = rng.choice([0.03, 0.2, 0.5, 0.88, 0.97], size=n)
    mu, sigma = rng.normal(3, 1, size=n), rng.uniform(0.3, 1.5, size=n)
    actual = np.where(rng.random(n) < probability, rng.lognormal(mu, sigma), 0.0)
    p10 = _zero_inflated_lognormal_quantile(0.1, probability, mu, sigma)
    p90 = _zero_inflated_lognormal_quantile(0.9, probability, mu, sigma)
    coverage = interval_coverage(actual, p10, p90, probability, seed=2)
    assert coverage == pytest.approx(0.8, abs=0.01)
    # A forecast that puts too much mass at zero is caught: not 0.8.
    too_sure = interval_coverage(actual, p10 * 0, p90 * 0, np.full(n, 0.01), seed=2)
    assert too_sure < 0.6


def test_interval_coverage_seeded_and_independent_of_row_order():
    rng = np.random.default_rng(13)
    n = 300
    actual = np.where(rng.random(n) < 0.4, rng.exponential(10, size=n), 0.0)
    lower, upper = np.zeros(n), np.full(n, 12.0)
    probability = rng.uniform(0.05, 0.6, size=n)
    ids = np.array(_ids(n))
    first = interval_coverage(actual, lower, upper, probability, seed=4, customer_ids=ids)
    order = rng.permutation(n)
    permuted = interval_coverage(
        actual[order],
        lower[order],
        upper[order],
        probability[order],
        seed=4,
        customer_ids=ids[order],
    )
    assert permuted == first
    others = {interval_coverage(actual, lower, upper, probability, seed=s) for s in range(6)}
    assert len(others) > 1  # the draw depends on the seed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [0.5, 0.5]), "lower must not exceed upper"),
        (([1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.5, 1.5]), r"within \[0, 1\]"),
        (([1.0, -1.0], [0.0, 0.0], [1.0, 0.0], [0.5, 0.5]), "actual must be non-negative"),
        (([1.0, math.nan], [0.0, 0.0], [1.0, 0.0], [0.5, 0.5]), "actual must be finite"),
        (([1.0], [0.0, 0.0], [1.0, 0.0], [0.5, 0.5]), "same length"),
    ],
)
def test_interval_coverage_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        interval_coverage(*args, seed=0)


def test_spend_interval_coverage_hand_example():
    actual = [0.0, 5.0, 10.0, 20.0, 0.0]
    p10 = [9.0, 5.0, 11.0, 1.0, 0.0]
    p90 = [9.0, 7.0, 30.0, 19.0, 0.0]
    # Zeros are not buyers; 5 in [5, 7] yes, 10 in [11, 30] no, 20 in [1, 19] no.
    assert spend_interval_coverage(actual, p10, p90) == pytest.approx(1 / 3)
    assert math.isnan(spend_interval_coverage([0.0, 0.0], [1.0, 1.0], [2.0, 2.0]))
    with pytest.raises(ValueError, match="spend_p10 must not exceed spend_p90"):
        spend_interval_coverage([1.0], [3.0], [2.0])


# --------------------------------------------------------------------------------------------
# pinball_loss


def test_pinball_loss_hand_example():
    # d = a - q = [-5, 5]: tau 0.9 -> [0.1 * 5, 0.9 * 5] -> mean 2.5; tau 0.1 -> [4.5, 0.5]
    assert pinball_loss([0.0, 10.0], [5.0, 5.0], 0.9) == pytest.approx(2.5)
    assert pinball_loss([0.0, 10.0], [5.0, 5.0], 0.1) == pytest.approx(2.5)
    # d = [-5, 1]: tau 0.9 -> [0.5, 0.9] -> 0.7; tau 0.1 -> [4.5, 0.1] -> 2.3
    assert pinball_loss([0.0, 6.0], [5.0, 5.0], 0.9) == pytest.approx(0.7)
    assert pinball_loss([0.0, 6.0], [5.0, 5.0], 0.1) == pytest.approx(2.3)
    assert mean_pinball_loss([0.0, 6.0], {0.1: [5.0, 5.0], 0.9: [5.0, 5.0]}) == pytest.approx(1.5)


def test_pinball_loss_median_is_half_the_mae_and_quantile_is_the_minimizer():
    rng = np.random.default_rng(17)
    actual = np.where(rng.random(101) < 0.6, 0.0, np.round(rng.exponential(10, size=101), 1))
    predicted = rng.exponential(5, size=101)
    assert pinball_loss(actual, predicted, 0.5) == pytest.approx(
        np.mean(np.abs(actual - predicted)) / 2
    )
    for tau in (0.1, 0.5, 0.9):
        candidates = np.unique(np.concatenate([actual, np.linspace(0, 40, 401)]))
        losses = [pinball_loss(actual, np.full(101, c), tau) for c in candidates]
        best = candidates[int(np.argmin(losses))]
        quantile = np.quantile(actual, tau, method="inverted_cdf")
        assert pinball_loss(actual, np.full(101, quantile), tau) == pytest.approx(min(losses))
        assert pinball_loss(actual, np.full(101, best + 1), tau) > min(losses)


def test_pinball_loss_rejects_bad_input():
    with pytest.raises(ValueError, match="tau"):
        pinball_loss([1.0], [1.0], 1.0)
    with pytest.raises(ValueError, match="quantile_values must be finite"):
        pinball_loss([1.0], [math.nan], 0.5)
    with pytest.raises(ValueError, match="at least one tau"):
        mean_pinball_loss([1.0], {})


# --------------------------------------------------------------------------------------------
# distribution_metrics


def _forecast_frame(n=400, seed=30):
    rng = np.random.default_rng(seed)
    probability = rng.uniform(0.02, 0.95, size=n)
    mu, sigma = rng.normal(3, 0.8, size=n), np.full(n, 0.9)
    buys = rng.random(n) < probability
    actual = np.where(buys, np.round(rng.lognormal(mu, sigma), 2), 0.0)
    spend = {
        name: np.exp(mu + sigma * stats.norm.ppf(level))
        for name, level in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
    }
    revenue = {
        name: _zero_inflated_lognormal_quantile(level, probability, mu, sigma)
        for name, level in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
    }
    return pd.DataFrame(
        {
            "customer_id": _ids(n),
            "purchase_probability": probability,
            "predicted_revenue": probability * np.exp(mu + sigma**2 / 2),
            "predicted_revenue_point": np.expm1(probability * (mu + 0.1)),
            **{f"revenue_{name}": values for name, values in revenue.items()},
            **{f"spend_if_purchase_{name}": values for name, values in spend.items()},
            "actual_revenue": actual,
            "actual_has_purchase": buys,
        }
    )


def test_distribution_metrics_keys_and_values_agree_with_the_parts():
    frame = _forecast_frame()
    result = distribution_metrics(frame, seed=11)
    assert tuple(result) == DISTRIBUTION_METRIC_KEYS
    assert type(result["n_customers"]) is int
    assert all(type(result[key]) is float for key in DISTRIBUTION_METRIC_KEYS[1:])
    actual, ids = frame["actual_revenue"], frame["customer_id"]
    regression = regression_metrics(actual, frame["predicted_revenue"], ids)
    classification = classification_metrics(
        frame["actual_has_purchase"], frame["purchase_probability"]
    )
    for key in ("revenue_ratio", "rmse", "r2", "normalized_gini", "decile_mape"):
        assert result[key] == regression[key], key
    for key in ("auc", "brier", "log_loss", "positive_rate", "mean_probability"):
        assert result[key] == classification[key], key
    log_error = np.log1p(frame["predicted_revenue_point"]) - np.log1p(actual)
    assert result["rmsle_point"] == pytest.approx(math.sqrt(np.mean(log_error**2)))
    gini = normalized_gini_interval(actual, frame["predicted_revenue"], ids, seed=11)
    assert (result["normalized_gini_low"], result["normalized_gini_high"]) == gini
    assert result["interval_coverage_80"] == interval_coverage(
        actual,
        frame["revenue_p10"],
        frame["revenue_p90"],
        frame["purchase_probability"],
        seed=11,
        customer_ids=ids,
    )
    # the spend quantiles are the true ones of the simulation
    assert result["spend_interval_coverage_80"] == pytest.approx(0.8, abs=0.08)
    pinballs = [
        pinball_loss(actual, frame[f"revenue_{q}"], t)
        for q, t in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9))
    ]
    assert [result[f"pinball_loss_{q}"] for q in ("p10", "p50", "p90")] == pinballs
    assert result["pinball_loss_mean"] == pytest.approx(sum(pinballs) / 3)


def test_distribution_metrics_hand_example_without_randomness():
    # Every customer bought, so coverage is read from the quantiles alone.
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "purchase_probability": [0.5, 0.8],
            "predicted_revenue": [2.0, 6.0],
            "predicted_revenue_point": [1.0, 3.0],
            "revenue_p10": [0.0, 1.0],
            "revenue_p50": [1.0, 4.0],
            "revenue_p90": [2.0, 5.0],
            "spend_if_purchase_p10": [0.5, 7.0],
            "spend_if_purchase_p50": [1.0, 8.0],
            "spend_if_purchase_p90": [2.5, 9.0],
            "actual_revenue": [1.0, 7.0],
            "actual_has_purchase": [True, True],
        }
    )
    result = distribution_metrics(frame)
    assert result["revenue_ratio"] == 1.0
    assert result["rmsle_point"] == pytest.approx(math.log(2) / math.sqrt(2))  # [0, log 8/4]
    assert result["interval_coverage_80"] == 0.5  # 1 in [0, 2], 7 not in [1, 5]
    assert result["spend_interval_coverage_80"] == 1.0
    assert math.isnan(result["auc"])  # one class
    assert result["brier"] == pytest.approx((0.25 + 0.04) / 2)
    # p10: d = [1, 6] -> 0.1 * 7 / 2; p50: d = [0, 3] -> 0.5 * 3 / 2; p90: d = [-1, 2]
    assert result["pinball_loss_p10"] == pytest.approx(0.35)
    assert result["pinball_loss_p50"] == pytest.approx(0.75)
    assert result["pinball_loss_p90"] == pytest.approx((0.1 + 1.8) / 2)
    assert result["pinball_loss_mean"] == pytest.approx((0.35 + 0.75 + 0.95) / 3)


def test_distribution_metrics_nan_not_exception_when_undefined():
    frame = _forecast_frame(n=30)
    frame["actual_revenue"] = 0.0
    frame["actual_has_purchase"] = False
    result = distribution_metrics(frame)
    for key in (
        "revenue_ratio",
        "r2",
        "normalized_gini",
        "normalized_gini_low",
        "normalized_gini_high",
        "spearman",
        "decile_mape",
        "top_decile_revenue_capture",
        "auc",
        "spend_interval_coverage_80",
    ):
        assert math.isnan(result[key]), key
    assert result["positive_rate"] == 0.0
    assert math.isfinite(result["interval_coverage_80"])


def test_distribution_metrics_independent_of_row_order_and_nullable_dtypes():
    frame = _forecast_frame(n=250, seed=31)
    baseline = distribution_metrics(frame, seed=2)
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert distribution_metrics(shuffled, seed=2) == pytest.approx(baseline)
    nullable = frame.astype({"actual_has_purchase": "boolean", "actual_revenue": "Float64"})
    assert distribution_metrics(nullable, seed=2) == pytest.approx(baseline)


def test_distribution_metrics_names_missing_columns_and_bad_values():
    frame = _forecast_frame(n=20)
    with pytest.raises(ValueError, match="revenue_p50, actual_has_purchase"):
        distribution_metrics(frame.drop(columns=["revenue_p50", "actual_has_purchase"]))
    broken = frame.astype({"actual_has_purchase": "boolean"})
    broken.loc[3, "actual_has_purchase"] = pd.NA
    with pytest.raises(ValueError, match="actual_has_purchase"):
        distribution_metrics(broken)
    crossed = frame.assign(revenue_p10=frame["revenue_p90"] + 1)
    with pytest.raises(ValueError, match="lower must not exceed upper"):
        distribution_metrics(crossed)


def test_distribution_metric_definitions_cover_every_key():
    assert set(DISTRIBUTION_METRIC_DEFINITIONS) == set(DISTRIBUTION_METRIC_KEYS)
    assert len(set(DISTRIBUTION_METRIC_KEYS)) == len(DISTRIBUTION_METRIC_KEYS)
    for key, definition in DISTRIBUTION_METRIC_DEFINITIONS.items():
        assert definition.strip(), key
        assert "\n" not in definition, key


# --------------------------------------------------------------------------------------------
# reference_rows


def test_reference_rows_hand_example():
    actual = [0.0, 0.0, 3.0, 7.0]
    rows = reference_rows(actual, [False, False, True, True], ["a", "b", "c", "d"])
    assert list(rows.columns) == ["reference", *DISTRIBUTION_METRIC_KEYS]
    zeros, best = (row for _, row in rows.set_index("reference").iterrows())
    assert list(rows["reference"]) == ["all_zeros", "best_constant"]
    logs = np.log1p(actual)  # [0, 0, log 4, log 8]
    eps = ZERO_FORECAST_PROBABILITY
    # all zeros
    assert zeros["predicted_revenue"] == 0.0
    assert zeros["revenue_ratio"] == 0.0
    assert zeros["rmsle_point"] == pytest.approx(math.sqrt(np.mean(logs**2)))
    assert zeros["log_loss"] == pytest.approx(-(2 * math.log(eps) + 2 * math.log1p(-eps)) / 4)
    assert zeros["auc"] == 0.5
    assert (zeros["normalized_gini"], zeros["normalized_gini_low"]) == (0.0, 0.0)
    assert zeros["spend_interval_coverage_80"] == 0.0
    assert [zeros[f"pinball_loss_{q}"] for q in ("p10", "p50", "p90")] == pytest.approx(
        [0.1 * 2.5, 0.5 * 2.5, 0.9 * 2.5]
    )
    # best constant: mean 2.5, point expm1(mean log1p) = 2^(5/4) - 1, rate 1/2
    assert best["predicted_revenue"] == pytest.approx(10.0)
    assert best["revenue_ratio"] == pytest.approx(1.0)
    assert best["r2"] == pytest.approx(0.0, abs=1e-12)
    assert best["rmsle_point"] == pytest.approx(np.std(logs))
    assert best["brier"] == pytest.approx(0.25)
    assert best["log_loss"] == pytest.approx(math.log(2))
    assert best["normalized_gini"] == 0.0
    # quantiles of [0, 0, 3, 7]: p10 0, p50 0, p90 7; of the buyers [3, 7]: 3, 3, 7
    assert best["spend_interval_coverage_80"] == 1.0
    # p90 = 7: d = a - 7 = [-7, -7, -4, 0] -> 0.1 * (7 + 7 + 4) / 4
    assert best["pinball_loss_p90"] == pytest.approx(0.45)


def test_reference_best_constant_beats_every_other_constant_on_its_own_rule():
    rng = np.random.default_rng(40)
    n = 120
    has_purchase = rng.random(n) < 0.3
    actual = np.where(has_purchase, np.round(rng.lognormal(3, 1, size=n), 2), 0.0)
    forecast = reference_forecasts(actual, has_purchase)["best_constant"]
    best = distribution_metrics(forecast)
    for constant in np.concatenate([np.unique(actual), np.linspace(0, 200, 81)]):
        values = np.full(n, constant)
        rival = forecast.assign(
            predicted_revenue=values,
            predicted_revenue_point=values,
            revenue_p10=values,
            revenue_p50=values,
            revenue_p90=values,
        )
        scored = distribution_metrics(rival, replicates=1)
        for key in (
            "rmse",
            "rmsle_point",
            "pinball_loss_p10",
            "pinball_loss_p50",
            "pinball_loss_p90",
        ):
            assert best[key] <= scored[key] + 1e-12, (key, constant)
    for probability in np.linspace(0.01, 0.99, 50):
        rival = forecast.assign(purchase_probability=probability)
        scored = distribution_metrics(rival, replicates=1)
        assert best["log_loss"] <= scored["log_loss"] + 1e-12
        assert best["brier"] <= scored["brier"] + 1e-12


def test_reference_forecasts_have_every_column_and_safe_probabilities():
    forecasts = reference_forecasts([0.0, 4.0], [True, True])  # a purchase with net revenue 0
    for forecast in forecasts.values():
        assert set(FORECAST_COLUMNS) <= set(forecast.columns)
        assert forecast["purchase_probability"].between(0, 1, inclusive="neither").all()
    assert (
        forecasts["best_constant"]["purchase_probability"].iloc[0] == 1 - ZERO_FORECAST_PROBABILITY
    )
    none_bought = reference_rows([0.0, 0.0], [False, False])
    assert none_bought["spend_interval_coverage_80"].isna().all()
