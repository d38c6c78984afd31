"""Compile the dashboard questions (analyses/dashboards/) with dbt.

dbt turns each ``ref()`` into the relation name in the warehouse and renders the filters
in Metabase's syntax (var ``metabase_native``). Compilation runs against a scratch DuckDB
file named like the published copy, never against the warehouse or the published copy:
DuckDB names a database after its file, so the relation names match the copy Metabase
reads, and no lock is taken on a file someone else holds.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from clv_warehouse.project import PROJECT_DIR, BuildSettings, run_dbt

DASHBOARD_ANALYSES = "analyses/dashboards/"


class CompileError(RuntimeError):
    """dbt could not compile the dashboard questions."""


@dataclass(frozen=True)
class CompiledDashboards:
    """Compiled SQL and the models read, per analysis; the models each exposure declares;
    the manifest (its models' docs go to Metabase, dbt_docs.py)."""

    sql: dict[str, str]
    reads: dict[str, set[str]]
    exposures: dict[str, set[str]]
    manifest: dict


def _model_names(unique_ids: list[str]) -> set[str]:
    return {unique_id.split(".")[-1] for unique_id in unique_ids}


def compile_dashboard_sql(database_name: str, **kwargs) -> dict[str, str]:
    """Compiled SQL of every dashboard analysis, by analysis name."""
    return compile_dashboards(database_name, **kwargs).sql


def compile_dashboards(
    database_name: str,
    *,
    settings: BuildSettings | None = None,
    project_dir: Path = PROJECT_DIR,
) -> CompiledDashboards:
    """Compile every dashboard analysis with dbt, for a database of this name."""
    settings = settings or BuildSettings.from_environment()
    with tempfile.TemporaryDirectory(prefix="clv-dashboards-") as scratch:
        scratch_dir = Path(scratch)
        scratch_settings = dataclasses.replace(
            settings, warehouse_path=scratch_dir / f"{database_name}.duckdb"
        )
        target = scratch_dir / "target"
        result = run_dbt(
            [
                "compile",
                "--select",
                f"path:{DASHBOARD_ANALYSES}",
                "--vars",
                json.dumps({"metabase_native": True}),
                "--target-path",
                str(target),
            ],
            scratch_settings,
            project_dir=project_dir,
            capture=True,
            extra_env={
                "DBT_LOG_PATH": str(scratch_dir / "logs"),
                "CLV_DUCKDB_TEMP_DIR": str(scratch_dir / "duckdb_tmp"),
            },
        )
        if result.returncode != 0:
            raise CompileError(
                "dbt could not compile the dashboard questions:\n"
                + (result.stdout + result.stderr)[-4000:]
            )
        manifest = json.loads((target / "manifest.json").read_text())
    analyses = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "analysis"
        and node["original_file_path"].startswith(DASHBOARD_ANALYSES)
    ]
    return CompiledDashboards(
        sql={node["name"]: node["compiled_code"] for node in analyses},
        reads={node["name"]: _model_names(node["depends_on"]["nodes"]) for node in analyses},
        exposures={
            exposure["name"]: _model_names(exposure["depends_on"]["nodes"])
            for exposure in manifest["exposures"].values()
        },
        manifest=manifest,
    )
