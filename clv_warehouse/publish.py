"""Publish a read-only copy of the warehouse for dashboards and other readers.

DuckDB allows one writer or many readers, never both, so Metabase must not hold the file
dbt writes. ``publish`` copies the warehouse, after a build that finished without a
failure, to a temporary name beside the published copy and renames it into place. A
rename is atomic: a reader opens either the previous copy or the new one, never half of
one, and a reader that already has the previous copy open keeps reading it (the old file
lives on until its last reader closes it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import duckdb

from clv_warehouse.connections import (
    WarehouseBusy,
    busy_message,
    connect_read_only,
    is_lock_conflict,
)
from clv_warehouse.messages import clip
from clv_warehouse.project import PROJECT_DIR

# Tables a dashboard-ready warehouse must have; checked in the copy before it is published.
REQUIRED_TABLES = (
    "marts.customers",
    "marts.predictions",
    "marts.customer_segments",
    "marts.backtest_metrics",
)
BUILD_LOG = "main.clv_builds"
DBT_LOG = PROJECT_DIR / "logs" / "dbt.log"


class PublishError(RuntimeError):
    """The warehouse cannot be published; the message says why and what to do."""


@dataclass(frozen=True)
class Published:
    path: Path
    size_bytes: int
    build_id: str
    build_finished_at: str


def default_published_path(warehouse: Path) -> Path:
    """``published/<name>`` beside the warehouse, or ``CLV_PUBLISHED_PATH``.

    The copy keeps the warehouse's file name: DuckDB names a database after its file, and
    views inside the file refer to that name.
    """
    configured = os.environ.get("CLV_PUBLISHED_PATH")
    if configured:
        return Path(configured).resolve()
    return warehouse.parent / "published" / warehouse.name


def _connect_source(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise PublishError(f"No warehouse at {warehouse}: run `clv build` (or `make run`) first.")
    wal = warehouse.with_name(warehouse.name + ".wal")
    try:
        if wal.exists():
            # Changes left in the write-ahead log (a process ended without closing the
            # file): fold them into the file first, so that the file alone is complete.
            with duckdb.connect(str(warehouse)) as writer:
                writer.execute("checkpoint")
        # A read-only connection shares the file with other readers and keeps a build from
        # starting while the copy is taken.
        return connect_read_only(warehouse)
    except WarehouseBusy as error:
        raise PublishError(str(error)) from error
    except duckdb.IOException as error:
        if is_lock_conflict(error):
            raise PublishError(busy_message(warehouse, error)) from error
        raise


def _latest_build(con: duckdb.DuckDBPyConnection, warehouse: Path) -> tuple[str, str]:
    try:
        row = con.execute(
            f"select invocation_id, status, cast(finished_at as varchar), failed_nodes"
            f" from {BUILD_LOG} order by started_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        row = None
    if row is None:
        raise PublishError(
            f"{warehouse} has no record of a finished build ({BUILD_LOG} is missing):"
            " run `clv build` first."
        )
    build_id, status, finished_at, failed_nodes = row
    if status == "running":
        raise PublishError(
            f"The latest build of {warehouse} ({build_id}) never finished: it was interrupted"
            " or is still running. The published copy is unchanged; rerun `clv build`."
        )
    if status != "success":
        # One failure skips everything downstream: the list can run to thousands of nodes.
        failed = clip(failed_nodes or "no node named", see=f"{BUILD_LOG} and {DBT_LOG}")
        raise PublishError(
            f"The latest build of {warehouse} ({build_id}) failed ({failed}). The"
            " published copy is unchanged; fix the error and rerun `clv build`."
        )
    return build_id, finished_at


def _check_copy(path: Path) -> None:
    with connect_read_only(path) as con:
        present = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        missing = [table for table in REQUIRED_TABLES if table not in present]
        if missing:
            raise PublishError(
                f"The warehouse lacks {', '.join(missing)}: it was not built by a full `clv build`."
            )
        # A build that kept no line stops (clv_check_kept_lines); an older one may not have.
        if con.execute("select count(*) from marts.customers").fetchone()[0] == 0:
            raise PublishError(
                "The warehouse has no customers (marts.customers is empty): every line was"
                " rejected. See marts.rejection_reason_counts, check the as-of date and the"
                " input, and rebuild. The published copy is unchanged."
            )


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(path: Path) -> None:
    """Remove a temporary copy if there is one (its folder may not even exist)."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _unwritable(published: Path, error: OSError) -> PublishError:
    return PublishError(
        f"Cannot write the published copy {published}: {error.strerror or error}"
        f" ({error.filename or published.parent}). Choose a folder you can write with --to"
        " or CLV_PUBLISHED_PATH; the previous published copy, if any, is unchanged."
    )


def publish(warehouse: Path, published: Path | None = None) -> Published:
    """Copy the warehouse to ``published`` atomically; the copy is read-only."""
    published = published or default_published_path(warehouse)
    if published.resolve() == warehouse.resolve():
        raise PublishError(f"The published copy cannot be the warehouse itself ({warehouse}).")
    temporary = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    with _connect_source(warehouse) as con:
        build_id, finished_at = _latest_build(con, warehouse)
        try:
            published.parent.mkdir(parents=True, exist_ok=True)
            # The read-only connection holds the file's shared lock: no writer can start
            # until the copy is complete.
            shutil.copyfile(warehouse, temporary)
        except OSError as error:
            _remove(temporary)
            raise _unwritable(published, error) from error
    try:
        with open(temporary, "rb") as copy:
            os.fsync(copy.fileno())
        _check_copy(temporary)
        os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(temporary, published)
        _fsync_directory(published.parent)
    except OSError as error:
        raise _unwritable(published, error) from error
    finally:
        _remove(temporary)
    return Published(
        path=published,
        size_bytes=published.stat().st_size,
        build_id=build_id,
        build_finished_at=finished_at,
    )
