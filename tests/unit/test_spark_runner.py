"""The Python stage on Spark (clv_warehouse/spark/), on small pandas frames: no Java, no Spark.

A dict stands in for Spark's tables; the manifest is a hand-made one shaped like dbt's.
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from clv_warehouse.modeling import stage
from clv_warehouse.spark import build, runner

PROJECT = Path(__file__).resolve().parents[2]


class DictStore:
    """Tables as pandas frames; where/order run in DuckDB, as SQL text, as on Spark."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = dict(tables)
        self.reads: list[tuple[str, str | None, str | None]] = []
        self.writes: list[str] = []

    def read(self, relation, where, order):
        self.reads.append((relation, where, order))
        query = "select * from frame"
        if where:
            query += f" where {where}"
        if order:
            query += f" order by {order}"
        with duckdb.connect() as con:
            con.register("frame", self.tables[relation])
            return con.execute(query).df()

    def write(self, relation, frame):
        self.writes.append(relation)
        self.tables[relation] = frame


def _node(name, schema, folder="models/marts", resource_type="model", config=None):
    return {
        "name": name,
        "schema": schema,
        "alias": name,
        "resource_type": resource_type,
        "original_file_path": f"{folder}/{name}.sql",
        "config": config or {},
    }


def _manifest():
    """a -> (python) p1 -> b -> (python) p2, and c independent; p1 also reads seed s."""
    nodes = {
        "model.x.a": _node("a", "marts"),
        "seed.x.s": _node("s", "reference", "seeds", "seed"),
        "model.x.p1": _node("p1", "modeling", "models/python_stage_on_spark", config={"k": "1"}),
        "model.x.b": _node("b", "intermediate"),
        "model.x.p2": _node("p2", "modeling", "models/python_stage_on_spark", config={"k": "2"}),
        "model.x.c": _node("c", "marts"),
    }
    child_map = {
        "model.x.a": ["model.x.c"],
        "model.x.p1": ["model.x.b", "test.x.not_null_b"],
        "model.x.b": ["model.x.p2"],
        "model.x.p2": [],
        "test.x.not_null_b": [],
    }
    return {"nodes": nodes, "child_map": child_map}


@pytest.fixture
def toy_stage(monkeypatch):
    """Two Python models: p1 reads a and s; p2 reads p1 and b (downstream of p1)."""
    calls = []

    def p1(inputs, config):
        calls.append(("p1", config("k")))
        frame = inputs.ref("a", where="x > 1", order="x desc")
        seed = inputs.ref("s")
        return frame.assign(y=frame["x"] * int(seed["factor"].iloc[0]))

    def p2(inputs, config):
        calls.append(("p2", config("k")))
        upstream = inputs.ref("p1")
        return pd.DataFrame({"total": [upstream["y"].sum() + inputs.ref("b")["z"].sum()]})

    monkeypatch.setattr(runner, "STAGE", {"p1": p1, "p2": p2})
    monkeypatch.setattr(runner, "STAGE_INPUTS", {"p1": ("a", "s"), "p2": ("p1", "b")})
    monkeypatch.setattr(build, "STAGE", {"p1": p1, "p2": p2})
    return calls


def test_plan_reads_relations_configs_and_descendants(toy_stage):
    plan = runner.plan_from_manifest(_manifest())
    assert plan.relations["a"] == "marts.a"
    assert plan.relations["s"] == "reference.s"
    assert plan.configs["p1"] == {"k": "1"}
    assert plan.descendants["p1"] == frozenset({"b", "p2"})
    assert plan.ready("p1", done=set(), unbuilt_after={"p2"})
    # p2 reads b, which is downstream of p1: not before p1 ran and dbt built b
    assert not plan.ready("p2", done=set(), unbuilt_after={"p1"})
    assert plan.ready("p2", done={"p1"}, unbuilt_after=set())


def test_plan_refuses_a_manifest_without_stand_ins(toy_stage):
    manifest = _manifest()
    del manifest["nodes"]["model.x.p2"]
    with pytest.raises(runner.RunnerError, match="p2"):
        runner.plan_from_manifest(manifest)


def test_run_ready_runs_what_it_can_and_writes_the_stage_schema(toy_stage):
    store = DictStore(
        {
            "marts.a": pd.DataFrame({"x": [1, 2, 3]}),
            "reference.s": pd.DataFrame({"factor": [10]}),
        }
    )
    plan = runner.plan_from_manifest(_manifest())
    done, pending = set(), {"p1", "p2"}
    assert runner.run_ready(store, plan, done, pending) == ["p1"]
    assert store.writes == ["python_stage.p1"]
    # the filter and the order were the model's own, run by the store
    assert store.reads[0] == ("marts.a", "x > 1", "x desc")
    assert store.tables["python_stage.p1"]["y"].tolist() == [30, 20]
    # once dbt built b, p2 runs and reads p1 from the stage's own table
    store.tables["intermediate.b"] = pd.DataFrame({"z": [5]})
    assert runner.run_ready(store, plan, done, pending) == ["p2"]
    assert store.tables["python_stage.p2"]["total"].tolist() == [55]
    assert toy_stage == [("p1", "1"), ("p2", "2")]
    assert pending == set()
    assert done == {"p1", "p2"}


def test_the_releases_source_is_refused_in_one_line():
    inputs = runner.StageInputs(DictStore({}), runner.StagePlan({}, {}, {}))
    with pytest.raises(runner.RunnerError, match="clv score"):
        inputs.source("clv_releases", "model_releases")


def test_build_rounds_select_what_each_stage_step_unblocks(toy_stage):
    invoked = []

    def invoke(arguments):
        invoked.append(arguments)
        return True

    done_steps = iter([["p1"], ["p2"]])
    steps = build.build_rounds(
        invoke, ["--full-refresh"], lambda: _manifest(), lambda m, d, p: next(done_steps)
    )
    assert steps == [["p1"], ["p2"]]
    stand_in = "path:models/python_stage_on_spark/{}.sql+".format
    assert invoked == [
        [
            "build",
            "--no-partial-parse",
            "--exclude",
            stand_in("p1"),
            stand_in("p2"),
            "--full-refresh",
        ],
        ["build", "--select", stand_in("p1"), "--exclude", stand_in("p2"), "--full-refresh"],
        ["build", "--select", stand_in("p2"), "--full-refresh"],
    ]


def test_build_rounds_stop_on_a_failed_dbt_round(toy_stage):
    with pytest.raises(runner.RunnerError, match="before the Python stage"):
        build.build_rounds(lambda arguments: False, [], dict, lambda m, d, p: [])


def test_build_rounds_stop_when_nothing_can_run(toy_stage):
    with pytest.raises(runner.RunnerError, match="wait on each other"):
        build.build_rounds(lambda arguments: True, [], dict, lambda m, d, p: [])


def test_frames_cross_parquet_with_the_dtypes_dbt_duckdb_gives(tmp_path):
    """What the stage reads from Spark is what dbt.ref(...).df() gives on DuckDB."""
    with duckdb.connect() as con:
        con.execute(
            "create table t as select * from (values"
            " (date '2020-01-02', 1.5::decimal(18, 4), 7::bigint, 'a', true,"
            " timestamp '2020-01-02 03:04:05'),"
            " (null, null, null, null, null, null)) as v(d, m, n, s, b, ts)"
        )
        expected = con.execute("select * from t").df()
        con.execute(f"copy t to '{tmp_path / 'part-0.parquet'}' (format parquet)")
    frame = runner.read_parquet_frame(tmp_path)
    pd.testing.assert_frame_equal(frame, expected)


def test_frames_written_keep_their_values_and_portable_types(tmp_path):
    frame = pd.DataFrame(
        {
            "cutoff_date": pd.to_datetime(["2020-01-01", "2020-02-01"]),
            "value": [1.25, float("nan")],
            "count": [1, 2],
            "label": ["x", None],
            "when": [pd.Timestamp("2020-01-01 00:00:00.123456789"), pd.NaT],
            "empty": [None, None],
            "amount": [Decimal("1.10"), Decimal("2.20")],
            "day": [dt.date(2020, 1, 1), dt.date(2020, 1, 2)],
        }
    )
    path = tmp_path / "out.parquet"
    runner.write_frame_parquet(frame, path)
    with duckdb.connect() as con:
        types = dict(con.execute(f"select name, type from parquet_schema('{path}')").fetchall())
        described = con.execute(f"describe select * from '{path}'").fetchall()
        kinds = {name: kind for name, kind, *_ in described}
    assert kinds["when"] == "TIMESTAMP"
    assert kinds["cutoff_date"] == "TIMESTAMP"
    # a column of nulls only is typed as dbt-duckdb types it (INTEGER), which Spark reads
    assert kinds["empty"] == "INTEGER"
    assert "INT64" in str(types) or kinds["count"] == "BIGINT"
    back = runner.read_parquet_frame(path)
    assert back["value"].iloc[0] == 1.25
    assert pd.isna(back["value"].iloc[1])
    assert back["label"].tolist()[0] == "x"


def _python_model_calls(path: Path) -> tuple[str, set[str]]:
    """The stage function a dbt Python model calls and the refs it passes (DbtInputs and
    own_table are how it reads them, not what it computes)."""
    tree = ast.parse(path.read_text())
    called, refs = None, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if (
                isinstance(receiver, ast.Name)
                and receiver.id == "stage"
                and node.func.attr not in ("DbtInputs", "own_table")
            ):
                called = node.func.attr
            if node.func.attr == "ref" and isinstance(node.func.value, ast.Name):
                refs.add(node.args[0].value)
    return called, refs


@pytest.mark.parametrize("name", sorted(stage.STAGE))
def test_dbt_python_models_and_the_runner_share_one_function(name):
    """Each dbt Python model is a thin wrapper over the stage function the Spark runner
    calls, and passes exactly the refs the runner waits for."""
    (path,) = PROJECT.glob(f"python_models/*/{name}.py")
    called, refs = _python_model_calls(path)
    assert called == name
    assert refs == set(stage.STAGE_INPUTS[name])
    assert (PROJECT / "models" / "python_stage_on_spark" / f"{name}.sql").exists()


def test_a_missing_java_is_one_line_naming_what_to_install(monkeypatch):
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(build.SparkSetupError, match="openjdk-17"):
        build.check_java()
