"""The same project on Spark and on DuckDB gives the same marts (make test-spark).

Each input (CDNOW master, and the fixture file of each layout) is built twice: on DuckDB
(dbt build, as `make test` builds it) and on Spark in local mode (`clv build --target spark`'s
rounds, in this process, so one JVM serves every build). Then every table of the marts schema
is compared (compare.py): the same columns, the same row count, the same keys (every column
that is not a float, compared exactly: ids, counts, dates, decimals, flags, texts), and each
float column within a relative tolerance of 1e-6 (Spark and DuckDB sum doubles in other
orders and round decimal divisions otherwise). XGBoost's own marts are compared with that
tolerance too: both engines hand it the same frames, so it trains the same boosters.

To stay within the CI budget the builds train on a short grid (vars FAST_VARS, the same on
both engines); the grid size changes how long training takes, not which SQL runs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from compare import compare_tables, duckdb_tables, spark_tables
from warehouse_builds import FIXTURES, GENERIC_FIXTURE_COLUMNS, build_warehouse

from clv_warehouse.project import PROJECT_DIR, BuildSettings, cdnow_master_path

pyspark = pytest.importorskip("pyspark", reason="the Spark tests need make .venv/.spark")
if shutil.which("java") is None:
    pytest.skip(
        "Spark needs Java 17 (apt-get install openjdk-17-jre-headless)", allow_module_level=True
    )

FAST_VARS = {
    "snapshot_count": 2,
    "snapshot_span_days": 0,
    "snapshot_step_days": 90,
    "xgboost_search_candidates": 2,
    "xgboost_max_rounds": 200,
}

# layout, input, as-of date, vars
RUNS = {
    "cdnow_master": ("cdnow", None, None, {}),
    "cdnow_fixture": ("cdnow", FIXTURES / "cdnow" / "*.txt", "1997-12-01", {}),
    "online_retail": (
        "online_retail",
        FIXTURES / "online_retail" / "invoice_lines.csv",
        "2011-12-10",
        {},
    ),
    "generic": (
        "generic",
        FIXTURES / "generic" / "sales.csv",
        "2021-07-01",
        {"generic_columns": GENERIC_FIXTURE_COLUMNS},
    ),
}


@pytest.fixture(scope="module")
def spark_dir(tmp_path_factory) -> Path:
    """One Spark warehouse and metastore for the module: a JVM opens one Derby metastore."""
    return tmp_path_factory.mktemp("spark")


def build_both(name: str, work_dir: Path, spark_dir: Path, project_dir: Path = PROJECT_DIR):
    """The DuckDB warehouse file and the Spark marts (as frames) of one run."""
    from clv_warehouse.spark.build import build_on_spark

    layout, input_path, as_of_date, variables = RUNS[name]
    input_path = input_path or cdnow_master_path()
    variables = {**FAST_VARS, **variables}
    duck = build_warehouse(
        work_dir / "duckdb",
        layout,
        input_path,
        as_of_date=as_of_date,
        variables=variables,
        project_dir=project_dir,
    ).assert_succeeded()
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
    build_on_spark(env, ["--vars", json.dumps(variables)], project_dir, work_dir / "stage_scratch")
    return duck.warehouse, spark_tables("marts")


@pytest.mark.parametrize("name", list(RUNS))
def test_every_mart_matches_duckdb(name, tmp_path, spark_dir):
    warehouse, on_spark = build_both(name, tmp_path, spark_dir)
    on_duckdb = duckdb_tables(warehouse, "marts")
    assert sorted(on_spark) == sorted(on_duckdb)
    problems = {
        table: problem
        for table in sorted(on_duckdb)
        if (problem := compare_tables(on_duckdb[table], on_spark[table]))
    }
    assert not problems, json.dumps(problems, indent=1)
    # the marts are not empty: the comparison compared something
    assert len(on_duckdb["predictions"]) > 0


def test_a_broken_dispatch_macro_is_caught(tmp_path, spark_dir):
    """The comparison fails when one Spark macro differs: a copy of the project whose
    spark__clv_share_of rounds to 1 decimal (as avg over decimal(2, 1) rounds to 5) gives
    other purchase rates, hence other naive predictions, and compare_tables says so."""
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR,
        project,
        ignore=shutil.ignore_patterns(".venv", "target", "logs", "warehouse", ".git", "bench"),
    )
    os.symlink(PROJECT_DIR / ".venv", project / ".venv")
    (project / "macros" / "zz_broken_dispatch.sql").write_text(
        "{% macro spark__clv_share_of(condition) -%}\n"
        "    round(cast(count_if({{ condition }}) as double) / count(*), 1)\n"
        "{%- endmacro %}\n"
    )
    engine_functions = project / "macros" / "cross_db" / "engine_functions.sql"
    text = engine_functions.read_text()
    start = text.index("{% macro spark__clv_share_of(condition) -%}")
    end = text.index("{%- endmacro %}", start) + len("{%- endmacro %}")
    engine_functions.write_text(text[:start] + text[end:])
    warehouse, on_spark = build_both("cdnow_fixture", tmp_path / "work", spark_dir, project)
    on_duckdb = duckdb_tables(warehouse, "marts")
    assert compare_tables(on_duckdb["predictions"], on_spark["predictions"]) is not None
