from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from clv_warehouse.summary import (
    CutoffRow,
    DriftRow,
    ModelRunRow,
    MonitoringRow,
    WarehouseSummary,
    format_metrics,
    format_monitoring,
    format_summary,
)


def _summary(**overrides) -> WarehouseSummary:
    values = dict(
        warehouse_path=Path("/w/clv.duckdb"),
        input_layout="cdnow",
        raw_files=1,
        raw_rows=69_659,
        kept_rows=69_579,
        rejected_rows=80,
        raw_revenue=2_500_315.63,
        kept_revenue=2_500_315.63,
        rejected_revenue=0.0,
        is_reconciled=True,
        customers=23_502,
        first_order_date="1997-01-01",
        last_order_date="1998-06-30",
        horizon_days=90,
        rejections_by_reason=[("zero_or_negative_price", 80)],
        cutoffs=[
            CutoffRow("1997-08-05", "training", 23_500),
            CutoffRow("1997-09-04", "training", 23_500),
            CutoffRow("1998-04-02", "backtest", 23_502),
            CutoffRow("1998-07-01", "scoring", 23_502),
        ],
        mart_rows={"transactions": 69_579, "customers": 23_502, "cutoffs": 10},
    )
    values.update(overrides)
    return WarehouseSummary(**values)


def test_summary_lines():
    text = format_summary(_summary(), "/data/CDNOW_master.txt")
    assert "  warehouse   /w/clv.duckdb" in text
    assert "cdnow layout, 1 file(s): /data/CDNOW_master.txt" in text
    assert "69,659 raw = 69,579 kept + 80 rejected  [reconciled]" in text
    assert "zero_or_negative_price 80" in text
    assert "scoring   1998-07-01 (23,502 customers)" in text
    assert "backtest  1998-04-02 (23,502 customers)" in text
    assert "training  2 from 1997-08-05 to 1997-09-04" in text
    assert "cutoffs                          10" in text


def test_summary_shouts_when_not_reconciled():
    assert "[NOT RECONCILED]" in format_summary(_summary(is_reconciled=False))


def test_summary_without_cutoffs_or_rejections():
    text = format_summary(_summary(cutoffs=[], rejections_by_reason=[], rejected_rows=0))
    assert "cutoffs     none" in text
    assert "rejected    " not in text


def test_summary_warns_when_the_primary_model_total_is_out_of_band():
    run = ModelRunRow(
        cutoff_role="backtest",
        model_name="xgboost",
        status="trained",
        message="",
        fallback_predictions=0,
        is_primary_model=True,
        backtest_revenue_ratio=1.93,
        is_backtest_total_out_of_band=True,
    )
    in_band = replace(run, backtest_revenue_ratio=1.03, is_backtest_total_out_of_band=False)
    not_primary = replace(run, model_name="naive", is_primary_model=False)
    lines = format_metrics(_summary(model_runs=[run, in_band, not_primary]))
    warnings = [line for line in lines if "WARNING" in line]
    assert len(warnings) == 1
    assert "xgboost (the primary model) predicted 1.93x" in warnings[0]
    assert "outside [0.8, 1.25]" in warnings[0]


def _monitored(model_name: str, ratio: float | None, *, primary: bool = False) -> MonitoringRow:
    predicted = 100_000.0
    realized = predicted * ratio if ratio is not None else 0.0
    return MonitoringRow(
        cutoff_date="1998-01-01",
        horizon_end_date="1998-04-01",
        model_name=model_name,
        is_primary_model=primary,
        n_customers=23_502,
        predicted_revenue=predicted,
        realized_revenue=realized,
        realized_to_predicted_ratio=ratio,
        is_total_out_of_band=ratio is None or not 0.8 <= ratio <= 1.25,
        normalized_gini=0.61,
        decile_mape=0.2,
        interval_coverage_80=0.79,
        auc=0.8,
    )


def test_monitoring_says_in_one_line_that_no_horizon_has_passed_yet():
    lines = format_monitoring(_summary(monitoring=[], drift=[]))
    assert lines == [
        "  monitoring  none yet: no earlier scoring run's 90-day horizon has passed"
        " (build a later as-of date; marts.forecast_monitoring)"
    ]
    assert lines[0] in format_summary(_summary(monitoring=[], drift=[]))


def test_no_monitoring_lines_for_a_warehouse_without_the_marts():
    assert format_monitoring(_summary()) == []


def test_monitoring_warns_when_the_primary_total_leaves_the_band():
    rows = [
        _monitored("naive", 0.5),
        _monitored("btyd", 1.02),
        _monitored("xgboost", 1.31, primary=True),
    ]
    lines = format_monitoring(_summary(monitoring=rows, monitored_runs=1))
    assert "monitoring  run of 1998-01-01, horizon to 1998-04-01" in lines[0]
    assert any(line.lstrip().startswith("xgboost") and "1.310" in line for line in lines)
    warnings = [line for line in lines if "WARNING" in line]
    assert len(warnings) == 1, "only the primary model's total warns"
    assert "xgboost (the primary model) forecast 100,000" in warnings[0]
    assert "realized / predicted 1.31), outside [0.8, 1.25]" in warnings[0]


@pytest.mark.parametrize(
    ("ratio", "warns"), [(0.8, False), (1.25, False), (0.79, True), (None, True)]
)
def test_the_band_is_inclusive_and_an_undefined_ratio_warns(ratio, warns):
    lines = format_monitoring(_summary(monitoring=[_monitored("xgboost", ratio, primary=True)]))
    assert any("WARNING" in line for line in lines) == warns


def _drift(name, psi, rank, backtest_psi=None, **flags) -> DriftRow:
    key = rank is not None and rank <= 10
    beyond = psi > 0.25 and (backtest_psi is None or psi > 2 * backtest_psi)
    calendar = flags.get("calendar", False)
    return DriftRow(
        name,
        psi,
        rank,
        key,
        psi > 0.25,
        backtest_psi=backtest_psi,
        is_calendar_feature=calendar,
        is_warned=key and beyond and not calendar,
        training_cutoff_date="1998-04-02",
        scoring_cutoff_date="1998-07-01",
        backtest_training_cutoff_date="1998-01-02",
        backtest_cutoff_date="1998-04-02",
        training_rows=23_490,
        scoring_rows=23_502,
    )


def test_drift_says_what_it_compared_with_what():
    drift = [_drift("days_since_first_purchase", 8.31, 3, 8.29), _drift("frequency", 0.05, 1, 0.04)]
    lines = format_monitoring(_summary(monitoring=[], drift=drift))
    assert (
        "  drift       the scoring cutoff 1998-07-01 (23,502 customers) against the training"
        " rows of the latest training cutoff 1998-04-02 (23,490), as the backtest cutoff"
        " 1998-04-02 against those of 1998-01-02" in lines
    )
    assert (
        "              2 features (2 key), 1 with PSI > 0.25, 0 key beyond the backtest's"
        " drift; largest days_since_first_purchase 8.31 (backtest 8.29) (marts.feature_drift)"
        in lines
    )
    assert not [line for line in lines if "WARNING" in line]


def test_drift_warns_of_key_features_beyond_the_backtest_calendar_left_out():
    drift = [
        _drift("cutoff_month", 8.47, 4, 0.1, calendar=True),
        _drift("revenue_last_90d", 0.81, 2, 0.12),
        _drift("days_since_first_purchase", 0.70, 3, 0.66),
        _drift("purchase_days_per_30d", 4.12, 5, 3.75),  # CDNOW's aging cohort: moved as before
        _drift("store_id", 0.53, 30, 0.0),
        _drift("frequency", 0.12, 1, 0.01),
    ]
    lines = format_monitoring(_summary(monitoring=[], drift=drift))
    warnings = [line for line in lines if "WARNING" in line]
    assert warnings == [
        "  WARNING     1 key feature(s) drifted more than in the backtest (PSI > 0.25 and more"
        " than twice the backtest's), so its metrics may not hold for this forecast:"
        " revenue_last_90d 0.81 (backtest 0.12, rank 2) (marts.feature_drift)"
    ]


def test_without_a_backtest_a_drifted_key_feature_warns():
    drift = [replace(_drift("revenue_last_90d", 0.41, 2), backtest_training_cutoff_date=None)]
    lines = format_monitoring(_summary(drift=drift))
    assert lines[0].endswith("(23,490), no backtest to compare with")
    (warning,) = [line for line in lines if "WARNING" in line]
    assert "revenue_last_90d 0.41 (backtest n/a, rank 2)" in warning


def test_many_drifted_key_features_are_one_line():
    drift = [_drift(f"f{k}", 2.0 - k / 10, k) for k in range(1, 9)]
    warnings = [line for line in format_monitoring(_summary(drift=drift)) if "WARNING" in line]
    assert len(warnings) == 1
    assert "8 key feature(s) drifted" in warnings[0]
    assert "f5 1.50 (backtest n/a, rank 5) and 3 more (marts.feature_drift)" in warnings[0]


def test_no_drift_warning_when_key_features_are_stable():
    drift = [_drift("frequency", 0.05, 1)]
    assert not [line for line in format_monitoring(_summary(drift=drift)) if "WARNING" in line]
