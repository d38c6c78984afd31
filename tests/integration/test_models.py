"""The models on the embedded default data: backtest, predictions, levels, segments, Insiders."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from warehouse_builds import build_warehouse

from clv_warehouse.modeling import metrics
from clv_warehouse.project import cdnow_master_path
from clv_warehouse.release_store import keep_release, list_releases

pytestmark = pytest.mark.integration

MODELS = {"naive", "btyd", "xgboost"}


@pytest.fixture(scope="module")
def backtest(cdnow_build) -> pd.DataFrame:
    return cdnow_build.frame(
        "select * from marts.backtest_metrics where not is_reference"
    ).set_index("model_name")


def test_xgboost_beats_the_baseline_out_of_time(backtest):
    """Issue acceptance on the CDNOW backtest (90-day horizon), with the default settings."""
    assert set(backtest.index) == MODELS
    xgboost, btyd = backtest.loc["xgboost"], backtest.loc["btyd"]
    assert xgboost["rmsle"] < btyd["rmsle"]
    assert xgboost["normalized_gini"] > btyd["normalized_gini"]
    assert abs(xgboost["revenue_ratio"] - 1) <= 0.15
    assert (backtest["n_customers"] == 23_502).all()


def test_metrics_can_be_recomputed_from_the_predictions_table(cdnow_build, backtest):
    outcomes = cdnow_build.frame(
        """
        select predictions.model_name, predictions.customer_id, predictions.predicted_revenue,
               predictions.predicted_revenue_point,
               predictions.purchase_probability, snapshots.label_revenue,
               snapshots.label_has_purchase
        from marts.predictions as predictions
        inner join marts.training_snapshots as snapshots
            on predictions.customer_id = snapshots.customer_id
            and predictions.cutoff_date = snapshots.cutoff_date
        where predictions.cutoff_role = 'backtest'
        """
    )
    for model_name, group in outcomes.groupby("model_name"):
        regression = metrics.regression_metrics(
            group["label_revenue"], group["predicted_revenue"], group["customer_id"]
        )
        classification = metrics.classification_metrics(
            group["label_has_purchase"], group["purchase_probability"]
        )
        # RMSLE and MAE of log1p judge the RMSLE-optimal point, not the expectation.
        point = metrics.regression_metrics(
            group["label_revenue"], group["predicted_revenue_point"], group["customer_id"]
        )
        regression.update(rmsle=point["rmsle"], mae_log1p=point["mae_log1p"])
        stored = backtest.loc[model_name]
        for key, value in {**regression, **classification}.items():
            assert stored[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (model_name, key)


def test_predictions_cover_every_customer_once_per_model(cdnow_build):
    rows = cdnow_build.frame(
        """
        select cutoff_role, model_name, count(*) as n, count(distinct customer_id) as customers,
               count(case when is_fallback then 1 end) as fallbacks,
               min(predicted_revenue) as min_revenue,
               count(case when isnan(predicted_revenue) or isnan(purchase_probability)
                          then 1 end) as nans,
               min(purchase_probability) as min_p, max(purchase_probability) as max_p,
               max(p_alive) as max_alive, min(clv) as min_clv
        from marts.predictions group by 1, 2
        """
    )
    assert len(rows) == 6
    assert (rows["n"] == 23_502).all()
    assert (rows["customers"] == 23_502).all()
    assert (rows["fallbacks"] == 0).all()
    assert (rows["nans"] == 0).all()
    assert (rows["min_revenue"] >= 0).all()
    assert (rows["min_p"] >= 0).all()
    assert (rows["max_p"] <= 1).all()
    btyd = rows[rows["model_name"] == "btyd"]
    assert (btyd["max_alive"] <= 1).all()
    assert (btyd["min_clv"] >= 0).all()


def test_every_model_ran_and_the_gamma_gamma_check_is_recorded(cdnow_build):
    runs = cdnow_build.frame("select * from marts.model_runs")
    assert set(runs["status"]) <= {"fitted", "trained"}
    btyd = runs[runs["model_name"] == "btyd"]
    assert btyd["frequency_monetary_correlation"].between(-1, 1).all()
    params = json.loads(btyd["model_parameters"].iloc[0])
    assert {"r", "alpha", "a", "b", "p", "q", "v", "bgnbd_penalizer"} <= set(params)
    boosted = runs[runs["model_name"] == "xgboost"]
    hyper = json.loads(boosted["hyperparameters"].iloc[0])
    assert hyper["spend"]["objective"] == "log_spend:squarederror"
    assert hyper["purchase"]["objective"] == "binary:logistic"
    assert (boosted["training_rows"] > 100_000).all()


def test_baseline_fits_every_cutoff_on_its_own_history(cdnow_build):
    fits = cdnow_build.frame("select * from modeling.btyd_fits order by cutoff_date")
    assert len(fits) == 11  # scoring, backtest and 9 training cutoffs
    assert (fits["status"] == "fitted").all()
    # More history, more customers: fits at later cutoffs see more customers.
    assert fits["customers"].is_monotonic_increasing


def test_feature_importance_and_drivers(cdnow_build):
    importance = cdnow_build.frame(
        "select * from marts.feature_importance where phase = 'production' and target = 'spend'"
        " order by importance_rank"
    )
    assert importance["importance_share"].sum() == pytest.approx(1)
    assert importance["description"].notna().all()
    drivers = cdnow_build.frame(
        "select * from marts.customer_prediction_drivers where cutoff_role = 'scoring'"
    )
    assert len(drivers) == 23_502
    assert set(drivers["driver_1_feature"]) <= set(importance["feature_name"])


def test_a_kept_release_holds_loadable_boosters(cdnow_build, tmp_path):
    """`clv train` keeps the build's release: a row in modeling.model_releases (a copy of the
    warehouse here, so the shared build stays as dbt left it) and one folder of files, whose
    boosters load in plain XGBoost and whose id is the one the predictions carry."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy2(cdnow_build.warehouse, warehouse)
    release, is_new = keep_release(warehouse, tmp_path / "models")
    assert is_new
    assert keep_release(warehouse, tmp_path / "models") == (release, False)
    assert [r.release_id for r in list_releases(warehouse)] == [release.release_id]
    assert release.training_end_date == "1998-07-01"
    assert len(release.training_cutoffs) == 10
    predicted = cdnow_build.frame("select distinct release_id from marts.predictions")
    assert predicted["release_id"].tolist() == [release.release_id]
    folder = tmp_path / "models" / release.release_id
    described = json.loads((folder / "release.json").read_text())
    assert described["feature_contract"]["features"] == release.features
    production = [b for b in described["boosters"] if b["phase"] == "production"]
    spend = next(b for b in production if b["target"] == "spend")
    booster = xgb.Booster()
    booster.load_model(str(folder / spend["file"]))
    assert booster.num_features() == len(release.features)


def test_spend_level_transitions_add_up(cdnow_build):
    transitions = cdnow_build.frame("select * from marts.spend_level_transitions")
    shares = transitions.groupby(["cutoff_date", "model_name", "current_level"])["row_share"].sum()
    assert np.allclose(shares.dropna(), 1)
    per_model = transitions.groupby(["cutoff_date", "model_name"])["customers"].sum()
    assert (per_model == 23_502).all()
    revenue = cdnow_build.frame(
        "select * from marts.spend_level_revenue where cutoff_role = 'scoring'"
        " and model_name = 'xgboost'"
    )
    predicted_total = cdnow_build.rows(
        "select sum(predicted_revenue) from marts.predictions"
        " where cutoff_role = 'scoring' and model_name = 'xgboost'"
    )[0][0]
    assert revenue["predicted_revenue"].sum() == pytest.approx(predicted_total)
    assert revenue["current_customers"].sum() == 23_502
    accuracy = cdnow_build.frame("select * from marts.backtest_level_accuracy")
    assert accuracy.groupby("model_name")["customers"].sum().eq(23_502).all()


def test_segments_and_insiders(cdnow_build):
    segments = cdnow_build.frame("select * from marts.customer_segments")
    assert len(segments) == 23_502
    assert segments["is_high_value"].mean() == pytest.approx(0.10, abs=0.01)
    assert segments["is_churn_risk"].any()
    assert segments["is_missed_opportunity"].any()
    assert not (segments["is_missed_opportunity"] & (segments["revenue_last_horizon"] > 0)).any()
    summary = cdnow_build.frame("select * from marts.insiders_summary").set_index("customer_group")
    insiders = cdnow_build.rows("select count(*) from marts.insiders")[0][0]
    assert summary.loc["insiders", "customers"] == insiders > 0
    assert (
        summary.loc["insiders", "customers"] + summary.loc["everyone_else", "customers"]
        == summary.loc["all_customers", "customers"]
    )
    assert (
        summary.loc["insiders", "predicted_revenue_share"]
        > summary.loc["insiders", "customer_share"]
    )
    assert "purchase days" in summary.loc["insiders", "entry_rule"]


def test_prediction_history_keeps_every_run(cdnow_build, tmp_path):
    """A second run into the same warehouse appends its predictions; the first run's stay."""
    assert cdnow_build.rows(
        "select count(distinct run_id), count(*) from marts.prediction_history"
    ) == [(1, 141_012)]
    work_dir = tmp_path / "rerun"
    work_dir.mkdir()
    shutil.copy(cdnow_build.warehouse, work_dir / "warehouse.duckdb")
    rerun = build_warehouse(
        work_dir,
        "cdnow",
        cdnow_master_path(),
        dbt_args=("run", "--select", "predictions", "prediction_history"),
    ).assert_succeeded()
    runs = rerun.frame(
        "select run_id, count(*) as n, sum(predicted_revenue) as total"
        " from marts.prediction_history group by run_id order by min(run_started_at), run_id"
    )
    assert len(runs) == 2
    assert (runs["n"] == 141_012).all()
    assert runs["total"].iloc[0] == pytest.approx(runs["total"].iloc[1])
    first_run = cdnow_build.rows("select distinct run_id from marts.predictions")[0][0]
    assert first_run in set(runs["run_id"])
