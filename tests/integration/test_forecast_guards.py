"""Guards that speak: a build whose data breaks a model's assumptions succeeds, and says so in
model_runs and in the summary, with rows that fall back visibly. (The history shorter than
the horizon is test_bad_input.py::test_a_single_day_of_data.)"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from warehouse_builds import build_warehouse

from clv_warehouse.summary import format_summary, read_summary

pytestmark = pytest.mark.integration

AS_OF = dt.date(2022, 7, 1)
BACKTEST_CUTOFF = AS_OF - dt.timedelta(days=90)


@pytest.fixture(scope="module")
def nobody_churns_then_buying_drops(tmp_path_factory):
    """150 customers who all keep buying (a purchase every 10 to 40 days on average, nobody
    ever stops) for 18 months, until buying falls to a third in the last 90 days (the
    backtest horizon). BG/NBD has no churn to fit; every model trained on the earlier
    cutoffs expects the old rate."""
    work_dir = tmp_path_factory.mktemp("guards")
    rng = np.random.default_rng(20261202)
    lines = ["customer_id,order_id,ordered_at,amount"]
    order = 0
    for customer in range(150):
        mean_gap = rng.uniform(10, 40)
        day = dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 30)))
        while day < AS_OF:
            order += 1
            lines.append(f"c{customer:03d},o{order:05d},{day.isoformat()},{rng.gamma(4, 8):.2f}")
            gap = rng.exponential(mean_gap * (3 if day >= BACKTEST_CUTOFF else 1))
            day += dt.timedelta(days=max(1, int(gap)))
    path = work_dir / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    return build_warehouse(
        work_dir, "generic", path, as_of_date=AS_OF.isoformat()
    ).assert_succeeded()


def test_a_fit_where_nobody_churns_is_degenerate_and_falls_back_visibly(
    nobody_churns_then_buying_drops,
):
    build = nobody_churns_then_buying_drops
    ((status, message),) = build.rows(
        "select status, message from marts.model_runs"
        " where model_name = 'btyd' and cutoff_role = 'backtest'"
    )
    assert status == "degenerate"
    assert "nobody churns" in message
    assert "falls back to naive" in message
    fallbacks = build.rows(
        "select count(*), bool_and(is_fallback), min(fallback_reason) from marts.predictions"
        " where model_name = 'btyd' and cutoff_role = 'backtest'"
    )
    assert fallbacks[0][0] == 150
    assert fallbacks[0][1] is True
    assert fallbacks[0][2].startswith("degenerate: BG/NBD + Gamma-Gamma fit is degenerate")


def test_a_drifting_purchase_rate_is_flagged_and_warned(nobody_churns_then_buying_drops):
    build = nobody_churns_then_buying_drops
    ((ratio, flagged, primary),) = build.rows(
        "select backtest_revenue_ratio, is_backtest_total_out_of_band, is_primary_model"
        " from marts.model_runs where model_name = 'xgboost' and cutoff_role = 'backtest'"
    )
    assert primary is True
    assert ratio > 1.25
    assert flagged is True
    text = format_summary(read_summary(build.warehouse))
    assert f"WARNING     xgboost (the primary model) predicted {ratio:.2f}x" in text
    assert "WARNING     btyd at the backtest cutoff: degenerate" in text


def test_every_model_keeps_its_probabilities_inside_0_and_1_and_its_counts_consistent(
    nobody_churns_then_buying_drops,
):
    ((low, high, inconsistent),) = nobody_churns_then_buying_drops.rows(
        "select min(purchase_probability), max(purchase_probability),"
        " count(case when expected_purchases + 1e-6 < purchase_probability then 1 end)"
        " from marts.predictions"
    )
    assert low > 0
    assert high < 1
    assert inconsistent == 0
