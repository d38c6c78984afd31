"""Unit tests of clv_warehouse.modeling.tables: the bodies of the dbt Python models."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
from synthetic_customers import synthetic_customers

from clv_warehouse.modeling import boosting, btyd, metrics, tables
from clv_warehouse.modeling import metrics_distribution as judged
from clv_warehouse.modeling.boosting import BoostingSettings, TrainedModel
from clv_warehouse.modeling.btyd import BtydSettings

SETTINGS = BoostingSettings(
    horizon_days=30,
    search_candidates=2,
    max_rounds=50,
    early_stopping_rounds=5,
    fallback_rounds=20,
    threads=1,
)
FEATURES = ["frequency", "recency_days", "monetary_mean", "tenure_days", "country"]
CUTOFFS = pd.date_range("2024-01-01", periods=5, freq="30D")  # 01-01, 01-31, 03-01, 03-31, 04-30
ROLES = ("training", "training", "training", "backtest", "scoring")
BACKTEST_CUTOFF = pd.Timestamp("2024-03-31")
SCORING_CUTOFF = pd.Timestamp("2024-04-30")
DRIVER_COLUMNS = [f"driver_{k}_{part}" for k in (1, 2, 3) for part in ("feature", "contribution")]


def snapshots(seed: int = 11, customers: int = 300) -> pd.DataFrame:
    """int_model_inputs in small: five cutoffs 30 days apart, the last two backtest and scoring.

    Labels depend on the features; about 5% of the labelled rows are not training-eligible and
    the scoring cutoff's labels are incomplete (null).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for cutoff, role in zip(CUTOFFS, ROLES, strict=True):
        drawn = synthetic_customers(rng, customers)
        revenue = drawn.pop("revenue")
        complete = role != "scoring"
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"c{i:04d}" for i in range(customers)],
                    "cutoff_date": cutoff,
                    "cutoff_role": role,
                    **drawn,
                    "label_revenue": revenue if complete else np.nan,
                    "label_has_purchase": pd.array(
                        revenue > 0 if complete else [None] * customers, dtype="boolean"
                    ),
                    "is_training_eligible": complete & (rng.uniform(size=customers) > 0.05),
                    "is_label_complete": complete,
                    "is_backtest_training_cutoff": role == "training",
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def inputs() -> pd.DataFrame:
    return snapshots()


@pytest.fixture(scope="module")
def fits(inputs) -> pd.DataFrame:
    return tables.xgboost_fit_table(inputs, FEATURES, SETTINGS)


@pytest.fixture(scope="module")
def predictions(fits, inputs) -> pd.DataFrame:
    return tables.xgboost_prediction_table(fits, inputs)


def _model(fits: pd.DataFrame, phase: str, target: str) -> TrainedModel:
    row = fits[(fits["phase"] == phase) & (fits["target"] == target)]
    assert len(row) == 1
    return TrainedModel.from_record(row.iloc[0].to_dict())


# --- settings --------------------------------------------------------------------------------

BTYD_RENDERED = {
    "horizon_days": "90",
    "time_unit_days": "7",
    "penalizers": "[0.0, 0.01]",
    "clv_months": "12",
    "monthly_discount_rate": "0.01",
}
BOOSTING_RENDERED = {
    "horizon_days": "90",
    "seed": "20240601",
    "search_candidates": "8",
    "max_rounds": "1000",
    "early_stopping_rounds": "50",
    "threads": "2",
}
# argument -> the config key the error names
BTYD_KEYS = {
    "horizon_days": "horizon_days",
    "time_unit_days": "btyd_time_unit_days",
    "penalizers": "btyd_penalizers",
    "clv_months": "clv_months",
    "monthly_discount_rate": "monthly_discount_rate",
}
BOOSTING_KEYS = {
    "horizon_days": "horizon_days",
    "seed": "xgboost_seed",
    "search_candidates": "xgboost_search_candidates",
    "max_rounds": "xgboost_max_rounds",
    "early_stopping_rounds": "xgboost_early_stopping_rounds",
    "threads": "xgboost_threads",
}


def test_btyd_settings_parse_the_rendered_json():
    settings = tables.btyd_settings(**BTYD_RENDERED)
    assert settings == BtydSettings(
        horizon_days=90,
        time_unit_days=7.0,
        penalizers=(0.0, 0.01),
        clv_months=12,
        monthly_discount_rate=0.01,
    )
    assert isinstance(settings.horizon_days, int)
    assert isinstance(settings.time_unit_days, float)
    assert all(isinstance(p, float) for p in settings.penalizers)


def test_btyd_settings_accept_values_already_parsed():
    settings = tables.btyd_settings(
        horizon_days=30,
        time_unit_days=1,
        penalizers=[0, 0.1],
        clv_months=6,
        monthly_discount_rate=0,
    )
    assert settings == BtydSettings(30, 1.0, (0.0, 0.1), 6, 0.0)


def test_boosting_settings_parse_the_rendered_json():
    settings = tables.boosting_settings(**BOOSTING_RENDERED)
    assert settings == BoostingSettings(
        horizon_days=90,
        seed=20240601,
        search_candidates=8,
        max_rounds=1000,
        early_stopping_rounds=50,
        threads=2,
    )
    assert settings.fallback_rounds == BoostingSettings(horizon_days=1).fallback_rounds


@pytest.mark.parametrize("missing", [None, "", "   "])
@pytest.mark.parametrize("argument", sorted(BTYD_KEYS))
def test_btyd_settings_refuse_a_missing_value(argument, missing):
    with pytest.raises(ValueError, match=re.escape(repr(BTYD_KEYS[argument]))):
        tables.btyd_settings(**{**BTYD_RENDERED, argument: missing})


@pytest.mark.parametrize("missing", [None, "", "   "])
@pytest.mark.parametrize("argument", sorted(BOOSTING_KEYS))
def test_boosting_settings_refuse_a_missing_value(argument, missing):
    with pytest.raises(ValueError, match=re.escape(repr(BOOSTING_KEYS[argument]))):
        tables.boosting_settings(**{**BOOSTING_RENDERED, argument: missing})


def test_settings_refuse_a_null_rendered_as_json():
    with pytest.raises(ValueError, match="'horizon_days'"):
        tables.boosting_settings(**{**BOOSTING_RENDERED, "horizon_days": "null"})


# --- model_features and phase_rows ---------------------------------------------------------


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature_name": ["first_purchase_date", "recency_days", "frequency", "country", "x"],
            "is_model_input": [False, True, True, True, False],
        }
    )


def test_model_features_in_catalog_order(catalog):
    assert tables.model_features(catalog, False) == ["recency_days", "frequency", "country"]
    assert tables.model_features(catalog, True) == [
        "recency_days",
        "frequency",
        "country",
        *tables.BASELINE_FEATURES,
    ]
    assert len(tables.BASELINE_FEATURES) == 4


def test_model_features_reads_the_flag_as_dbt_renders_it(catalog):
    assert tables.model_features(catalog, "false") == ["recency_days", "frequency", "country"]


def test_phase_rows(inputs):
    eligible = inputs["is_training_eligible"]
    train, score = tables.phase_rows(inputs, "backtest")
    assert train.index.equals(inputs.index[eligible & inputs["is_backtest_training_cutoff"]])
    assert set(train["cutoff_date"]) == set(CUTOFFS[:3])
    assert train["is_training_eligible"].all()
    assert score.index.equals(inputs.index[inputs["cutoff_role"] == "backtest"])
    assert set(score["cutoff_date"]) == {BACKTEST_CUTOFF}

    train, score = tables.phase_rows(inputs, "production")
    assert train.index.equals(inputs.index[eligible & inputs["is_label_complete"]])
    assert set(train["cutoff_date"]) == set(CUTOFFS[:4])
    assert score.index.equals(inputs.index[inputs["cutoff_role"] == "scoring"])
    assert set(score["cutoff_date"]) == {SCORING_CUTOFF}
    assert len(score) == 300  # every scored customer, eligible or not


def test_unknown_phase_raises(inputs):
    with pytest.raises(ValueError, match="unknown phase 'prod'"):
        tables.phase_rows(inputs, "prod")


# --- BG/NBD + Gamma-Gamma --------------------------------------------------------------------

BTYD = BtydSettings(horizon_days=91)
RFM_COLUMNS = ["cutoff_date", "cutoff_role", "customer_id", "frequency", "recency", "T"]
RFM_COLUMNS += ["monetary_value"]


@pytest.fixture(scope="module")
def rfm() -> pd.DataFrame:
    """customer_rfm in small: two cutoffs of CDNOW (in days) and one without repeat buyers."""
    cdnow = load_cdnow_summary_data_with_monetary_value().reset_index()
    days = cdnow.assign(
        customer_id=cdnow["customer_id"].astype(str),
        recency=cdnow["recency"] * 7,
        T=cdnow["T"] * 7,
    )
    first = days.iloc[:1200].assign(cutoff_date=pd.Timestamp("2024-01-01"), cutoff_role="training")
    second = days.iloc[1000:].assign(cutoff_date=pd.Timestamp("2024-04-01"), cutoff_role="backtest")
    one_time = days.iloc[:40].assign(
        cutoff_date=pd.Timestamp("2024-07-01"),
        cutoff_role="scoring",
        frequency=0,
        recency=0.0,
        monetary_value=0.0,
    )
    # Not in cutoff order: the tables sort.
    return pd.concat([second, one_time, first], ignore_index=True)[RFM_COLUMNS]


@pytest.fixture(scope="module")
def btyd_fits(rfm) -> pd.DataFrame:
    return tables.btyd_fit_table(rfm, BTYD)


def test_the_scoring_fit_is_fitted_on_the_summary_at_the_training_end(rfm):
    """A training build fits the scoring cutoff's BG/NBD on int_customer_rfm_at_training_end,
    so each day of a month applies the same parameters; the row says where it was fitted."""
    backtest = rfm[rfm["cutoff_role"] == "backtest"].drop(columns=["cutoff_date", "cutoff_role"])
    at_training_end = backtest.assign(training_end_date=pd.Timestamp("2024-06-01"))
    fits = tables.btyd_fit_table(rfm, BTYD, scoring_rfm=at_training_end)
    scoring = fits[fits["cutoff_role"] == "scoring"].iloc[0]
    assert scoring["cutoff_date"] == pd.Timestamp("2024-07-01")
    assert scoring["fitted_at_date"] == pd.Timestamp("2024-06-01")
    assert scoring["customers"] == len(backtest)
    assert scoring["status"] == btyd.FITTED
    same = fits[fits["cutoff_role"] == "backtest"].iloc[0]
    assert scoring["model_version"] == same["model_version"]


def test_btyd_fit_table_has_one_row_per_cutoff(btyd_fits):
    assert list(btyd_fits.columns) == [
        "cutoff_date",
        "cutoff_role",
        *btyd.BtydFit.__dataclass_fields__,
        "horizon_days",
        "model_version",
        "fitted_at_date",
    ]
    assert (btyd_fits["fitted_at_date"] == btyd_fits["cutoff_date"]).all()
    assert btyd_fits["cutoff_date"].tolist() == [
        pd.Timestamp(d) for d in ("2024-01-01", "2024-04-01", "2024-07-01")
    ]
    assert btyd_fits["cutoff_role"].tolist() == ["training", "backtest", "scoring"]
    assert btyd_fits["customers"].tolist() == [1200, 1357, 40]
    assert (btyd_fits["horizon_days"] == 91).all()
    fitted = btyd_fits.iloc[:2]
    assert (fitted["status"] == btyd.FITTED).all()
    assert fitted["model_version"].str.fullmatch(r"lifetimes-[\d.]+\+[0-9a-f]{12}").all()
    assert fitted["model_version"].nunique() == 2
    assert (fitted[["r", "alpha", "a", "b", "p", "q", "v"]] > 0).all().all()
    attempts = json.loads(fitted["bgnbd_attempts"].iloc[0])
    assert attempts[-1]["outcome"] == "converged"


def test_btyd_cutoff_without_repeat_buyers_is_a_status(btyd_fits):
    row = btyd_fits.iloc[2]
    assert row["status"] == btyd.NO_REPEAT_BUYERS
    assert "repeat buyer" in row["message"]
    assert row["repeat_buyers"] == 0
    assert pd.isna(row["model_version"])
    assert pd.isna(row["r"])
    assert json.loads(row["bgnbd_attempts"]) == []


def test_btyd_fit_table_is_reproducible(rfm, btyd_fits):
    again = tables.btyd_fit_table(rfm.sample(frac=1, random_state=3), BTYD)
    pd.testing.assert_frame_equal(
        again.drop(columns="fit_seconds"), btyd_fits.drop(columns="fit_seconds")
    )


def test_btyd_prediction_table(btyd_fits, rfm):
    table = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    assert list(table.columns) == [
        "cutoff_date",
        "customer_id",
        *btyd.PREDICTION_COLUMNS,
        *tables.SPREAD_COLUMNS,
        "is_valid_output",
        "prediction_key",
    ]
    assert len(table) == len(rfm)
    assert not table.duplicated(["cutoff_date", "customer_id"]).any()
    ordered = table.sort_values(["cutoff_date", "customer_id"], ignore_index=True)
    pd.testing.assert_frame_equal(table, ordered)
    assert table.groupby("cutoff_date").size().tolist() == [1200, 1357, 40]
    values = table[list(btyd.PREDICTION_COLUMNS)]
    assert not (values < 0).any().any()
    fitted = table["cutoff_date"] < pd.Timestamp("2024-07-01")
    assert table.loc[fitted, "is_valid_output"].all()
    assert values[fitted].notna().all().all()
    probabilities = table.loc[fitted, ["p_alive", "purchase_probability"]]
    assert (probabilities <= 1).all().all()
    # The whole distribution at the backtest cutoff only (training cutoffs feed XGBoost
    # features, which need no quantiles).
    spread = table[list(tables.SPREAD_COLUMNS)]
    backtest = (table["cutoff_date"] == pd.Timestamp("2024-04-01")).to_numpy()
    assert spread[backtest].notna().all().all()
    assert spread[~backtest].isna().all().all()
    ordered_quantiles = spread[backtest]
    for low, high in (("revenue_p10", "revenue_p50"), ("revenue_p50", "revenue_p90")):
        assert (ordered_quantiles[low] <= ordered_quantiles[high]).all()
    assert (
        ordered_quantiles["spend_if_purchase_p10"] <= ordered_quantiles["spend_if_purchase_p90"]
    ).all()
    again = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    pd.testing.assert_frame_equal(table, again)


def test_btyd_predictions_match_the_fit_of_their_cutoff(btyd_fits, rfm):
    table = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    cutoff = pd.Timestamp("2024-04-01")
    group = rfm[rfm["cutoff_date"] == cutoff]
    fit = btyd.fit_btyd(group, BTYD)
    expected = btyd.predict_btyd(fit, group, BTYD).assign(
        customer_id=group["customer_id"].to_numpy()
    )
    expected = expected.sort_values("customer_id", ignore_index=True)
    got = table[table["cutoff_date"] == cutoff].reset_index(drop=True)
    for column in btyd.PREDICTION_COLUMNS:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, err_msg=column)


def test_a_score_job_keeps_the_rows_of_a_cutoff_whose_inputs_are_unchanged(btyd_fits, rfm):
    """The last build's rows of a cutoff are kept when its fit, settings and RFM rows are the
    same (a marker written into them survives); a cutoff whose RFM rows changed is predicted
    again, so the marker is gone there; kept or not, the rows equal a fresh prediction."""
    fresh = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    assert fresh.groupby("cutoff_date")["prediction_key"].nunique().tolist() == [1, 1, 1]
    assert fresh["prediction_key"].nunique() == 3
    pd.testing.assert_frame_equal(
        tables.btyd_prediction_table(btyd_fits, rfm, BTYD, previous=fresh), fresh
    )

    marked = fresh.assign(predicted_revenue=-1.0)
    changed = rfm.copy()
    backtest = changed["cutoff_role"] == "backtest"
    changed.loc[backtest & (changed["customer_id"] == "1001"), "frequency"] += 1
    again = tables.btyd_prediction_table(btyd_fits, changed, BTYD, previous=marked)
    kept = again.groupby("cutoff_date")["predicted_revenue"].min().lt(0).tolist()
    assert kept == [True, False, True]
    expected = tables.btyd_prediction_table(btyd_fits, changed, BTYD)
    recomputed = again["cutoff_date"] == pd.Timestamp("2024-04-01")
    pd.testing.assert_frame_equal(again[recomputed], expected[recomputed])


@pytest.mark.parametrize(
    "change",
    ["fit", "settings", "customers", "seed"],
)
def test_rows_are_predicted_again_when_anything_they_depend_on_changed(btyd_fits, rfm, change):
    fits, frame, settings = btyd_fits, rfm, BTYD
    if change == "fit":  # a refit one part in 1e12 away
        fits = btyd_fits.assign(r=btyd_fits["r"] * (1 + 1e-12))
    elif change == "settings":
        settings = BtydSettings(horizon_days=91, monthly_discount_rate=0.02)
    elif change == "customers":  # a customer more at every cutoff
        extra = rfm.drop_duplicates("cutoff_date").assign(customer_id="new")
        frame = pd.concat([rfm, extra], ignore_index=True)
    else:
        settings = BtydSettings(horizon_days=91, seed=BTYD.seed + 1)
    previous = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    # a marker in the fitted cutoffs' rows (the unfitted one has no outputs to mark)
    fitted = previous["cutoff_date"] < pd.Timestamp("2024-07-01")
    previous.loc[fitted, "predicted_revenue"] = -1.0
    again = tables.btyd_prediction_table(fits, frame, settings, previous=previous)
    assert (again["predicted_revenue"].dropna() >= 0).all()
    pd.testing.assert_frame_equal(again, tables.btyd_prediction_table(fits, frame, settings))


def test_btyd_cutoff_without_a_fit_has_invalid_rows(btyd_fits, rfm):
    table = tables.btyd_prediction_table(btyd_fits, rfm, BTYD)
    rows = table[table["cutoff_date"] == pd.Timestamp("2024-07-01")]
    assert len(rows) == 40
    assert not rows["is_valid_output"].any()
    assert rows[list(btyd.PREDICTION_COLUMNS)].isna().all().all()


def test_btyd_prediction_table_needs_a_fit_for_every_cutoff(btyd_fits, rfm):
    with pytest.raises(ValueError, match="no BG/NBD fit for cutoff 2024-04-01"):
        tables.btyd_prediction_table(btyd_fits.iloc[[0, 2]], rfm, BTYD)


def test_btyd_tables_of_no_rows(rfm):
    empty = rfm.iloc[0:0]
    fits = tables.btyd_fit_table(empty, BTYD)
    assert fits.empty
    assert "model_version" in fits.columns
    table = tables.btyd_prediction_table(fits, empty, BTYD)
    assert table.empty
    assert list(table.columns) == [
        "cutoff_date",
        "customer_id",
        *btyd.PREDICTION_COLUMNS,
        *tables.SPREAD_COLUMNS,
        "is_valid_output",
        "prediction_key",
    ]


# --- XGBoost ---------------------------------------------------------------------------------


def test_xgboost_fit_table_has_one_row_per_phase_and_target(fits, inputs):
    assert list(zip(fits["phase"], fits["target"], strict=True)) == [
        ("backtest", "spend"),
        ("backtest", "purchase"),
        ("production", "spend"),
        ("production", "purchase"),
    ]
    assert (fits["status"] == "trained").all()
    assert fits["model_json"].notna().all()
    assert fits["model_version"].str.fullmatch(r"xgboost-[\d.]+\+[0-9a-f]{12}").all()
    assert fits["model_version"].nunique() == 4
    assert fits["scored_cutoff_date"].tolist() == ["2024-03-31"] * 2 + ["2024-04-30"] * 2
    assert fits["validation_cutoff"].tolist() == ["2024-03-01"] * 2 + ["2024-03-31"] * 2
    for phase, cutoffs in (("backtest", 3), ("production", 4)):
        train, _ = tables.phase_rows(inputs, phase)
        rows = fits[fits["phase"] == phase].set_index("target")
        assert rows.loc["purchase", "training_rows"] == len(train)
        assert rows.loc["spend", "training_rows"] == (train["label_revenue"] > 0).sum()
        expected = [str(c.date()) for c in CUTOFFS[:cutoffs]]
        assert all(json.loads(t) == expected for t in rows["training_cutoffs"])
    assert set(fits["validation_metric"]) == {"rmse_log_spend", "log_loss"}
    assert (fits["calibration_status"] == "fitted").all()
    # The search runs in the backtest phase; production refits the chosen hyperparameters.
    searches = [json.loads(s) for s in fits["search"]]
    assert [len(s) for s in searches] == [SETTINGS.search_candidates] * 2 + [1, 1]
    assert fits["hyperparameters"].tolist()[2:] == fits["hyperparameters"].tolist()[:2]


def test_xgboost_fit_table_does_not_depend_on_row_order(fits, inputs):
    shuffled = inputs.sample(frac=1, random_state=5)
    again = tables.xgboost_fit_table(shuffled, FEATURES, SETTINGS)
    assert again["model_json"].tolist() == fits["model_json"].tolist()
    assert again["model_version"].tolist() == fits["model_version"].tolist()


def test_xgboost_prediction_table(predictions, inputs, fits):
    assert list(predictions.columns) == [
        "cutoff_date",
        "customer_id",
        "phase",
        "model_version",
        "predicted_revenue",
        "purchase_probability",
        *tables.SPREAD_COLUMNS,
        *DRIVER_COLUMNS,
    ]
    assert len(predictions) == 600
    assert not predictions.duplicated(["phase", "cutoff_date", "customer_id"]).any()
    backtest = predictions[predictions["phase"] == "backtest"]
    production = predictions[predictions["phase"] == "production"]
    assert set(backtest["cutoff_date"]) == {BACKTEST_CUTOFF}
    assert set(production["cutoff_date"]) == {SCORING_CUTOFF}
    expected_ids = sorted(inputs.loc[inputs["cutoff_role"] == "scoring", "customer_id"])
    assert production["customer_id"].tolist() == expected_ids
    assert (predictions["predicted_revenue"] >= 0).all()
    assert predictions["purchase_probability"].between(0, 1).all()
    assert backtest["model_version"].nunique() == production["model_version"].nunique() == 1
    assert backtest["model_version"].iloc[0] != production["model_version"].iloc[0]
    # Drivers only where marketers act: the scoring cutoff.
    assert backtest[DRIVER_COLUMNS].isna().all().all()
    assert production[DRIVER_COLUMNS].notna().all().all()
    for k in (1, 2, 3):
        assert production[f"driver_{k}_feature"].isin(FEATURES).all()
    drivers = production[[f"driver_{k}_feature" for k in (1, 2, 3)]].to_numpy()
    assert all(len(set(row)) == 3 for row in drivers)
    first = production["driver_1_contribution"].abs().to_numpy()
    assert (first >= production["driver_2_contribution"].abs().to_numpy()).all()


def test_xgboost_predictions_are_the_models_predictions(predictions, inputs, fits):
    for phase, role in (("backtest", "backtest"), ("production", "scoring")):
        rows = inputs[inputs["cutoff_role"] == role].sort_values("customer_id")
        spend = _model(fits, phase, boosting.SPEND)
        purchase = _model(fits, phase, boosting.PURCHASE)
        got = predictions[predictions["phase"] == phase]
        probability = boosting.predict_purchase(purchase, rows)
        mu, sigma = boosting.predict_spend(spend, rows)
        np.testing.assert_allclose(got["purchase_probability"], probability)
        np.testing.assert_allclose(
            got["predicted_revenue"], probability * np.exp(mu + sigma**2 / 2), rtol=1e-12
        )
        np.testing.assert_allclose(got["spend_if_purchase_p50"], np.exp(mu), rtol=1e-12)
        if phase == "production":
            # On the log scale of expected revenue: spend SHAP + (1 - p) x purchase SHAP.
            shap = boosting.contributions(spend, rows) + boosting.contributions(purchase, rows).mul(
                1 - probability, axis=0
            )
            expected = boosting.top_drivers(shap).reset_index(drop=True)
            pd.testing.assert_frame_equal(
                got[DRIVER_COLUMNS].reset_index(drop=True), expected, check_dtype=False
            )


def test_xgboost_importance_table(fits, inputs):
    importance = tables.xgboost_importance_table(fits, inputs, sample_rows=10_000, seed=1)
    assert list(importance.columns) == [
        "phase",
        "cutoff_date",
        "target",
        "feature_name",
        "mean_abs_shap",
        "importance_rank",
        "importance_share",
        "model_version",
    ]
    assert len(importance) == 2 * 2 * len(FEATURES)
    for (phase, target), group in importance.groupby(["phase", "target"]):
        assert sorted(group["feature_name"]) == sorted(FEATURES)
        assert group["importance_rank"].tolist() == list(range(1, len(FEATURES) + 1))
        assert group["mean_abs_shap"].is_monotonic_decreasing
        assert group["importance_share"].sum() == pytest.approx(1.0)
        assert group["model_version"].nunique() == 1
        assert group["model_version"].iloc[0] == _model(fits, phase, target).model_version
        cutoff = BACKTEST_CUTOFF if phase == "backtest" else SCORING_CUTOFF
        assert set(group["cutoff_date"]) == {cutoff}


def test_xgboost_importance_sample_is_seeded(fits, inputs):
    def importance(seed: int, sample_rows: int = 60) -> pd.DataFrame:
        return tables.xgboost_importance_table(fits, inputs, sample_rows=sample_rows, seed=seed)

    first = importance(seed=3)
    pd.testing.assert_frame_equal(first, importance(seed=3))
    other = importance(seed=4)
    assert not np.allclose(first["mean_abs_shap"], other["mean_abs_shap"])
    everyone = importance(seed=3, sample_rows=10_000)
    assert not np.allclose(first["mean_abs_shap"], everyone["mean_abs_shap"])
    # A sample at least as large as the scored rows is every scored row, whatever the seed.
    pd.testing.assert_frame_equal(importance(seed=3, sample_rows=300), everyone)


@pytest.fixture(scope="module")
def all_zero_inputs(inputs) -> pd.DataFrame:
    labelled = inputs["is_label_complete"]
    zeros = inputs.copy()
    zeros.loc[labelled, "label_revenue"] = 0.0
    zeros.loc[labelled, "label_has_purchase"] = False
    return zeros


def test_nothing_to_learn_gives_no_models_and_no_rows(all_zero_inputs):
    fits = tables.xgboost_fit_table(all_zero_inputs, FEATURES, SETTINGS)
    assert len(fits) == 4
    assert (fits["status"] == "not_trained").all()
    assert fits["message"].str.contains("nothing to learn").all()
    assert fits["model_json"].isna().all()
    assert fits["model_version"].isna().all()
    predictions = tables.xgboost_prediction_table(fits, all_zero_inputs)
    assert predictions.empty
    assert list(predictions.columns)[:6] == [
        "cutoff_date",
        "customer_id",
        "phase",
        "model_version",
        "predicted_revenue",
        "purchase_probability",
    ]
    importance = tables.xgboost_importance_table(fits, all_zero_inputs, sample_rows=50, seed=1)
    assert importance.empty
    assert "importance_share" in importance.columns


@pytest.fixture(scope="module")
def backtest_untrainable(inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every backtest-training label is zero; the backtest cutoff's labels are not."""
    data = inputs.copy()
    early = data["is_backtest_training_cutoff"]
    data.loc[early, "label_revenue"] = 0.0
    data.loc[early, "label_has_purchase"] = False
    return data, tables.xgboost_fit_table(data, FEATURES, SETTINGS)


def test_a_phase_that_cannot_train_is_recorded(backtest_untrainable):
    _, fits = backtest_untrainable
    assert fits.loc[fits["phase"] == "backtest", "status"].tolist() == ["not_trained"] * 2
    assert fits.loc[fits["phase"] == "production", "status"].tolist() == ["trained"] * 2


def test_a_phase_that_cannot_train_has_no_prediction_rows(backtest_untrainable):
    data, fits = backtest_untrainable
    predictions = tables.xgboost_prediction_table(fits, data)
    assert set(predictions["phase"]) == {"production"}
    assert len(predictions) == 300


def test_a_phase_that_cannot_train_has_no_importance_rows(backtest_untrainable):
    data, fits = backtest_untrainable
    importance = tables.xgboost_importance_table(fits, data, sample_rows=50, seed=1)
    assert set(importance["phase"]) == {"production"}
    assert len(importance) == 2 * len(FEATURES)


# --- evaluation ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    customers = 120
    actual = np.where(rng.uniform(size=customers) < 0.3, rng.gamma(2.0, 30.0, customers), 0.0)
    parts = []
    for name, noise in (("naive", 40.0), ("btyd", 15.0), ("xgboost", 5.0)):
        predicted = np.clip(actual + rng.normal(0, noise, customers), 0, None)
        spend = np.where(predicted > 0, predicted + 5, np.nan if name == "naive" else 5.0)
        parts.append(
            pd.DataFrame(
                {
                    "model_name": name,
                    "customer_id": [f"c{i:04d}" for i in range(customers)],
                    "cutoff_date": BACKTEST_CUTOFF,
                    "predicted_revenue": predicted,
                    "predicted_revenue_point": predicted / 2,
                    "revenue_p10": np.zeros(customers),
                    "revenue_p50": predicted / 2,
                    "revenue_p90": predicted * 2,
                    "spend_if_purchase_p10": spend / 2,
                    "spend_if_purchase_p50": spend,
                    "spend_if_purchase_p90": spend * 2,
                    "purchase_probability": np.clip(
                        (actual > 0) * 0.6 + rng.uniform(0, 0.4, customers), 0, 1
                    ),
                    "actual_revenue": actual,
                    "actual_has_purchase": actual > 0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_backtest_metric_table(outcomes):
    table = tables.backtest_metric_table(outcomes)
    assert list(table.columns) == [
        "cutoff_date",
        "model_name",
        "is_reference",
        *judged.DISTRIBUTION_METRIC_KEYS,
        "mae_log1p_point",
    ]
    names = ["btyd", "naive", "xgboost", "all_zeros", "best_constant"]
    assert table["model_name"].tolist() == names
    assert table["is_reference"].tolist() == [False, False, False, True, True]
    assert set(table["cutoff_date"]) == {BACKTEST_CUTOFF}
    assert (table["n_customers"] == 120).all()
    for row in table.to_dict("records")[:3]:
        group = outcomes[outcomes["model_name"] == row["model_name"]]
        regression = metrics.regression_metrics(
            group["actual_revenue"], group["predicted_revenue"], group["customer_id"]
        )
        classification = metrics.classification_metrics(
            group["actual_has_purchase"], group["purchase_probability"]
        )
        for key, value in {**regression, **classification}.items():
            if key in judged.DISTRIBUTION_METRIC_KEYS:
                assert row[key] == pytest.approx(value), key
        # Each output by its own rule: RMSLE judges the point, not the expectation.
        assert row["rmsle_point"] == pytest.approx(
            metrics.rmsle(group["actual_revenue"], group["predicted_revenue_point"])
        )
        assert row["normalized_gini_low"] <= row["normalized_gini"] <= row["normalized_gini_high"]
    ranked = table.set_index("model_name")["rmse"]
    assert ranked["xgboost"] < ranked["btyd"] < ranked["naive"]
    # Naive's unknown spend (null) counts as outside its range, not as an error.
    naive = table.set_index("model_name").loc["naive"]
    assert 0 <= naive["spend_interval_coverage_80"] < 1
    references = table.set_index("model_name").loc[["all_zeros", "best_constant"]]
    assert (references["normalized_gini"] == 0).all()
    assert references.loc["best_constant", "revenue_ratio"] == pytest.approx(1.0)


def test_backtest_metric_table_per_cutoff_and_in_any_row_order(outcomes):
    later = outcomes.assign(cutoff_date=SCORING_CUTOFF)
    both = pd.concat([later, outcomes], ignore_index=True).sample(frac=1, random_state=2)
    table = tables.backtest_metric_table(both)
    assert list(zip(table["cutoff_date"], table["model_name"], strict=True)) == [
        (cutoff, name)
        for cutoff in (BACKTEST_CUTOFF, SCORING_CUTOFF)
        for name in ("btyd", "naive", "xgboost", "all_zeros", "best_constant")
    ]
    single = tables.backtest_metric_table(outcomes)
    pd.testing.assert_frame_equal(
        table.iloc[:5].drop(columns="cutoff_date").reset_index(drop=True),
        single.drop(columns="cutoff_date"),
    )


def test_settings_come_from_one_rendered_json_object():
    btyd_rendered = (
        '{"horizon_days": 90, "time_unit_days": 7, "penalizers": [0.0, 0.01],'
        ' "clv_months": 12, "monthly_discount_rate": 0.01}'
    )
    assert tables.btyd_settings_from_config(btyd_rendered) == BtydSettings(
        90, 7.0, (0.0, 0.01), 12, 0.01
    )
    boosting_rendered = (
        '{"horizon_days": 90, "seed": 1, "search_candidates": 3, "max_rounds": 10,'
        ' "early_stopping_rounds": 2, "threads": 1}'
    )
    assert tables.boosting_settings_from_config(boosting_rendered).search_candidates == 3
    with pytest.raises(ValueError, match="'clv_months'"):
        tables.btyd_settings_from_config(
            '{"horizon_days": 90, "time_unit_days": 7, "penalizers": [0]}'
        )
    with pytest.raises(ValueError, match="JSON object"):
        tables.boosting_settings_from_config("[1, 2]")
    with pytest.raises(ValueError, match="'btyd_settings' is missing"):
        tables.btyd_settings_from_config(None)
