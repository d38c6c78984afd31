"""Publish a read-only copy of the warehouse for dashboards and other readers.

DuckDB allows one writer or many readers, never both, so Metabase must not hold the file
dbt writes. ``publish`` copies the warehouse, after a build that finished without a
failure, into a new **versioned** file beside the published name::

    published/clv_warehouse.duckdb                          a link to the newest version
    published/clv_warehouse.v20261203T081500123456.duckdb   a version, read-only

The published name is a symbolic link to the newest version, swapped by a rename. A rename
is atomic: a reader that opens the published name gets either the previous copy or the new
one, never half of one, and a reader that already has a copy open keeps reading it (a file
lives on until its last reader closes it). ``latest_version`` is the one function that says
which file the published name stands for.

Why a new file name each time: a reader that caches one open database per path never sees a
new file renamed over the old one. Metabase's DuckDB driver does (duckdb-java keeps one
database instance per path for the whole process), so ``clv dashboards`` points Metabase's
connection at the new versioned file, and only then removes the versions before it
(``remove_old_versions``). ``clv publish`` alone keeps the newest ``KEEP_VERSIONS``.

The copy must open in the older DuckDB embedded in Metabase's driver
(docs/dashboards-and-report.md): a warehouse whose storage format that DuckDB reads (DuckDB
writes v1.0.0 by default) is copied byte for byte; one in a newer format is rewritten by
DuckDB into a file in format ``STORAGE_VERSION``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from clv_warehouse.connections import (
    WarehouseBusy,
    busy_message,
    connect_read_only,
    is_lock_conflict,
)
from clv_warehouse.messages import clip, one_line
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.sql_text import sql_identifier, sql_literal

# Tables a dashboard-ready warehouse must have; checked in the copy before it is published.
REQUIRED_TABLES = (
    "marts.customers",
    "marts.predictions",
    "marts.customer_segments",
    "marts.backtest_metrics",
)
BUILD_LOG = "main.clv_builds"
# The DuckDB storage format of the published copy: the oldest DuckDB that must open it is
# the one embedded in the Metabase driver of dashboards/Dockerfile (driver 1.4.3.1 embeds
# DuckDB 1.4.3, which reads formats up to v1.4.0). Raise it with the driver, never beyond.
STORAGE_VERSION = "v1.4.0"
# Versions `clv publish` keeps, the current one included; `clv dashboards` keeps only the
# one it points Metabase at.
KEEP_VERSIONS = 3
_COPY_CATALOG = "clv_publish_copy"
DBT_LOG = PROJECT_DIR / "logs" / "dbt.log"


class PublishError(RuntimeError):
    """The warehouse cannot be published; the message says why and what to do."""


@dataclass(frozen=True)
class Published:
    path: Path  # the published name (a link to ``version``)
    version: Path  # the versioned file written by this publish
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
        return published_name(configured)
    return warehouse.parent / "published" / warehouse.name


def published_name(path: str | Path) -> Path:
    """The published name made absolute, without following it: it is a link to the newest
    version, and a reader that resolved it would stay on one version for good."""
    path = Path(path).expanduser()
    return path.parent.resolve() / path.name


def _version_pattern(published: Path) -> re.Pattern[str]:
    return re.compile(
        re.escape(published.stem) + r"\.v\d{8}T\d{12}" + re.escape(published.suffix) + "$"
    )


def _versioned_name(published: Path) -> Path:
    """``<stem>.v<UTC time to the microsecond><suffix>`` beside the published name.

    DuckDB names a database after its file name up to the first dot, so every version
    keeps the warehouse's database name, which the views and the dashboards' SQL use.
    """
    while True:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        candidate = published.with_name(f"{published.stem}.v{stamp}{published.suffix}")
        if not candidate.exists():
            return candidate


def published_versions(published: Path) -> list[Path]:
    """Every versioned copy of ``published``, oldest first."""
    if not published.parent.is_dir():
        return []
    pattern = _version_pattern(published)
    return sorted(path for path in published.parent.iterdir() if pattern.match(path.name))


def latest_version(published: Path) -> Path:
    """The file the published name stands for now: the version its link names, or the
    published name itself when it is a plain file (a copy made before versions)."""
    if published.is_symlink():
        return published.parent / os.readlink(published)
    return published


def remove_old_versions(
    published: Path, keep: int = 1, older_than: str | None = None
) -> list[Path]:
    """Remove all but the newest ``keep`` versions (with ``older_than``, a version's file
    name: every version before that one instead), never the one the published name stands
    for; return what was removed. A reader that has a removed copy open keeps it."""
    current = latest_version(published)
    versions = published_versions(published)
    if older_than is None:
        old = versions[: max(len(versions) - keep, 0)]
    else:
        old = [path for path in versions if path.name < older_than]
    old = [path for path in old if path != current]
    for path in old:
        _remove(path)
    return old


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


def storage_version(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int] | None:
    """The storage format of the connection's database (``v1.0.0+`` -> (1, 0, 0))."""
    (tags,) = con.execute(
        "select tags from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", (tags or {}).get("storage_version", ""))
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def _readable_by_the_driver(con: duckdb.DuckDBPyConnection) -> bool:
    version = storage_version(con)
    wanted = tuple(int(part) for part in STORAGE_VERSION.lstrip("v").split("."))
    return version is not None and version <= wanted


def _write_copy(warehouse: Path, catalog: str, target: Path) -> None:
    """Write the warehouse into a new file at ``target`` in storage format STORAGE_VERSION.

    The source is attached under its own database name, so views that name it (dbt writes
    ``"<database>"."marts"...``) bind while they are copied and still resolve when the copy
    is opened under its versioned file name.
    """
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(f"attach {sql_literal(warehouse)} as {sql_identifier(catalog)} (read_only)")
        con.execute(
            f"attach {sql_literal(target)} as {_COPY_CATALOG}"
            f" (storage_version {sql_literal(STORAGE_VERSION)})"
        )
        con.execute(f"copy from database {sql_identifier(catalog)} to {_COPY_CATALOG}")
        con.execute(f"detach {_COPY_CATALOG}")


def _point(published: Path, version: Path) -> None:
    """Make the published name a link to ``version``, atomically (a rename)."""
    link = published.with_name(f".{published.name}.{os.getpid()}.link.tmp")
    _remove(link)
    os.symlink(version.name, link)
    try:
        os.replace(link, published)
    finally:
        _remove(link)


def publish(warehouse: Path, published: Path | None = None) -> Published:
    """Write a new read-only versioned copy of the warehouse and point ``published`` at it."""
    published = published or default_published_path(warehouse)
    if published.resolve() == warehouse.resolve():
        raise PublishError(f"The published copy cannot be the warehouse itself ({warehouse}).")
    temporary = published.with_name(f".{published.name}.{os.getpid()}.tmp")
    with _connect_source(warehouse) as con:
        build_id, finished_at = _latest_build(con, warehouse)
        catalog = con.execute("select current_database()").fetchone()[0]
        try:
            published.parent.mkdir(parents=True, exist_ok=True)
            _remove(temporary)
            # The read-only connection holds the file's shared lock: no writer can start
            # until the copy is complete.
            if _readable_by_the_driver(con):
                shutil.copyfile(warehouse, temporary)
            else:
                _write_copy(warehouse, catalog, temporary)
        except OSError as error:
            _remove(temporary)
            raise _unwritable(published, error) from error
        except duckdb.IOException as error:
            _remove(temporary)
            raise PublishError(
                f"Cannot write the published copy {published}: {one_line(str(error))[:300]}."
                " Choose a folder you can write with --to or CLV_PUBLISHED_PATH; the"
                " previous published copy, if any, is unchanged."
            ) from error
    version = _versioned_name(published)
    try:
        with open(temporary, "rb") as copy:
            os.fsync(copy.fileno())
        _check_copy(temporary)
        os.chmod(temporary, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(temporary, version)
        _point(published, version)
        _fsync_directory(published.parent)
    except OSError as error:
        raise _unwritable(published, error) from error
    finally:
        _remove(temporary)
    remove_old_versions(published, keep=KEEP_VERSIONS)
    return Published(
        path=published,
        version=version,
        size_bytes=version.stat().st_size,
        build_id=build_id,
        build_finished_at=finished_at,
    )
