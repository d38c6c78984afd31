"""The same project on Spark and on DuckDB gives the same marts (make test-spark).

Each input (the CDNOW sample, and the fixture file of each layout) is built twice: on DuckDB
(dbt build, as `make test` builds it) and on Spark in local mode (`clv build --target spark`'s
rounds, in this process, so one JVM serves every build). Then every table of the marts schema
is compared (compare.py): the same columns, the same row count, the same keys (every column
that is not a float, compared exactly: ids, counts, dates, decimals, flags, texts), and each
float column within a relative tolerance of 1e-6 (Spark and DuckDB sum doubles in other
orders and round decimal divisions otherwise). XGBoost does not train bit-identical boosters
from features that differ in their last bits, so its own marts and its rows elsewhere are
compared by row count only; levels, segments and lists follow the baseline here
(primary_model: btyd) so that they are compared in full.

To stay within the CI budget the builds train on a short grid (vars FAST_VARS, the same on
both engines); the grid size changes how long training takes, not which SQL runs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from compare import compare_mart, compare_tables, duckdb_tables, spark_tables
from warehouse_builds import FIXTURES, GENERIC_FIXTURE_COLUMNS, build_warehouse

from clv_warehouse.project import PROJECT_DIR, BuildSettings, cdnow_sample_path

pyspark = pytest.importorskip("pyspark", reason="the Spark tests need make .venv/.spark")
if shutil.which("java") is None:
    pytest.skip(
        "Spark needs Java 17 (apt-get install openjdk-17-jre-headless)", allow_module_level=True
    )

FAST_VARS = {
    # levels, segments and lists follow the BG/NBD baseline, which both engines fit alike
    # (XGBoost's boosters differ in their last bits: compare.py)
    "primary_model": "btyd",
    "snapshot_count": 2,
    "snapshot_span_days": 0,
    "snapshot_step_days": 90,
    "xgboost_search_candidates": 2,
    "xgboost_max_rounds": 200,
}

# layout, input, as-of date, vars, whether the Spark build runs the dbt data tests too (the
# fixtures' builds skip them to fit the budget: the DuckDB builds run them on every input)
RUNS = {
    "cdnow_sample": ("cdnow", cdnow_sample_path(), None, {}, True),
    "cdnow_fixture": ("cdnow", FIXTURES / "cdnow" / "*.txt", "1997-12-01", {}, False),
    "online_retail": (
        "online_retail",
        FIXTURES / "online_retail" / "invoice_lines.csv",
        "2011-12-10",
        {},
        False,
    ),
    "generic": (
        "generic",
        FIXTURES / "generic" / "sales.csv",
        "2021-07-01",
        {"generic_columns": GENERIC_FIXTURE_COLUMNS},
        False,
    ),
}


@pytest.fixture(scope="module")
def spark_dir(tmp_path_factory) -> Path:
    """One Spark warehouse and metastore for the module: a JVM opens one Derby metastore."""
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="module")
def duckdb_warehouses(tmp_path_factory) -> dict[str, Path]:
    """The DuckDB build of each run, made once (the broken-dispatch test reuses one)."""
    warehouses: dict[str, Path] = {}

    def warehouse_of(name: str) -> Path:
        if name not in warehouses:
            layout, input_path, as_of_date, variables, _ = RUNS[name]
            warehouses[name] = (
                build_warehouse(
                    tmp_path_factory.mktemp(f"duckdb_{name}"),
                    layout,
                    input_path,
                    as_of_date=as_of_date,
                    variables={**FAST_VARS, **variables},
                )
                .assert_succeeded()
                .warehouse
            )
        return warehouses[name]

    return warehouse_of


def spark_environment(name: str, work_dir: Path, spark_dir: Path, project_dir: Path) -> dict:
    layout, input_path, as_of_date, _, _ = RUNS[name]
    settings = BuildSettings(
        layout=layout,
        input_path=Path(input_path),
        warehouse_path=work_dir / "unused.duckdb",
        as_of_date=as_of_date,
    )
    env = settings.environment(project_dir=project_dir)
    env.update(
        {
            "CLV_TARGET": "spark",
            "CLV_SPARK_DIR": str(spark_dir),
            "CLV_INPUT_PATH": str(input_path),
            "DBT_TARGET_PATH": str(work_dir / "spark_target"),
            "DBT_LOG_PATH": str(work_dir / "spark_logs"),
        }
    )
    return env


@pytest.mark.parametrize("name", list(RUNS))
def test_every_mart_matches_duckdb(name, tmp_path, spark_dir, duckdb_warehouses):
    from clv_warehouse.spark.build import build_on_spark

    _, _, _, variables, with_tests = RUNS[name]
    # --full-refresh: the Spark warehouse is shared by the runs, and prediction_history
    # appends (each DuckDB build is a fresh file)
    arguments = ["--full-refresh", "--vars", json.dumps({**FAST_VARS, **variables})]
    if not with_tests:
        arguments += ["--exclude-resource-type", "test"]
    env = spark_environment(name, tmp_path, spark_dir, PROJECT_DIR)
    build_on_spark(env, arguments, PROJECT_DIR, tmp_path / "stage_scratch")
    on_spark = spark_tables("marts")
    on_duckdb = duckdb_tables(duckdb_warehouses(name), "marts")
    assert sorted(on_spark) == sorted(on_duckdb)
    problems = {
        table: problem
        for table in sorted(on_duckdb)
        if (problem := compare_mart(table, on_duckdb[table], on_spark[table]))
    }
    assert not problems, json.dumps(problems, indent=1)
    # the marts are not empty: the comparison compared something
    assert len(on_duckdb["predictions"]) > 0


def test_a_broken_dispatch_macro_is_caught(tmp_path, spark_dir, duckdb_warehouses):
    """The comparison fails when one Spark macro differs: in a copy of the project whose
    spark__clv_strip_leading_zeros keeps the zeros (as Spark's ltrim(x, '0') silently does
    something else), customer 00001 stays '00001', and the transactions differ."""
    from dbt.cli.main import dbtRunner

    from clv_warehouse.spark.build import dbt_environment

    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(".venv", "target", "logs", "warehouse", ".git", "bench"),
    )
    os.symlink(PROJECT_DIR / ".venv", project / ".venv")
    engine_functions = project / "macros" / "cross_db" / "engine_functions.sql"
    text = engine_functions.read_text()
    broken = text.replace("regexp_replace({{ expression }}, '^0+', '')", "{{ expression }}")
    assert broken != text
    engine_functions.write_text(broken)
    env = spark_environment("cdnow_fixture", tmp_path, spark_dir, project)
    arguments = ["build", "--select", "+transactions", "--exclude-resource-type", "test"]
    with dbt_environment(env):
        result = dbtRunner().invoke(
            [*arguments, "--project-dir", str(project), "--profiles-dir", str(project)]
        )
    assert result.success
    on_duckdb = duckdb_tables(duckdb_warehouses("cdnow_fixture"), "marts")
    on_spark = spark_tables("marts")
    problem = compare_tables(on_duckdb["transactions"], on_spark["transactions"])
    assert problem is not None
    assert "customer_id" in problem
