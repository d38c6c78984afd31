"""A user's own file in one command: `clv build --input sales.xlsx`, no layout and no mapping
given (issue 27, item 2). The workbook holds the generic fixture's rows; the build guesses the
layout and the columns, says what it used and how to pin it, converts the sheet once, and
rejects exactly the fixture's bad rows with their reasons, at the sheet's row numbers."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
from warehouse_builds import FIXTURES, expected_rejections

pytestmark = pytest.mark.integration

QUICK = '{"xgboost_search_candidates": 1, "xgboost_max_rounds": 30}'


def _cell(text: str):
    """A CSV field as a spreadsheet would hold it: ISO dates as dates, numbers as numbers."""
    try:
        if len(text) >= 10 and text[4] == "-":
            return dt.datetime.fromisoformat(text)
        return float(text) if "." in text else int(text)
    except ValueError:
        return text or None


def _workbook_of_the_generic_fixture(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sales"
    with open(FIXTURES / "generic" / "sales.csv", newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    for _ in range(3):  # the empty rows Excel keeps after the data
        sheet.append([None] * len(header))
    book.create_sheet("Notes").append(["not transactions"])
    book.save(path)
    return path


def _clv(cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLV_") or key in ("CLV_DUCKDB_THREADS", "CLV_DBT_THREADS")
    }
    env.update(
        {
            "DO_NOT_TRACK": "1",
            "DBT_TARGET_PATH": str(cwd / "target"),
            "DBT_LOG_PATH": str(cwd / "logs"),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "clv_warehouse.cli", *arguments],
        cwd=cwd,
        env=env,
        text=True,
        capture_output=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def workbook_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("own_xlsx")
    book = _workbook_of_the_generic_fixture(work / "sales.xlsx")
    warehouse = work / "mine.duckdb"
    result = _clv(
        work,
        "build",
        "--input",
        str(book),
        "--as-of",
        "2021-07-01",
        "--warehouse",
        str(warehouse),
        "--",
        "--vars",
        QUICK,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return work, warehouse, result.stdout


def test_the_build_says_what_it_guessed_and_how_to_pin_it(workbook_build):
    work, _, output = workbook_build
    assert "sheet 'Sales', 15 rows of 6 columns converted" in output
    assert "3 empty rows after the last value left out" in output
    assert "layout      generic (guessed" in output
    assert "customer_id <- client, ordered_at <- sold_at" in output
    assert f"or save these lines as {work / 'clv_columns.yml'}:" in output
    assert "[reconciled]" in output


def test_every_bad_row_of_the_sheet_is_rejected_with_its_reason(workbook_build):
    _, warehouse, _ = workbook_build
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rejected = {
            (Path(file).stem, row, reason)
            for file, row, reason in con.execute(
                "select source_file, source_row_number, rejection_reason"
                " from marts.transaction_rejections"
            ).fetchall()
        }
        (raw, kept, rejected_rows) = con.execute(
            "select raw_rows, kept_rows, rejected_rows from marts.ingestion_reconciliation"
        ).fetchone()
    assert rejected == expected_rejections("generic")
    assert raw == kept + rejected_rows == 15


def test_the_workbook_is_converted_once_into_the_warehouse_folder(workbook_build):
    work, _, _ = workbook_build
    converted = work / "inputs" / "sales" / "sales.parquet"
    assert converted.exists()
    before = converted.stat().st_mtime_ns
    result = _clv(work, "build", "--input", str(work / "sales.xlsx"), "--columns", "bogus")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "not key=column" in result.stderr
    assert converted.stat().st_mtime_ns == before
