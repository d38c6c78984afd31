"""Same input, same vars: the same tables (run ids and wall times aside), the predictions,
fits, boosters, search and calibration included.

Two builds of a small generated online-retail file, not of CDNOW: the code paths are the
same (the search, the fits, SHAP, calibration, every seed), and two CDNOW builds cost more
of `make test`'s budget than any other test. Data and unit tests write no table, so both
builds skip them; every other test file runs them.
"""

from __future__ import annotations

import pytest
from warehouse_builds import build_warehouse, table_content_hashes

from clv_warehouse.synthetic import generate

pytestmark = pytest.mark.integration

# A real search (two candidates) on a small file: enough to show every seed is fixed.
VARIABLES = {"xgboost_search_candidates": 2, "xgboost_max_rounds": 60}
AS_OF = "2021-12-20"


def test_two_builds_give_identical_tables(tmp_path):
    data = tmp_path / "data"
    generate("online_retail", 50_000, data, seed=11)
    builds = [
        build_warehouse(
            tmp_path / name,
            "online_retail",
            data / "lines-*.parquet",
            as_of_date=AS_OF,
            dbt_args=("build", "--exclude-resource-type", "test", "unit_test"),
            variables=VARIABLES,
        ).assert_succeeded()
        for name in ("first", "second")
    ]
    # The models were really fitted, so their determinism is what is compared.
    assert builds[0].rows(
        "select model_name, status from marts.model_runs where cutoff_role = 'scoring' order by 1"
    ) == [("btyd", "fitted"), ("naive", "fitted"), ("xgboost", "trained")]
    first, second = (table_content_hashes(build.warehouse) for build in builds)
    assert len(first) > 40
    assert {"marts.predictions", "modeling.xgboost_fits", "modeling.btyd_fits"} <= set(first)
    differing = sorted(table for table in first if first[table] != second.get(table))
    assert set(first) == set(second)
    assert differing == []
    # The volatile columns really are the only difference.
    sql = "select distinct run_id from marts.predictions"
    assert builds[0].rows(sql) != builds[1].rows(sql)
