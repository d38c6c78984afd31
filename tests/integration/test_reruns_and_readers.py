"""Reruns and concurrent readers: a build killed midway never reaches readers, its rerun gives
the same tables as a clean build, and a reader of the published copy keeps reading a
consistent warehouse while the next build runs and is published.

The input is the online-retail fixture in an export folder: first without its last five lines
(build 1), then with a second export holding those five (build 2, incremental, killed midway,
then rerun). A reader process watches the published copy the
whole time: one reader process holds one connection open throughout, another opens a
fresh connection for each look. (They must be two processes: DuckDB shares one open
database between the connections of a process, so a fresh connection in a process that
still holds the old copy open would see the old copy too.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warehouse_builds import FIXTURES, build_warehouse, table_content_hashes

from clv_warehouse.project import PROJECT_DIR, BuildSettings, dbt_executable
from clv_warehouse.publish import PublishError, publish

pytestmark = pytest.mark.integration

AS_OF = "2011-12-10"
FIXTURE = FIXTURES / "online_retail" / "invoice_lines.csv"

# Runs in its own process. Each observation checks that the warehouse it sees reconciles
# (raw rows = kept + rejected, and both tables hold those rows) and says which build it is.
READER = r"""
import json, sys, time, duckdb
published, stop, mode, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
log = open(out, "a")
CHECK = '''
    select
        (select max(invocation_id) from main.clv_builds where status = 'success'),
        r.raw_rows,
        (select count(customer_id) from marts.transactions)
        + (select count(source_row_number) from marts.transaction_rejections),
        r.raw_revenue,
        (select coalesce(sum(line_revenue), 0) from marts.transactions)
        + (select coalesce(sum(line_revenue), 0) from marts.transaction_rejections)
    from marts.ingestion_reconciliation as r
'''
held = duckdb.connect(published, read_only=True) if mode == "held" else None
import os
while not os.path.exists(stop):
    try:
        if held is not None:
            row = held.execute(CHECK).fetchone()
        else:
            with duckdb.connect(published, read_only=True) as fresh:
                row = fresh.execute(CHECK).fetchone()
        build, raw, rows, raw_revenue, revenue = row
        log.write(json.dumps({"mode": mode, "build": build, "raw": raw,
                              "consistent": raw == rows and raw_revenue == revenue}) + "\n")
    except Exception as error:
        log.write(json.dumps({"mode": mode, "error": repr(error)}) + "\n")
    log.flush()
    time.sleep(0.05)
"""


def _dbt_build_killed_midway(work_dir: Path, input_path: Path, warehouse: Path) -> str:
    """Start `dbt build`, kill it (SIGKILL) once the customer-day aggregate is updated."""
    settings = BuildSettings(
        layout="online_retail", input_path=input_path, warehouse_path=warehouse, as_of_date=AS_OF
    )
    env = settings.environment()
    env.update(
        {
            "DBT_TARGET_PATH": str(work_dir / "target-killed"),
            "DBT_LOG_PATH": str(work_dir / "logs-killed"),
            "CLV_DUCKDB_TEMP_DIR": str(work_dir / "duckdb_tmp"),
        }
    )
    process = subprocess.Popen(
        [
            dbt_executable(),
            "build",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
        ],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "OK created sql incremental model intermediate.int_orders_grouped_to_days" in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    assert process.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    return "".join(seen)


def _observations(logs: list[Path]) -> list[list[dict]]:
    return [
        [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        for log in logs
    ]


def _wait_for_looks(logs: list[Path], at_least: list[int], readers) -> None:
    """Wait until each reader has logged at least that many looks. No clock in the
    assertion: on a loaded machine a look can take seconds, so wait for it, not for a time."""
    deadline = time.monotonic() + 600
    while any(len(seen) < n for seen, n in zip(_observations(logs), at_least, strict=True)):
        dead = [reader.args[-2] for reader in readers if reader.poll() is not None]
        assert not dead, f"reader process(es) {dead} stopped: {[r.stderr.read() for r in readers]}"
        assert time.monotonic() < deadline, "the readers logged nothing for 10 minutes"
        time.sleep(0.1)


def _watching(published: Path, action) -> tuple[list[dict], str]:
    """Run action() while two reader processes watch the published copy: each has looked
    before action() starts, and each looks twice more after it ends (so its last look
    began after the last publish)."""
    stop = published.parent / "stop-readers"
    stop.unlink(missing_ok=True)
    logs = [published.parent / f"reader-{mode}.jsonl" for mode in ("held", "fresh")]
    for log in logs:
        log.unlink(missing_ok=True)
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(published), str(stop), mode, str(log)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode, log in zip(("held", "fresh"), logs, strict=True)
    ]
    try:
        _wait_for_looks(logs, [1, 1], readers)
        action()
        _wait_for_looks(logs, [len(seen) + 2 for seen in _observations(logs)], readers)
    finally:
        stop.touch()
        outputs = [reader.communicate(timeout=120) for reader in readers]
    observations = [look for seen in _observations(logs) for look in seen]
    return observations, "".join(errors for _, errors in outputs)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    work = tmp_path_factory.mktemp("reruns")
    lines = FIXTURE.read_text().splitlines(keepends=True)
    # an export folder: the first export, then a second one with five more lines
    exports = work / "exports"
    exports.mkdir()
    (exports / "2011-12-01.csv").write_text("".join(lines[:-5]))
    exports_glob = exports / "*.csv"
    first = build_warehouse(work / "live", "online_retail", exports_glob, as_of_date=AS_OF)
    first.assert_succeeded()
    (exports / "2011-12-09.csv").write_text(lines[0] + "".join(lines[-5:]))
    first_raw = first.rows("select raw_rows from marts.ingestion_reconciliation")[0][0]
    published = publish(first.warehouse, work / "published" / first.warehouse.name).path
    first_hashes = table_content_hashes(published)

    outcome = {}

    def kill_rebuild_and_publish():
        outcome["killed_log"] = _dbt_build_killed_midway(
            work / "live", exports_glob, first.warehouse
        )
        try:
            publish(first.warehouse, published)
        except PublishError as error:
            outcome["refused"] = str(error)
        outcome["hashes_after_kill"] = table_content_hashes(published)
        rerun = build_warehouse(work / "live", "online_retail", exports_glob, as_of_date=AS_OF)
        rerun.assert_succeeded()
        publish(rerun.warehouse, published)
        outcome["rerun"] = rerun

    observations, reader_errors = _watching(published, kill_rebuild_and_publish)
    rerun = outcome["rerun"]
    clean = build_warehouse(work / "clean", "online_retail", exports_glob, as_of_date=AS_OF)
    clean.assert_succeeded()
    return {
        "first_raw": first_raw,
        "second_raw": len(lines) - 1,
        "refused": outcome.get("refused"),
        "first_hashes": first_hashes,
        "hashes_after_kill": outcome["hashes_after_kill"],
        "clean_warehouse": clean.warehouse,
        "rerun_hashes": table_content_hashes(rerun.warehouse),
        "clean_hashes": table_content_hashes(clean.warehouse),
        "history_runs": rerun.rows("select count(distinct run_id) from marts.prediction_history")[
            0
        ][0],
        "published_hashes": table_content_hashes(published),
        "observations": observations,
        "reader_errors": reader_errors,
    }


def test_a_killed_build_is_not_published(scenario):
    assert scenario["refused"] is not None, "publish must refuse an unfinished build"
    assert "never finished" in scenario["refused"]
    assert scenario["hashes_after_kill"] == scenario["first_hashes"]


def test_a_rerun_gives_the_tables_of_a_clean_build(scenario):
    """Every table equals a clean build's, except the prediction history, which by design
    keeps every finished run: build 1 and the rerun, and nothing of the killed build."""
    history = "marts.prediction_history"
    rerun = {
        table: digest for table, digest in scenario["rerun_hashes"].items() if table != history
    }
    clean = {
        table: digest for table, digest in scenario["clean_hashes"].items() if table != history
    }
    assert rerun == clean
    assert scenario["history_runs"] == 2
    assert scenario["published_hashes"] == scenario["rerun_hashes"]


def test_a_reader_keeps_a_consistent_copy_through_rebuild_and_publish(scenario):
    observations = scenario["observations"]
    assert scenario["reader_errors"] == ""
    assert [o for o in observations if "error" in o] == []
    assert all(o["consistent"] for o in observations)
    held = [o["raw"] for o in observations if o["mode"] == "held"]
    fresh = [o["raw"] for o in observations if o["mode"] == "fresh"]
    assert len(held) > 10
    # the held connection keeps the copy it opened; new connections move to the new build
    assert set(held) == {scenario["first_raw"]}
    assert fresh[0] == scenario["first_raw"]
    assert fresh[-1] == scenario["second_raw"]
    assert sorted(fresh) == fresh, "a reader never goes back to an older build"


def test_readers_never_see_a_torn_copy_while_copies_are_published_one_after_another(
    scenario, cdnow_build, tmp_path
):
    """Publish the CDNOW warehouse and the small fixture warehouse in turn, ten times, while
    the readers look: each look must see one whole, reconciled warehouse or the other."""
    published = tmp_path / "published" / "warehouse.duckdb"
    sources = [cdnow_build.warehouse, scenario["clean_warehouse"]]
    publish(sources[0], published)

    def publish_in_turn():
        for turn in range(10):
            publish(sources[(turn + 1) % 2], published)
            time.sleep(0.1)

    observations, reader_errors = _watching(published, publish_in_turn)
    assert reader_errors == ""
    assert [o for o in observations if "error" in o] == []
    assert all(o["consistent"] for o in observations)
    held = {o["raw"] for o in observations if o["mode"] == "held"}
    fresh = {o["raw"] for o in observations if o["mode"] == "fresh"}
    assert len(held) == 1, "a reader that holds the copy open keeps the copy it opened"
    assert len(fresh) == 2, "new readers see each published warehouse"
