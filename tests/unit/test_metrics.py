from __future__ import annotations

import math
from itertools import product

import duckdb
import numpy as np
import pytest

from clv_warehouse.modeling.metrics import (
    CLASSIFICATION_METRIC_KEYS,
    METRIC_DEFINITIONS,
    REGRESSION_METRIC_KEYS,
    calibration_by_decile,
    classification_metrics,
    decile_groups,
    regression_metrics,
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
