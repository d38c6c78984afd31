"""Test helpers: build the warehouse with dbt into a temporary DuckDB file and query it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from clv_warehouse.project import PROJECT_DIR, BuildSettings, run_dbt

FIXTURES = PROJECT_DIR / "tests" / "fixtures"

# The generic fixture's own column names, mapped to the canonical ones (also used by make lint).
GENERIC_FIXTURE_COLUMNS = json.loads((FIXTURES / "generic" / "columns.json").read_text())


@dataclass
class Build:
    """One dbt run into its own DuckDB file."""

    result: subprocess.CompletedProcess[str]
    warehouse: Path

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def succeeded(self) -> bool:
        return self.result.returncode == 0

    def assert_succeeded(self) -> Build:
        assert self.succeeded, self.output[-6000:]
        return self

    def rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    def frame(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).df()


def build_warehouse(
    work_dir: Path,
    layout: str,
    input_path: Path | str,
    *,
    as_of_date: str | None = None,
    dbt_args: tuple[str, ...] = ("build",),
    variables: dict | None = None,
    project_dir: Path = PROJECT_DIR,
    extra_env: dict[str, str] | None = None,
) -> Build:
    """Run dbt (build by default) on one input, writing only under work_dir (extra_env: more
    environment variables for dbt, such as TZ)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    settings = BuildSettings(
        layout=layout,
        input_path=Path(input_path),
        warehouse_path=work_dir / "warehouse.duckdb",
        as_of_date=as_of_date,
    )
    arguments = list(dbt_args)
    if variables:
        arguments += ["--vars", json.dumps(variables)]
    result = run_dbt(
        arguments,
        settings,
        project_dir=project_dir,
        capture=True,
        extra_env={
            "DBT_TARGET_PATH": str(work_dir / "target"),
            "DBT_LOG_PATH": str(work_dir / "logs"),
            "CLV_DUCKDB_TEMP_DIR": str(work_dir / "duckdb_tmp"),
            **(extra_env or {}),
        },
    )
    return Build(result=result, warehouse=settings.absolute_warehouse_path())


def expected_rejections(layout: str) -> set[tuple[str, int, str]]:
    frame = pd.read_csv(FIXTURES / layout / "expected_rejections.csv")
    return {
        (row.source_file, int(row.source_row_number), row.rejection_reason)
        for row in frame.itertuples()
    }


# Columns that differ between two runs by design: the run's id and start time, wall times,
# and the audit table's incremental bookkeeping (when each line was loaded and classified).
VOLATILE_COLUMNS = (
    "run_id",
    "run_started_at",
    "fit_seconds",
    "loaded_at",
    "classified_at",
    "classified_through",
)


def table_content_hashes(warehouse: Path) -> dict[str, str]:
    """An order-independent content hash of every table, volatile columns left out."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_type = 'BASE TABLE' and table_schema not in ('main', 'information_schema')
            order by 1, 2
            """
        ).fetchall()
        hashes = {}
        for schema, table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if name not in VOLATILE_COLUMNS
            ]
            projection = ", ".join(f'"{name}"' for name in columns)
            hashes[f"{schema}.{table}"] = con.execute(
                f"""
                select md5(coalesce(string_agg(row_text, '\n' order by row_text), ''))
                from (select cast(row({projection}) as varchar) as row_text
                      from "{schema}"."{table}")
                """
            ).fetchone()[0]
    return hashes
