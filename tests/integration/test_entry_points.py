"""The documented entry points follow each other on one warehouse: `clv build` (`make run`),
plain `dbt build` and `dbt docs generate` (`make docs`), in both orders, on the default
CDNOW input. They used to name the default file differently (clv an absolute path, dbt the
project-relative glob), so the second one found "1 file(s) loaded before are no longer in
the input". Only the models up to the audit table run: that is where the loaded files are
compared. The `clv build` step is the dbt call clv makes (run_dbt with its settings), without
the summary, which needs the marts."""

from __future__ import annotations

import os
import subprocess

import duckdb
import pytest

from clv_warehouse.project import PROJECT_DIR, BuildSettings, dbt_executable, run_dbt

pytestmark = pytest.mark.integration

UP_TO_THE_AUDIT = [
    "--select",
    "+int_transaction_lines_audited",
    "--indirect-selection",
    "cautious",
]


def _plain_dbt(arguments, warehouse, work_dir):
    """dbt as the README says to run it: from the project folder, DBT_PROFILES_DIR=., no
    input setting (the default CDNOW file)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CLV_INPUT_PATH", "CLV_INPUT_LAYOUT", "CLV_AS_OF_DATE")
    }
    env.update(
        {
            "DO_NOT_TRACK": "1",
            "DBT_PROFILES_DIR": ".",
            "CLV_DUCKDB_PATH": str(warehouse),
            "CLV_DUCKDB_TEMP_DIR": str(work_dir / "duckdb_tmp"),
            "DBT_TARGET_PATH": str(work_dir / "target"),
            "DBT_LOG_PATH": str(work_dir / "logs"),
        }
    )
    result = subprocess.run(
        [dbt_executable(), *arguments], cwd=PROJECT_DIR, env=env, text=True, capture_output=True
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def _clv_build(warehouse, work_dir):
    result = run_dbt(
        ["build", *UP_TO_THE_AUDIT],
        BuildSettings(warehouse_path=warehouse),
        capture=True,
        extra_env={
            "DBT_TARGET_PATH": str(work_dir / "target"),
            "DBT_LOG_PATH": str(work_dir / "logs"),
            "CLV_DUCKDB_TEMP_DIR": str(work_dir / "duckdb_tmp"),
        },
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_clv_build_plain_dbt_build_and_docs_generate_follow_each_other(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    _plain_dbt(["build", *UP_TO_THE_AUDIT], warehouse, tmp_path)  # dbt first
    _clv_build(warehouse, tmp_path)  # then clv
    _plain_dbt(["docs", "generate"], warehouse, tmp_path)  # then make docs
    _plain_dbt(["build", *UP_TO_THE_AUDIT], warehouse, tmp_path)  # then dbt again

    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = con.execute(
            "select source_file, count(*) from intermediate.int_transaction_lines_audited"
            " group by source_file"
        ).fetchall()
        recorded = con.execute("select source_file from main.clv_input_files").fetchall()
    # one canonical name for the default file, its 69,659 lines loaded once
    assert len(files) == 1, files
    assert files[0][1] == 69_659
    assert files[0][0].endswith("lifetimes/datasets/CDNOW_master.txt")
    assert recorded == [(files[0][0],)]
