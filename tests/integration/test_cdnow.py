"""The main job on the embedded default data: the full CDNOW master file."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data
from warehouse_builds import build_warehouse

from clv_warehouse.project import cdnow_master_path
from clv_warehouse.summary import format_summary, read_summary

pytestmark = pytest.mark.integration


def test_every_raw_row_is_reconciled(cdnow_build):
    (raw, kept, rejected, reconciled, raw_revenue, kept_revenue, rejected_revenue) = (
        cdnow_build.rows(
            """
            select raw_rows, kept_rows, rejected_rows, is_reconciled,
                   raw_revenue, kept_revenue, rejected_revenue
            from marts.ingestion_reconciliation
            """
        )[0]
    )
    assert raw == 69_659
    assert kept + rejected == raw
    assert reconciled
    assert raw_revenue == kept_revenue + rejected_revenue
    # The file's only bad lines: 80 purchases of $0.00.
    assert rejected == 80
    assert cdnow_build.rows(
        "select rejection_reason, count(*), sum(line_revenue)"
        " from marts.transaction_rejections group by 1"
    ) == [("zero_or_negative_price", 80, 0)]


def test_identical_lines_are_separate_purchases(cdnow_build):
    """CDNOW has no order numbers: a line repeated in the file is another purchase, kept."""
    repeated_lines, rows = cdnow_build.rows(
        """
        select count(*), sum(copies) from (
            select count(*) as copies
            from marts.transactions
            group by customer_id, order_date, quantity, line_revenue
            having count(*) > 1
        ) as repeated
        """
    )[0]
    assert (repeated_lines, rows) == (215, 470)


def test_customers_and_cutoffs(cdnow_build):
    # 23,570 ids in the file; 68 of them only ever bought for $0.00.
    assert cdnow_build.rows("select count(*) from marts.customers") == [(23_502,)]
    cutoffs = dict(
        cdnow_build.rows(
            "select cutoff_role, max(cast(cutoff_date as varchar)) from marts.cutoffs group by 1"
        )
    )
    assert cutoffs["scoring"] == "1998-07-01"  # the day after the last purchase, 1998-06-30
    assert cutoffs["backtest"] == "1998-04-02"  # 90 days before
    # snapshot_span_days 365 / step 45 -> 9 training cutoffs, the oldest 405 days before the
    # backtest cutoff: the label windows the backtest trains on hold December 1997
    assert cdnow_build.rows(
        "select count(*), min(cast(cutoff_date as varchar)),"
        " count(*) filter (where is_backtest_training_cutoff)"
        " from marts.cutoffs where cutoff_role = 'training'"
    ) == [(9, "1997-02-21", 8)]


def test_rfm_summary_equals_lifetimes_for_every_customer_at_every_cutoff(cdnow_build):
    transactions = cdnow_build.frame(
        "select customer_id, order_date, cast(line_revenue as double) as revenue"
        " from marts.transactions"
    )
    rfm = cdnow_build.frame("select * from marts.customer_rfm")
    cutoffs = sorted(rfm["cutoff_date"].unique())
    assert len(cutoffs) == 11
    for cutoff in cutoffs:
        cutoff = pd.Timestamp(cutoff)
        expected = summary_data_from_transaction_data(
            transactions[transactions["order_date"] < cutoff],
            "customer_id",
            "order_date",
            monetary_value_col="revenue",
            observation_period_end=cutoff - pd.Timedelta(days=1),
        ).sort_index()
        actual = (
            rfm[rfm["cutoff_date"] == cutoff]
            .set_index("customer_id")[["frequency", "recency", "T", "monetary_value"]]
            .sort_index()
        )
        assert list(actual.index) == list(expected.index), f"customers differ at {cutoff.date()}"
        pd.testing.assert_frame_equal(
            actual,
            expected[actual.columns],
            check_exact=False,
            rtol=1e-12,
            atol=1e-9,
            check_names=False,
        )


def test_feature_marts_have_forty_documented_features(cdnow_build):
    catalog = cdnow_build.frame("select * from reference.feature_catalog")
    columns = [
        name
        for (name,) in cdnow_build.rows(
            """
            select column_name from information_schema.columns
            where table_schema = 'marts' and table_name = 'customer_features'
            order by ordinal_position
            """
        )
    ]
    features = [c for c in columns if c not in ("customer_id", "cutoff_date")]
    assert features == list(catalog["feature_name"])
    assert len(features) >= 40
    assert catalog["description"].str.len().min() > 20


def test_summary_names_the_warehouse_and_the_reconciliation(cdnow_build):
    text = format_summary(read_summary(cdnow_build.warehouse))
    assert str(cdnow_build.warehouse) in text
    assert "69,659 raw = 69,579 kept + 80 rejected  [reconciled]" in text
    assert "scoring   1998-07-01 (23,502 customers)" in text


def test_the_demo_summary_warns_of_nothing_and_says_what_drift_compared(cdnow_build):
    """CDNOW is one cohort growing older: between any two cutoffs its tenure and its calendar
    features move. Drift compares one cutoff with one cutoff, and that step with the same step
    of the backtest, so the demo build prints no WARNING (issue 27, item 3)."""
    text = format_summary(read_summary(cdnow_build.warehouse))
    assert "WARNING" not in text, text
    assert (
        "drift       the scoring cutoff 1998-07-01 (23,502 customers) against the training rows"
        " of the latest training cutoff 1998-04-02 (23,502), as the backtest cutoff 1998-04-02"
        " against those of 1998-01-02" in text
    )
    calendar = cdnow_build.rows(
        "select feature_name, is_warned from marts.feature_drift where is_calendar_feature"
        " order by feature_name"
    )
    assert calendar == [
        (name, False)
        for name in sorted(
            [
                "cutoff_month",
                "cutoff_week_of_year",
                "cutoff_year_phase_cos",
                "cutoff_year_phase_sin",
            ]
        )
    ]


def test_docs_generate_and_every_mart_column_is_described(cdnow_build):
    # Same warehouse file, so the catalog is read from the built tables.
    work_dir = cdnow_build.warehouse.parent
    docs = build_warehouse(
        work_dir, "cdnow", cdnow_master_path(), dbt_args=("docs", "generate")
    ).assert_succeeded()
    assert "Catalog written" in docs.output
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text())
    catalog = json.loads((work_dir / "target" / "catalog.json").read_text())
    undescribed = []
    for unique_id, table in catalog["nodes"].items():
        if table["metadata"]["schema"] != "marts":
            continue
        node = manifest["nodes"][unique_id]
        assert node["description"].strip(), f"{node['name']} has no description"
        documented = {name.lower(): column for name, column in node["columns"].items()}
        for column in table["columns"]:
            if not documented.get(column.lower(), {}).get("description", "").strip():
                undescribed.append(f"{node['name']}.{column}")
    assert len({table["metadata"]["name"] for table in catalog["nodes"].values()}) > 10
    assert undescribed == []
