"""Pure helpers of the benchmark: sizes, ratios, stage assignment, input reuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from clv_warehouse.bench.run import (
    compute_ratios,
    format_size,
    ratio,
    reset_to_first_load,
    reusable_manifest,
    stage_split,
)
from clv_warehouse.bench.stages import STAGE_NUMBERS, StageError, model_stage, plan_stages
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.synthetic import Manifest, append_day, generate, parse_line_count


@pytest.mark.parametrize(
    ("lines", "text"),
    [(20_000, "20k"), (10_000_000, "10m"), (1_500_000, "1.5m"), (1234, "1234"), (10**9, "1b")],
)
def test_size_labels_round_trip(lines, text):
    assert format_size(lines) == text
    assert parse_line_count(text) == lines


def test_ratio_is_none_without_both_numbers():
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0) is None
    assert ratio(1.0, None) is None


def test_ratios_name_their_stages():
    stages = [
        {"stage": n, "name": f"s{n}", "seconds": n, "peak_rss_bytes": 10 * n} for n in STAGE_NUMBERS
    ]
    steps = {
        "scan_floor": {"status": "ok", "seconds": 0.5},
        "full_build": {"status": "ok", "seconds": 21.0, "stages": stages},
        "pandas_route": {"status": "ok", "seconds": 12.0, "peak_rss_bytes": 60},
        "incremental_build": {"status": "ok", "seconds": 7.0, "stages": stages[:1]},
    }
    ratios = compute_ratios(steps)
    assert ratios["pandas_over_sql_features_time"]["value"] == 2.0  # 12 / (1 + 2 + 3)
    assert ratios["pandas_over_sql_features_peak_memory"]["value"] == 2.0  # 60 / 30
    assert ratios["sql_features_over_scan_floor"]["value"] == 12.0
    assert ratios["feature_stage_over_scan_floor"]["value"] == 6.0
    assert ratios["incremental_over_full_build"]["value"] == pytest.approx(1 / 3, abs=1e-4)
    assert ratios["incremental_over_full_stage_1"]["value"] == 1.0
    assert "stages 1+2+3" in ratios["pandas_over_sql_features_time"]["denominator"]
    not_run = compute_ratios({"pandas_route": {"status": "not attempted"}})
    assert not_run["pandas_over_sql_features_time"]["value"] is None


@pytest.mark.parametrize(
    ("name", "path", "stage"),
    [
        ("stg_online_retail__invoice_lines", "models/staging/online_retail/x.sql", 1),
        ("int_transaction_lines_audited", "models/intermediate/x.sql", 1),
        ("transaction_rejections", "models/marts/audit/x.sql", 1),
        ("int_orders_grouped_to_days", "models/intermediate/x.sql", 2),
        ("customer_rfm", "models/marts/customers/x.sql", 3),
        ("btyd_fits", "python_models/btyd/btyd_fits.py", 4),
        ("int_model_inputs", "models/intermediate/x.sql", 5),
        ("xgboost_fits", "python_models/xgboost/xgboost_fits.py", 5),
        ("predictions", "models/marts/predictions/x.sql", 6),
        ("backtest_metric_values", "python_models/evaluation/x.py", 6),
    ],
)
def test_model_stage(name, path, stage):
    assert model_stage(name, path) == stage


def _node(kind, name, path="", parents=()):
    return {
        "resource_type": kind,
        "name": name,
        "original_file_path": path,
        "config": {"enabled": True},
        "depends_on": {"nodes": list(parents)},
    }


def test_tests_run_in_the_stage_of_their_latest_parent():
    manifest = {
        "nodes": {
            "seed.p.codes": _node("seed", "codes"),
            "model.p.transactions": _node("model", "transactions", "models/marts/core/t.sql"),
            "model.p.customer_rfm": _node(
                "model", "customer_rfm", "models/marts/customers/r.sql", ["model.p.transactions"]
            ),
            "test.p.rel": _node(
                "test", "rel", parents=["model.p.customer_rfm", "model.p.transactions"]
            ),
            "test.p.off": {**_node("test", "off", parents=[]), "config": {"enabled": False}},
            "analysis.p.a": _node("analysis", "a"),
        },
        "unit_tests": {
            "unit_test.p.customer_rfm.u": _node("unit_test", "u", parents=["model.p.customer_rfm"])
        },
    }
    plan = plan_stages(manifest)
    assert {node: plan.nodes[node].stage for node in plan.nodes} == {
        "seed.p.codes": 1,
        "model.p.transactions": 1,
        "model.p.customer_rfm": 3,
        "test.p.rel": 3,
        "unit_test.p.customer_rfm.u": 3,
    }
    assert plan.selectors(3) == ["customer_rfm", "rel", "u"]


def test_a_model_reading_a_later_stage_is_refused():
    manifest = {
        "nodes": {
            "model.p.btyd_fits": _node("model", "btyd_fits", "python_models/btyd/b.py"),
            "model.p.customers": _node(
                "model", "customers", "models/marts/customers/c.sql", ["model.p.btyd_fits"]
            ),
        }
    }
    with pytest.raises(StageError, match="stages must follow the DAG"):
        plan_stages(manifest)


def test_every_node_of_the_project_is_in_exactly_one_stage():
    """On the project's own manifest, when a dbt run in this checkout has written one."""
    path = PROJECT_DIR / "target" / "manifest.json"
    if not path.exists():
        pytest.skip("no target/manifest.json (run dbt parse); the integration test covers it")
    manifest = json.loads(path.read_text())
    plan = plan_stages(manifest)  # raises StageError on a gap, a repeat or a misorder
    assert sum(len(plan.unique_ids(n)) for n in STAGE_NUMBERS) == len(plan.nodes)
    assert all(plan.unique_ids(n) for n in STAGE_NUMBERS)


def test_generated_input_is_reused_only_when_it_matches(tmp_path):
    data = tmp_path / "data"
    generate("online_retail", 2000, data, seed=5)
    assert reusable_manifest(data, "online_retail", 2000, 5) is None  # no base copy yet
    (data / "manifest.base.json").write_text((data / "manifest.json").read_text())
    assert reusable_manifest(data, "online_retail", 2000, 5) is not None
    assert reusable_manifest(data, "online_retail", 2000, 6) is None
    assert reusable_manifest(data, "generic", 2000, 5) is None
    assert reusable_manifest(data, "online_retail", 3000, 5) is None
    (data / "lines-00000.parquet").unlink()
    assert reusable_manifest(data, "online_retail", 2000, 5) is None


def test_reset_removes_appended_days(tmp_path):
    data = tmp_path / "data"
    first = generate("online_retail", 2000, data, seed=5)
    append_day(data)
    assert len(list(data.glob("lines-*.parquet"))) == 2
    reset_to_first_load(data, first)
    assert [path.name for path in data.glob("lines-*.parquet")] == ["lines-00000.parquet"]
    assert Manifest.read(data).appended_days == []
    assert Manifest.read(data).as_of_date == first.as_of_date


def _result(unique_id, started, completed, seconds):
    """A run_results entry whose node ran from `started` to `completed` seconds after 12:00:00."""

    def stamp(offset):
        return f"2026-01-01T12:{int(offset) // 60:02d}:{offset % 60:06.3f}Z"

    return {
        "unique_id": unique_id,
        "status": "success",
        "execution_time": seconds,
        "timing": [
            {"name": "compile", "started_at": stamp(started), "completed_at": stamp(started)},
            {"name": "execute", "started_at": stamp(started), "completed_at": stamp(completed)},
        ],
    }


def test_one_invocation_is_split_into_stages_by_when_their_last_node_ended():
    manifest = {
        "nodes": {
            "model.p.transactions": _node("model", "transactions", "models/marts/core/t.sql"),
            "model.p.customer_rfm": _node(
                "model", "customer_rfm", "models/marts/customers/r.sql", ["model.p.transactions"]
            ),
            "model.p.predictions": _node(
                "model", "predictions", "models/marts/predictions/p.sql", ["model.p.customer_rfm"]
            ),
        }
    }
    plan = plan_stages(manifest)
    started_epoch = datetime(2026, 1, 1, 11, 59, 55, tzinfo=UTC).timestamp()  # 5 s of start-up
    results = [
        _result("model.p.transactions", 0, 10, 10.0),
        _result("model.p.customer_rfm", 9, 30, 21.0),  # overlaps the stage before
        _result("model.p.predictions", 31, 40, 9.0),
    ]
    samples = [(t, 100 + t) for t in range(0, 48)]  # resident memory grows by a byte a second
    stages = stage_split(results, plan, started_epoch, samples)
    by_number = {stage["stage"]: stage for stage in stages}
    # stage 1 carries dbt's start-up: 12:00:10 is 15 s after the child started
    assert by_number[1]["seconds"] == pytest.approx(15.0)
    assert by_number[2]["seconds"] == 0.0
    assert by_number[2]["node_seconds"] == 0.0
    assert by_number[3]["seconds"] == pytest.approx(20.0)
    assert by_number[3]["node_seconds"] == pytest.approx(21.0)
    assert by_number[6]["seconds"] == pytest.approx(10.0)
    assert sum(stage["seconds"] for stage in stages) == pytest.approx(45.0)
    # the peak of a stage is the highest sample while it was the open stage
    assert by_number[1]["peak_rss_bytes"] == 115
    assert by_number[3]["peak_rss_bytes"] == 135
    assert by_number[6]["peak_rss_bytes"] == 145
    assert by_number[3]["slowest_nodes"] == [["p.customer_rfm", 21.0]]
