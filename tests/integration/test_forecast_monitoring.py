"""Forecast monitoring and feature drift on two builds of one small file: the first scores an
early as-of date, the second (incremental, as-of date more than a horizon later) checks that
run's forecast against what customers then spent, and the features against their training
distribution. A 30-day horizon keeps the file small."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from warehouse_builds import build_warehouse

from clv_warehouse.summary import format_summary, read_summary

pytestmark = pytest.mark.integration

HORIZON = 30
FIRST_AS_OF, SECOND_AS_OF = "2021-05-01", "2021-07-01"
QUICK = {
    "horizon_days": HORIZON,
    "snapshot_count": 3,
    "snapshot_span_days": 0,
    "xgboost_search_candidates": 1,
    "xgboost_max_rounds": 30,
    "shap_sample_rows": 500,
}

FIRST_RUN = (
    "build",
    "--exclude-resource-type",
    "test",
    "unit_test",
    "--select",
    "+forecast_monitoring",
    "+feature_drift",
    "+ingestion_reconciliation",
    "+rejection_reason_counts",
    "+customers",
)


def _sales(seed: int = 11) -> pd.DataFrame:
    """80 customers buying every few weeks from 2020 to August 2021, seeded."""
    rng = np.random.default_rng(seed)
    rows, start, end = [], dt.date(2020, 1, 1), dt.date(2021, 8, 31)
    for customer in range(80):
        day = start + dt.timedelta(days=int(rng.integers(0, 300)))
        gap, spend = float(rng.uniform(10, 60)), float(rng.uniform(10, 80))
        while day <= end:
            amount = round(spend * rng.uniform(0.5, 1.5), 2)
            rows.append((f"c{customer:03d}", day.isoformat(), amount))
            day += dt.timedelta(days=1 + int(rng.exponential(gap)))
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    frame.insert(1, "order_id", [f"o{i:05d}" for i in range(len(frame))])
    return frame


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitoring")
    sales = _sales()
    path = root / "sales.csv"
    sales.to_csv(path, index=False)
    work = root / "live"
    # the first run only makes what the second needs and what the summary reads, untested
    first = build_warehouse(
        work,
        "generic",
        path,
        as_of_date=FIRST_AS_OF,
        variables=QUICK,
        dbt_args=FIRST_RUN,
    ).assert_succeeded()
    first_summary = format_summary(read_summary(first.warehouse))
    first_monitoring = first.rows("select count(*) from marts.forecast_monitoring")
    second = build_warehouse(
        work, "generic", path, as_of_date=SECOND_AS_OF, variables=QUICK
    ).assert_succeeded()
    return {
        "sales": sales,
        "first_summary": first_summary,
        "first_monitoring": first_monitoring,
        "second": second,
    }


def test_before_a_horizon_has_passed_the_mart_is_empty_and_the_summary_says_so(monitored):
    assert monitored["first_monitoring"] == [(0,)]
    lines = [line for line in monitored["first_summary"].splitlines() if "  monitoring" in line]
    assert len(lines) == 1
    assert "none yet" in lines[0]


def test_the_early_run_is_checked_against_what_customers_then_spent(monitored):
    sales = monitored["sales"].assign(ordered_at=lambda f: pd.to_datetime(f["ordered_at"]))
    cutoff = pd.Timestamp(FIRST_AS_OF)
    known = set(sales.loc[sales["ordered_at"] < cutoff, "customer_id"])
    in_horizon = sales[
        sales["customer_id"].isin(known)
        & (sales["ordered_at"] >= cutoff)
        & (sales["ordered_at"] < cutoff + pd.Timedelta(days=HORIZON))
    ]
    second = monitored["second"]
    monitoring = second.frame(
        "select * from marts.forecast_monitoring order by model_name"
    ).set_index("model_name")
    assert list(monitoring.index) == ["btyd", "naive", "xgboost"]
    assert (monitoring["cutoff_date"].astype(str) == FIRST_AS_OF).all()
    assert (monitoring["n_customers"] == len(known)).all()
    assert monitoring["realized_revenue"].to_numpy() == pytest.approx(in_horizon["amount"].sum())
    # the first run's forecast, as prediction_history kept it
    predicted = second.frame(
        "select model_name, sum(predicted_revenue) as total from marts.prediction_history"
        f" where cutoff_role = 'scoring' and cutoff_date = '{FIRST_AS_OF}' group by model_name"
    ).set_index("model_name")["total"]
    assert monitoring["predicted_revenue"].to_dict() == pytest.approx(predicted.to_dict())
    ratio = monitoring["realized_revenue"] / monitoring["predicted_revenue"]
    assert monitoring["realized_to_predicted_ratio"].to_numpy() == pytest.approx(ratio.to_numpy())
    assert monitoring["normalized_gini"].notna().all()
    assert monitoring["interval_coverage_80"].between(0, 1).all()
    deciles = second.rows(
        "select model_name, count(*), sum(customers) from marts.forecast_monitoring_deciles"
        " group by model_name order by model_name"
    )
    assert deciles == [(name, 10, len(known)) for name in ("btyd", "naive", "xgboost")]


def test_every_production_feature_gets_a_stability_index(monitored):
    second = monitored["second"]
    drift = second.frame("select * from marts.feature_drift")
    (features,) = second.rows(
        "select features from modeling.xgboost_fits where phase = 'production' and target = 'spend'"
    )[0]
    assert sorted(drift["feature_name"]) == sorted(json.loads(features))
    assert (drift["psi"] >= 0).all()
    assert (drift["scoring_cutoff_date"].astype(str) == SECOND_AS_OF).all()
    assert drift["is_key_feature"].sum() >= 1
    # one cutoff against one cutoff: the training rows are those of the latest training cutoff
    ((latest, eligible),) = second.rows(
        "select cutoff_date, count(*) from marts.training_snapshots"
        " where is_training_eligible and is_label_complete group by cutoff_date"
        " order by cutoff_date desc limit 1"
    )
    assert (drift["training_cutoff_date"].astype(str) == str(latest)).all()
    assert (drift["training_rows"] == eligible).all()
    assert drift["backtest_psi"].notna().all()


def test_the_summary_reports_the_monitored_run(monitored):
    text = format_summary(read_summary(monitored["second"].warehouse))
    assert f"monitoring  run of {FIRST_AS_OF}" in text
    assert "none yet" not in text
