from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from clv_warehouse.summary import (
    CutoffRow,
    ModelRunRow,
    WarehouseSummary,
    format_metrics,
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
