"""`clv bench` end to end on a tiny input: every step, stage and ratio is in the results."""

from __future__ import annotations

import json

import duckdb
import pytest

from clv_warehouse import cli
from clv_warehouse.bench.stages import STAGES

pytestmark = pytest.mark.integration


def test_bench_measures_every_step_on_a_tiny_input(tmp_path):
    # --quick: fewer XGBoost candidates and rounds. Each build is one dbt build invocation
    # (the default), split into stages from its run results.
    exit_code = cli.main(
        [
            "bench",
            "--lines",
            "5k",
            "--quick",
            "--work-dir",
            str(tmp_path / "work"),
            "--results-dir",
            str(tmp_path / "results"),
        ]
    )
    results_file = tmp_path / "results" / "online_retail_5k_quick.json"
    results = json.loads(results_file.read_text())
    assert exit_code == 0, json.dumps(results["steps"], indent=1)[-3000:]
    assert results["status"] == "complete"
    steps = results["steps"]
    for name in ("generate", "scan_floor", "dbt_parse", "full_build", "pandas_route"):
        assert steps[name]["status"] == "ok", name
    assert steps["scan_floor"]["result"]["lines"] == 5000
    full = steps["full_build"]
    assert full["invocation"] == "single"
    stages = full["stages"]
    assert [stage["name"] for stage in stages] == [stage.name for stage in STAGES]
    assert all(stage["node_seconds"] > 0 and stage["peak_rss_bytes"] > 0 for stage in stages)
    # the stages partition the invocation's wall time up to its last node
    assert sum(stage["seconds"] for stage in stages) <= full["seconds"]
    assert sum(stage["seconds"] for stage in stages) > full["dbt_elapsed_seconds"] / 2
    # like for like: pandas computed features at every cutoff of stage 3's grid
    with duckdb.connect(str(tmp_path / "work" / "online_retail_5k" / "warehouse.duckdb")) as con:
        (cutoffs,) = con.execute("select count(*) from marts.cutoffs").fetchone()
    assert steps["pandas_route"]["summary"]["cutoffs"] == cutoffs > 1
    assert steps["full_build"]["reconciliation"]["is_reconciled"]
    agreement = steps["pandas_route"]["agreement"]
    assert agreement["agrees"], agreement
    # the daily job: one more day scored with the full build's release, nothing refitted
    first_day, second_day = steps["append_day"]["lines"], steps["append_second_day"]["lines"]
    assert first_day > 0
    assert second_day > 0
    score = steps["score_build"]
    assert score["status"] == "ok", score
    assert score["applied"] == [[score["as_of_date"], full["release_id"]]]
    assert score["reconciliation"]["raw_rows"] == 5000 + first_day
    assert score["reconciliation"]["is_reconciled"]
    fitted = {name for stage in score["stages"] for name, _ in stage["slowest_nodes"]}
    assert not {"clv_warehouse.backtest_metric_values"} & fitted
    assert sum(stage["nodes"].get("unit_test", 0) for stage in score["stages"]) == 0
    incremental = steps["incremental_build"]
    assert incremental["status"] == "ok"
    assert incremental["reconciliation"]["raw_rows"] == 5000 + first_day + second_day
    assert incremental["reconciliation"]["is_reconciled"]
    ratios = results["ratios"]
    for name in (
        "pandas_over_sql_features_time",
        "pandas_one_cutoff_over_sql_features_time",
        "sql_features_over_scan_floor",
        "feature_stage_over_scan_floor",
        "score_over_full_build",
        "incremental_over_full_build",
    ):
        assert ratios[name]["value"] > 0, name
    assert results["machine"]["cpu_cores"]
    assert results["machine"]["duckdb"]
    markdown = results_file.with_suffix(".md").read_text()
    assert "full build 6 reporting" in markdown
    assert "incremental_over_full_build" in markdown
    assert "**score (daily) total**" in markdown
