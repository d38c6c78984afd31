"""No feature uses data on or after its cutoff.

1. End to end: append transactions dated on and after some cutoffs to the input, rebuild with
   the same as-of date, and the features at every cutoff on or before the appended dates do
   not change (those after do: the appended rows are real data).
2. The dbt leakage test (tests/dbt/assert_features_use_only_data_before_cutoff.sql) can
   fail: in a copy of the project whose feature macro also reads the cutoff day, it does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from warehouse_builds import FIXTURES, GENERIC_FIXTURE_COLUMNS, build_warehouse

from clv_warehouse.project import PROJECT_DIR

pytestmark = pytest.mark.integration

AS_OF = "2021-07-01"  # backtest cutoff 2021-04-02, training cutoffs 2021-03-03 and 2021-02-01
APPENDED_LINES = [
    "C002,2021-03-03,SKU1,1,10.00,S2",  # on a training cutoff
    "C001,2021-04-02,SKU9,5,99.00,S9",  # on the backtest cutoff
    "C007,2021-04-10,SKU1,1,10.00,S1",  # a new customer after it
]
EARLIEST_APPENDED = "2021-03-03"
# The grid of this test: training cutoffs every 30 days, snapshot_count of them, no span.
VARIABLES = {
    "generic_columns": GENERIC_FIXTURE_COLUMNS,
    "snapshot_step_days": 30,
    "snapshot_span_days": 0,
}
FEATURE_COLUMNS_ONLY = (
    "select * exclude (label_revenue, label_purchase_days, label_orders, label_has_purchase)"
    " from marts.training_snapshots where cutoff_date = cast('{cutoff}' as date)"
    " order by customer_id"
)


@pytest.fixture(scope="module")
def appended_input(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("appended") / "sales.csv"
    original = (FIXTURES / "generic" / "sales.csv").read_text()
    path.write_text(original + "\n".join(APPENDED_LINES) + "\n")
    return path


def test_features_ignore_transactions_on_or_after_their_cutoff(tmp_path, appended_input):
    before = build_warehouse(
        tmp_path / "before",
        "generic",
        FIXTURES / "generic" / "sales.csv",
        as_of_date=AS_OF,
        variables=VARIABLES,
    ).assert_succeeded()
    after = build_warehouse(
        tmp_path / "after", "generic", appended_input, as_of_date=AS_OF, variables=VARIABLES
    ).assert_succeeded()

    cutoffs = [
        c
        for (c,) in before.rows("select cast(cutoff_date as varchar) from marts.cutoffs order by 1")
    ]
    assert cutoffs == ["2021-02-01", "2021-03-03", "2021-04-02", AS_OF]
    for cutoff in cutoffs:
        query = FEATURE_COLUMNS_ONLY.format(cutoff=cutoff)
        if cutoff <= EARLIEST_APPENDED:
            assert after.rows(query) == before.rows(query), f"features at {cutoff} changed"
        else:
            assert after.rows(query) != before.rows(query), f"appended rows unseen at {cutoff}"
    # The labels of the cutoff the first line falls on do see it: it is in [C, C + 90 days).
    label = (
        "select label_revenue from marts.training_snapshots"
        " where customer_id = 'C002' and cutoff_date = '2021-03-03'"
    )
    assert after.rows(label)[0][0] == before.rows(label)[0][0] + 10.0


def test_leakage_test_fails_when_a_feature_reads_the_cutoff_day(tmp_path, appended_input):
    project = tmp_path / "leaky_project"
    for name in ("models", "macros", "seeds", "analyses", "python_models", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / name, project / name)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    macro = project / "macros" / "features" / "customer_features_as_of.sql"
    honest = "on customer_days.order_date < cutoff_dates.cutoff_date"
    assert honest in macro.read_text()
    macro.write_text(macro.read_text().replace(honest, honest.replace("<", "<=")))

    leaky = build_warehouse(
        tmp_path / "leaky",
        "generic",
        appended_input,
        as_of_date=AS_OF,
        variables=VARIABLES,
        dbt_args=("build", "--select", "+assert_features_use_only_data_before_cutoff"),
        project_dir=project,
    )
    assert not leaky.succeeded
    assert "FAIL" in leaky.output
    assert "assert_features_use_only_data_before_cutoff" in leaky.output
