"""Incremental refresh: a build after one more day of lines (with late-arriving lines and
copies of loaded lines) reads only the new file and gives the tables of a full rebuild on
the same files; what would break that equality stops the build with what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from warehouse_builds import build_warehouse, table_content_hashes

from clv_warehouse.synthetic import append_day, generate

pytestmark = pytest.mark.integration

# Small models: this test is about the data path, not the fits.
QUICK = {"xgboost_search_candidates": 1, "xgboost_max_rounds": 30, "shap_sample_rows": 500}
LOADED_FILES = """
    select source_file, count(*), max(loaded_at)
    from intermediate.int_transaction_lines_audited
    group by source_file
    order by source_file
"""


def _manifest(directory: Path) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def _build(work: Path, manifest: dict, **kwargs):
    return build_warehouse(
        work,
        "online_retail",
        manifest["input_glob"],
        as_of_date=manifest["as_of_date"],
        variables=QUICK,
        **kwargs,
    )


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    data = root / "data"
    # seed 7 gives the appended day both late lines and copies of loaded lines
    generate("online_retail", 50_000, data, seed=7)
    first = _build(root / "live", _manifest(data)).assert_succeeded()
    loaded_before = first.rows(LOADED_FILES)
    append_day(data)
    manifest = _manifest(data)
    incremental = _build(root / "live", manifest).assert_succeeded()
    full = _build(root / "full", manifest).assert_succeeded()
    return {
        "root": root,
        "data": data,
        "manifest": manifest,
        "loaded_before": loaded_before,
        "incremental": incremental,
        "full": full,
    }


def test_the_appended_day_has_late_lines_and_copies(refreshed):
    (appended,) = refreshed["manifest"]["appended_days"]
    assert appended["late_lines"] > 0
    assert appended["duplicate_lines"] > 0


def test_an_incremental_build_equals_a_full_rebuild(refreshed):
    incremental = table_content_hashes(refreshed["incremental"].warehouse)
    full = table_content_hashes(refreshed["full"].warehouse)
    # the prediction history keeps every run by design: two in the incremental warehouse
    history = "marts.prediction_history"
    assert {k: v for k, v in incremental.items() if k != history} == {
        k: v for k, v in full.items() if k != history
    }
    reconciliation = "select * from marts.ingestion_reconciliation"
    assert refreshed["incremental"].rows(reconciliation) == refreshed["full"].rows(reconciliation)


def test_copies_of_loaded_lines_are_rejected_as_duplicates(refreshed):
    (appended,) = refreshed["manifest"]["appended_days"]
    day_file = str(refreshed["data"] / appended["file"])
    duplicates = refreshed["incremental"].rows(
        "select count(*) from marts.transaction_rejections"
        f" where rejection_reason = 'duplicate_line' and source_file = '{day_file}'"
    )
    assert duplicates == [(appended["duplicate_lines"],)]


def test_only_the_new_file_was_loaded(refreshed):
    """The lines of the first load keep the time they were loaded; only the new file's are new."""
    after = refreshed["incremental"].rows(LOADED_FILES)
    before = {file: (rows, loaded) for file, rows, loaded in refreshed["loaded_before"]}
    new = [row for row in after if row[0] not in before]
    assert len(new) == 1
    assert all(before[file] == (rows, loaded) for file, rows, loaded in after if file in before)
    assert new[0][2] > max(loaded for _, loaded in before.values())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("remove_a_loaded_file", "no longer in the input"),
        ("add_a_file_sorting_first", "sorts before"),
        ("move_the_as_of_date_back", "is earlier than in the last build"),
    ],
)
def test_what_would_break_equality_stops_the_build(refreshed, tmp_path, change, message):
    work = tmp_path / "live"
    shutil.copytree(refreshed["incremental"].warehouse.parent, work, dirs_exist_ok=True)
    data = tmp_path / "data"
    shutil.copytree(refreshed["data"], data)
    manifest = {
        "input_glob": str(data / "lines-*.parquet"),
        "as_of_date": refreshed["manifest"]["as_of_date"],
    }
    # the copied warehouse names the original files: point it at the copies
    with duckdb.connect(str(work / "warehouse.duckdb")) as con:
        con.execute(
            "update intermediate.int_transaction_lines_audited"
            " set source_file = replace(source_file, ?, ?)",
            [str(refreshed["data"]), str(data)],
        )
    if change == "remove_a_loaded_file":
        sorted(data.glob("lines-0*.parquet"))[0].unlink()
    elif change == "add_a_file_sorting_first":
        shutil.copy(sorted(data.glob("lines-0*.parquet"))[0], data / "lines-.parquet")
    else:
        manifest["as_of_date"] = "2021-06-01"
    build = build_warehouse(
        work,
        "online_retail",
        manifest["input_glob"],
        as_of_date=manifest["as_of_date"],
        variables=QUICK,
    )
    assert not build.succeeded
    assert message in build.output
    assert "--full-refresh" in build.output
