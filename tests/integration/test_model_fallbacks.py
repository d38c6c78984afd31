"""When the data cannot support a model, the build says so and every customer still gets a
prediction: the naive one, flagged with the reason."""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse_builds import build_warehouse

from clv_warehouse.summary import format_summary, read_summary

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def one_time_buyers(tmp_path_factory):
    """40 customers, one purchase each, spread over 400 days: nobody ever buys again."""
    work_dir = tmp_path_factory.mktemp("one_time_buyers")
    lines = ["customer_id,order_id,ordered_at,amount"]
    start = dt.date(2021, 1, 1)
    for i in range(40):
        day = start + dt.timedelta(days=10 * i)
        lines.append(f"c{i:03d},o{i:03d},{day.isoformat()},{20 + i}.00")
    path = work_dir / "sales.csv"
    path.write_text("\n".join(lines) + "\n")
    return build_warehouse(work_dir, "generic", path).assert_succeeded()


def test_the_baseline_says_it_cannot_fit(one_time_buyers):
    statuses = one_time_buyers.rows(
        "select distinct status from modeling.btyd_fits where customers > 0"
    )
    assert statuses == [("no_repeat_buyers",)]
    runs = dict(
        one_time_buyers.rows(
            "select model_name, status from marts.model_runs where cutoff_role = 'scoring'"
        )
    )
    assert runs == {"naive": "fitted", "btyd": "no_repeat_buyers", "xgboost": "not_trained"}


def test_every_customer_still_gets_a_flagged_naive_prediction(one_time_buyers):
    rows = one_time_buyers.frame(
        """
        select model_name, count(*) as n, bool_and(is_fallback) as all_fallback,
               min(fallback_reason) as reason, count(distinct model_version) as versions
        from marts.predictions where cutoff_role = 'scoring' group by 1 order by 1
        """
    ).set_index("model_name")
    assert (rows["n"] == 40).all()
    assert rows.loc["btyd", "all_fallback"]
    assert rows.loc["btyd", "reason"].startswith("no_repeat_buyers: ")
    assert "repeat" in rows.loc["btyd", "reason"]
    assert rows.loc["xgboost", "all_fallback"]
    assert rows.loc["xgboost", "reason"].startswith("not_trained")
    assert not rows.loc["naive", "all_fallback"]


def test_the_summary_warns(one_time_buyers):
    text = format_summary(read_summary(one_time_buyers.warehouse))
    assert "WARNING     btyd at the scoring cutoff: no_repeat_buyers" in text
    assert "WARNING     xgboost at the scoring cutoff: not_trained" in text
