"""Unit tests of clv_warehouse.modeling.boosting on small synthetic snapshot frames."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from synthetic_customers import synthetic_customers

from clv_warehouse.modeling import boosting
from clv_warehouse.modeling.boosting import (
    DEFAULT_CANDIDATES,
    PURCHASE,
    PURCHASE_SEARCH_SPACE,
    SPEND,
    SPEND_SEARCH_SPACE,
    BoostingSettings,
    TrainedModel,
    category_levels,
    contributions,
    feature_matrix,
    mean_absolute_shap,
    no_drivers,
    predict_purchase,
    predict_raw,
    predict_spend,
    search_candidates,
    split_for_validation,
    top_drivers,
    train_model,
)

SETTINGS = BoostingSettings(
    horizon_days=30,
    search_candidates=2,
    max_rounds=50,
    early_stopping_rounds=5,
    fallback_rounds=20,
    threads=1,
)
FEATURES = ["frequency", "recency_days", "monetary_mean", "tenure_days", "country"]
SPACES = {SPEND: SPEND_SEARCH_SPACE, PURCHASE: PURCHASE_SEARCH_SPACE}
TARGETS = (SPEND, PURCHASE)
VERSION = re.compile(rf"^xgboost-{re.escape(xgb.__version__)}\+[0-9a-f]{{12}}$")


def snapshots(seed: int = 7, customers: int = 300, cutoffs: int = 4) -> pd.DataFrame:
    """Stacked snapshots 30 days apart: purchases and spend that depend on the features."""
    rng = np.random.default_rng(seed)
    parts = []
    for cutoff in pd.date_range("2024-01-01", periods=cutoffs, freq="30D"):
        drawn = synthetic_customers(rng, customers)
        revenue = drawn.pop("revenue")
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i:04d}" for i in range(customers)],
                    "cutoff_date": cutoff,
                    **drawn,
                    "label_revenue": revenue,
                    "label_has_purchase": revenue > 0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return snapshots()


@pytest.fixture(scope="module")
def models(frame) -> dict[str, TrainedModel]:
    return {target: train_model(frame, FEATURES, target, SETTINGS) for target in TARGETS}


def _grid(target: str) -> list[dict]:
    space = SPACES[target]
    names = sorted(space)
    return [dict(zip(names, v, strict=True)) for v in itertools.product(*(space[n] for n in names))]


def _key(candidate: dict) -> tuple:
    return tuple(sorted(candidate.items()))


# --- search_candidates -----------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_search_candidates_start_with_the_default_and_stay_in_the_space(target):
    settings = BoostingSettings(horizon_days=30, search_candidates=6)
    candidates = search_candidates(target, settings)
    assert len(candidates) == 6
    assert candidates[0] == DEFAULT_CANDIDATES[target]
    assert len({_key(c) for c in candidates}) == 6
    space = SPACES[target]
    for candidate in candidates:
        assert set(candidate) == set(space)
        for name, value in candidate.items():
            assert value in space[name], (name, value)


@pytest.mark.parametrize("target", TARGETS)
def test_search_candidates_are_bounded_by_the_grid(target):
    grid = _grid(target)
    candidates = search_candidates(target, BoostingSettings(horizon_days=30, search_candidates=500))
    assert len(candidates) == len(grid) == 18
    assert candidates[0] == DEFAULT_CANDIDATES[target]
    assert {_key(c) for c in candidates} == {_key(c) for c in grid}


@pytest.mark.parametrize("target", TARGETS)
def test_one_search_candidate_is_the_default(target):
    candidates = search_candidates(target, BoostingSettings(horizon_days=30, search_candidates=1))
    assert candidates == [DEFAULT_CANDIDATES[target]]


@pytest.mark.parametrize("target", TARGETS)
def test_search_candidates_depend_only_on_the_seed(target):
    def draw(seed: int) -> list[dict]:
        return search_candidates(
            target, BoostingSettings(horizon_days=30, seed=seed, search_candidates=5)
        )

    assert draw(11) == draw(11)
    assert draw(11)[0] == draw(12)[0] == DEFAULT_CANDIDATES[target]
    assert draw(11) != draw(12)


def test_search_candidates_must_be_positive():
    with pytest.raises(ValueError, match="search_candidates"):
        BoostingSettings(horizon_days=30, search_candidates=0)


# --- split_for_validation --------------------------------------------------------------------


def test_latest_cutoff_validates_on_fully_observed_earlier_cutoffs():
    cutoffs = ["2024-03-02", "2024-01-01", "2024-01-31", "2024-03-01"]
    # Label windows end 2024-01-31, 03-01, 03-31, 04-01: only the first two end by 03-02.
    assert split_for_validation(cutoffs, 30) == (["2024-01-01", "2024-01-31"], "2024-03-02")


def test_a_label_window_ending_on_the_validation_cutoff_is_fully_observed():
    # [2024-01-01, 2024-01-31) ends exactly at the validation cutoff: allowed.
    assert split_for_validation(["2024-01-01", "2024-01-31"], 30) == (
        ["2024-01-01"],
        "2024-01-31",
    )
    # One more horizon day and the window reaches the validation cutoff: no validation.
    assert split_for_validation(["2024-01-01", "2024-01-31"], 31) == (
        ["2024-01-01", "2024-01-31"],
        None,
    )


@pytest.mark.parametrize(
    "cutoffs",
    [[], ["2024-01-01"], ["2024-01-20", "2024-01-01"], ["2024-01-01", "2024-01-10", "2024-01-20"]],
)
def test_no_honest_validation_gives_all_cutoffs_and_none(cutoffs):
    assert split_for_validation(cutoffs, 30) == (sorted(cutoffs), None)


# --- train_model -----------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_train_model_searches_and_refits(models, frame, target):
    model = models[target]
    assert model.status == "trained"
    assert model.message == ""
    assert model.is_trained
    assert model.target == target
    assert model.features == FEATURES
    assert model.categories == {"country": ["DE", "GB", "US"]}
    assert model.training_rows == len(boosting.training_rows(target, frame))
    assert model.training_cutoffs == ["2024-01-01", "2024-01-31", "2024-03-01", "2024-03-31"]
    assert model.validation_cutoff == "2024-03-31"
    assert model.validation_metric == ("rmse_log_spend" if target == SPEND else "log_loss")
    assert model.calibration["status"] == "fitted"
    assert len(model.search) == SETTINGS.search_candidates
    assert [{k: c[k] for k in SPACES[target]} for c in model.search] == search_candidates(
        target, SETTINGS
    )
    best = min(model.search, key=lambda c: c["score"])
    assert model.hyperparameters == {k: best[k] for k in SPACES[target]}
    assert model.rounds == best["rounds"]
    assert 1 <= model.rounds <= SETTINGS.max_rounds
    assert model.validation_score == pytest.approx(best["score"], abs=1e-6)
    assert model.validation_score > 0
    assert VERSION.match(model.model_version)
    assert model.booster().num_boosted_rounds() == model.rounds
    assert model.fit_seconds > 0


def test_search_fits_on_earlier_cutoffs_and_stops_on_the_latest(frame, monkeypatch):
    # A cutoff 10 days before the validation cutoff has a label window that overlaps it.
    overlap = frame[frame["cutoff_date"] == "2024-03-01"].assign(
        cutoff_date=pd.Timestamp("2024-03-21")
    )
    data = pd.concat([frame, overlap], ignore_index=True)
    sizes = []
    real = boosting._dmatrix

    def spy(matrix, label=None):
        sizes.append(len(matrix))
        return real(matrix, label)

    monkeypatch.setattr(boosting, "_dmatrix", spy)
    settings = BoostingSettings(
        horizon_days=30, search_candidates=1, max_rounds=5, early_stopping_rounds=2, threads=1
    )
    model = train_model(data, FEATURES, PURCHASE, settings)
    per_cutoff = data["cutoff_date"].value_counts()
    earlier = per_cutoff[[pd.Timestamp(c) for c in ("2024-01-01", "2024-01-31", "2024-03-01")]]
    assert model.validation_cutoff == "2024-03-31"
    # search: (fit, validation); then the refit on every row.
    assert sizes[:3] == [earlier.sum(), per_cutoff[pd.Timestamp("2024-03-31")], len(data)]


@pytest.mark.parametrize("target", TARGETS)
def test_train_model_is_reproducible_byte_for_byte(models, frame, target):
    again = train_model(frame.copy(), FEATURES, target, SETTINGS)
    assert again.model_json == models[target].model_json
    assert again.model_version == models[target].model_version
    assert again.search == models[target].search


def test_another_seed_gives_another_model(models, frame):
    other = train_model(frame, FEATURES, SPEND, dataclasses.replace(SETTINGS, seed=1))
    assert other.is_trained
    assert other.model_json != models[SPEND].model_json


@pytest.mark.parametrize("target", TARGETS)
def test_empty_frame_is_not_trained(frame, target):
    model = train_model(frame.iloc[0:0], FEATURES, target, SETTINGS)
    assert model.status == "not_trained"
    assert "no labelled training rows" in model.message
    assert model.model_json == ""
    assert not model.is_trained
    assert model.training_rows == 0
    record = model.as_record()
    assert record["model_json"] is None
    assert record["model_version"] is None


@pytest.mark.parametrize("target", TARGETS)
def test_constant_label_is_not_trained(frame, target):
    constant = frame.assign(label_revenue=25.0, label_has_purchase=True)
    model = train_model(constant, FEATURES, target, SETTINGS)
    assert model.status == "not_trained"
    assert "nothing to learn" in model.message
    assert not model.is_trained
    assert model.rounds == 0
    assert model.hyperparameters == {}
    assert model.as_record()["model_json"] is None


@pytest.mark.parametrize("target", TARGETS)
def test_one_cutoff_uses_the_default_candidate_without_search(frame, target):
    single = frame[frame["cutoff_date"] == frame["cutoff_date"].min()]
    model = train_model(single, FEATURES, target, SETTINGS)
    assert model.status == "trained"
    assert model.is_trained
    assert model.hyperparameters == DEFAULT_CANDIDATES[target]
    assert model.rounds == SETTINGS.fallback_rounds
    assert model.booster().num_boosted_rounds() == SETTINGS.fallback_rounds
    assert model.search == []
    assert model.validation_cutoff is None
    assert model.validation_score is None
    assert "no search" in model.message
    assert "calibration not_fitted: no validation cutoff" in model.message
    assert model.training_cutoffs == ["2024-01-01"]


def test_cutoffs_as_dates_or_text_train_the_same_model(frame):
    as_text = frame.assign(cutoff_date=frame["cutoff_date"].dt.strftime("%Y-%m-%d"))
    as_dates = frame.assign(cutoff_date=frame["cutoff_date"].dt.date)
    reference = train_model(frame, FEATURES, PURCHASE, SETTINGS)
    for data in (as_text, as_dates):
        model = train_model(data, FEATURES, PURCHASE, SETTINGS)
        assert model.validation_cutoff == reference.validation_cutoff
        assert model.model_json == reference.model_json


# --- calibration and the spend law -----------------------------------------------------------


def test_no_buyer_is_nothing_for_the_spend_model_to_learn(frame):
    nobody = frame.assign(label_revenue=0.0, label_has_purchase=False)
    model = train_model(nobody, FEATURES, SPEND, SETTINGS)
    assert model.status == "not_trained"
    assert "no labelled training rows with a purchase" in model.message


def test_spend_model_learns_log_spend_of_buyers_only(models, frame):
    buyers = frame[frame["label_revenue"] > 0]
    assert models[SPEND].training_rows == len(buyers) < len(frame)
    mu, sigma = predict_spend(models[SPEND], buyers)
    assert np.corrcoef(mu, np.log(buyers["label_revenue"]))[0, 1] > 0.3
    assert (sigma > 0).all()
    # A calibrated log-normal mean is close to the buyers' mean spend in sample.
    assert np.mean(np.exp(mu + sigma**2 / 2)) == pytest.approx(
        buyers["label_revenue"].mean(), rel=0.3
    )


def test_predictions_apply_the_stored_calibration(models, frame):
    purchase = models[PURCHASE]
    raw = predict_raw(purchase, frame).astype(float)
    a, b = purchase.calibration["a"], purchase.calibration["b"]
    expected = 1 / (1 + np.exp(-(a + b * np.log(raw / (1 - raw)))))
    np.testing.assert_allclose(predict_purchase(purchase, frame), expected, rtol=1e-9)
    spend = models[SPEND]
    mu, _ = predict_spend(spend, frame)
    c0, c1 = spend.calibration["c0"], spend.calibration["c1"]
    np.testing.assert_allclose(mu, c0 + c1 * predict_raw(spend, frame).astype(float), rtol=1e-9)


def test_category_levels_are_the_sorted_text_levels():
    data = pd.DataFrame(
        {
            "country": ["US", None, "DE", "US", "GB"],
            "channel": pd.Series(["web", "shop", None, "web", "web"], dtype="str"),
            "frequency": [1, 2, 3, 4, 5],
            "empty": pd.Series([None] * 5, dtype=object),
        }
    )
    levels = category_levels(data, ["frequency", "country", "channel", "empty"])
    assert levels == {"country": ["DE", "GB", "US"], "channel": ["shop", "web"], "empty": []}
    assert category_levels(data, ["frequency"]) == {}


def test_feature_matrix_fixes_levels_and_hides_unseen_ones():
    categories = {"country": ["DE", "GB", "US"]}
    scoring = pd.DataFrame(
        {"frequency": [1, 2, 3, 4], "country": ["US", "FR", None, "DE"]}, index=[10, 11, 12, 13]
    )
    matrix = feature_matrix(scoring, ["frequency", "country"], categories)
    assert list(matrix.columns) == ["frequency", "country"]
    assert list(matrix.index) == [10, 11, 12, 13]
    assert matrix["frequency"].dtype == np.float64
    assert isinstance(matrix["country"].dtype, pd.CategoricalDtype)
    assert list(matrix["country"].cat.categories) == ["DE", "GB", "US"]
    assert matrix["country"].cat.codes.tolist() == [2, -1, -1, 0]
    # Codes do not depend on which levels the scored rows happen to have.
    only_gb = feature_matrix(scoring.assign(country="GB"), ["country"], categories)
    assert only_gb["country"].cat.codes.tolist() == [1, 1, 1, 1]


@pytest.mark.filterwarnings("error::pandas.errors.Pandas4Warning")
def test_feature_matrix_with_an_unseen_level_uses_no_deprecated_pandas_call():
    scoring = pd.DataFrame({"country": ["US", "FR"]})
    matrix = feature_matrix(scoring, ["country"], {"country": ["DE", "US"]})
    assert matrix["country"].cat.codes.tolist() == [1, -1]


def test_text_feature_without_levels_is_all_missing():
    scoring = pd.DataFrame({"segment": ["a", "b", None]})
    matrix = feature_matrix(scoring, ["segment"], {"segment": []})
    assert matrix["segment"].dtype == np.float64
    assert matrix["segment"].isna().all()


def test_numeric_features_become_floats():
    data = pd.DataFrame(
        {
            "count": pd.Series([1, None, 3], dtype="Int64"),
            "flag": [True, False, True],
            "text_number": ["1.5", "2", None],
        }
    )
    matrix = feature_matrix(data, ["count", "flag", "text_number"], {})
    assert (matrix.dtypes == np.float64).all()
    np.testing.assert_array_equal(matrix["count"], [1.0, np.nan, 3.0])
    np.testing.assert_array_equal(matrix["flag"], [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(matrix["text_number"], [1.5, 2.0, np.nan])
    with pytest.raises(ValueError, match="abc"):
        feature_matrix(pd.DataFrame({"count": ["1", "abc"]}), ["count"], {})


def test_unseen_level_predicts_like_a_missing_one(models, frame):
    rows = frame.head(20)
    for model in models.values():
        unseen = predict_raw(model, rows.assign(country="FR"))
        missing = predict_raw(model, rows.assign(country=None))
        np.testing.assert_array_equal(unseen, missing)


# --- predict, contributions, drivers ---------------------------------------------------------


def test_predictions_are_in_range_and_informative(models, frame):
    mu, sigma = predict_spend(models[SPEND], frame)
    revenue = np.exp(mu + sigma**2 / 2)
    probability = predict_purchase(models[PURCHASE], frame)
    assert revenue.shape == probability.shape == (len(frame),)
    assert np.isfinite(revenue).all()
    assert (revenue >= 0).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    bought = frame["label_has_purchase"].to_numpy()
    assert probability[bought].mean() > probability[~bought].mean() + 0.1
    assert revenue[bought].mean() > revenue[~bought].mean()


@pytest.mark.parametrize("target", TARGETS)
def test_contributions_add_up_to_the_margin(models, frame, target):
    model = models[target]
    rows = frame.iloc[::7]
    shap = contributions(model, rows)
    assert list(shap.columns) == model.features
    assert shap.index.equals(rows.index)
    data = xgb.DMatrix(
        feature_matrix(rows, model.features, model.categories), enable_categorical=True
    )
    booster = model.booster()
    margin = booster.predict(data, output_margin=True)
    bias = booster.predict(data, pred_contribs=True)[:, -1]
    np.testing.assert_allclose(shap.sum(axis=1).to_numpy() + bias, margin, atol=1e-4)
    assert shap.abs().to_numpy().sum() > 0


def test_top_drivers_pick_the_largest_absolute_contributions():
    shap = pd.DataFrame(
        [
            [0.1, -0.5, 0.3, 0.0],
            [0.2, -0.2, 0.2, 0.1],  # ties: feature order
            [0.0, 0.0, 0.0, -2.0],
        ],
        columns=["a", "b", "c", "d"],
        index=[5, 6, 7],
    )
    drivers = top_drivers(shap)
    assert list(drivers.columns) == [
        "driver_1_feature",
        "driver_1_contribution",
        "driver_2_feature",
        "driver_2_contribution",
        "driver_3_feature",
        "driver_3_contribution",
    ]
    assert list(drivers.index) == [5, 6, 7]
    features = drivers[[f"driver_{k}_feature" for k in (1, 2, 3)]].to_numpy().tolist()
    values = drivers[[f"driver_{k}_contribution" for k in (1, 2, 3)]].to_numpy().tolist()
    assert features == [["b", "c", "a"], ["a", "b", "c"], ["d", "a", "b"]]
    assert values == [[-0.5, 0.3, 0.1], [0.2, -0.2, 0.2], [-2.0, 0.0, 0.0]]
    one = top_drivers(shap, count=1)
    assert list(one.columns) == ["driver_1_feature", "driver_1_contribution"]


def test_no_drivers_has_the_same_columns_all_missing():
    drivers = no_drivers(4)
    shap = pd.DataFrame(np.ones((4, 3)), columns=["a", "b", "c"])
    assert list(drivers.columns) == list(top_drivers(shap).columns)
    assert len(drivers) == 4
    assert drivers.isna().all().all()
    assert no_drivers(0).empty


def test_mean_absolute_shap_ranks_features():
    shap = pd.DataFrame(
        {"a": [0.1, -0.1], "b": [-2.0, 1.0], "c": [0.5, -0.5], "d": [0.0, 0.2]},
    )
    importance = mean_absolute_shap(shap)
    assert list(importance.columns) == [
        "feature_name",
        "mean_abs_shap",
        "importance_rank",
        "importance_share",
    ]
    # mean |SHAP|: b 1.5, c 0.5, a 0.1, d 0.1 (the a/d tie goes by name)
    assert importance["feature_name"].tolist() == ["b", "c", "a", "d"]
    np.testing.assert_allclose(importance["mean_abs_shap"], [1.5, 0.5, 0.1, 0.1])
    assert importance["importance_rank"].tolist() == [1, 2, 3, 4]
    assert importance["importance_share"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(importance["importance_share"], np.array([1.5, 0.5, 0.1, 0.1]) / 2.2)


def test_mean_absolute_shap_of_a_model_sums_to_one(models, frame):
    importance = mean_absolute_shap(contributions(models[SPEND], frame.head(100)))
    assert sorted(importance["feature_name"]) == sorted(FEATURES)
    assert importance["importance_rank"].tolist() == list(range(1, len(FEATURES) + 1))
    assert importance["mean_abs_shap"].is_monotonic_decreasing
    assert importance["importance_share"].sum() == pytest.approx(1.0)


def test_mean_absolute_shap_of_all_zero_values_has_zero_shares():
    importance = mean_absolute_shap(pd.DataFrame({"a": [0.0, 0.0], "b": [0.0, 0.0]}))
    assert importance["importance_share"].tolist() == [0.0, 0.0]
    assert importance["importance_rank"].tolist() == [1, 2]


# --- records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_record_round_trip_predicts_identically(models, frame, target):
    model = models[target]
    record = model.as_record()
    assert record["model_version"] == model.model_version
    assert record["xgboost_version"] == xgb.__version__
    restored = TrainedModel.from_record(record)
    assert restored == model
    np.testing.assert_array_equal(predict_raw(restored, frame), predict_raw(model, frame))
    # As a row of a table, the way tables.py reads it back.
    row = pd.DataFrame([record]).iloc[0].to_dict()
    from_row = TrainedModel.from_record(row)
    assert from_row.model_version == model.model_version
    np.testing.assert_array_equal(predict_raw(from_row, frame), predict_raw(model, frame))
    pd.testing.assert_frame_equal(contributions(from_row, frame), contributions(model, frame))


def test_record_of_a_model_without_validation_round_trips(frame):
    single = frame[frame["cutoff_date"] == frame["cutoff_date"].min()]
    model = train_model(single, FEATURES, PURCHASE, SETTINGS)
    record = pd.DataFrame([model.as_record()]).iloc[0].to_dict()
    restored = TrainedModel.from_record(record)
    assert restored.validation_score is None
    np.testing.assert_array_equal(predict_raw(restored, frame), predict_raw(model, frame))


def test_record_of_an_untrained_model_read_from_a_table_is_not_trained(models, frame):
    untrained = train_model(frame.iloc[0:0], FEATURES, SPEND, SETTINGS)
    table = pd.DataFrame([models[SPEND].as_record(), untrained.as_record()])
    restored = TrainedModel.from_record(table.iloc[1].to_dict())
    assert not restored.is_trained
    assert restored.model_json == ""
    assert restored.validation_cutoff is None


def test_candidates_with_non_finite_predictions_are_skipped_and_all_failing_is_a_status(
    frame, monkeypatch
):
    real_raw = boosting._raw
    calls = {"n": 0}

    def first_candidate_diverges(booster, data, rounds=None):
        calls["n"] += 1
        values = real_raw(booster, data, rounds)
        return np.full_like(values, np.nan) if calls["n"] <= 2 else values

    monkeypatch.setattr(boosting, "_raw", first_candidate_diverges)
    model = train_model(frame, FEATURES, SPEND, SETTINGS)
    assert model.status == "trained"
    assert model.search[0]["score"] is None
    assert all(entry["score"] is not None for entry in model.search[1:])

    monkeypatch.setattr(boosting, "_raw", lambda booster, data, rounds=None: np.full(3, np.nan))
    failed = train_model(frame, FEATURES, SPEND, SETTINGS)
    assert failed.status == "not_trained"
    assert "non-finite" in failed.message
    assert not failed.is_trained
    assert failed.validation_score is None
