"""The published copy as ``clv serve`` reads it: one open snapshot, swapped when a publish
replaces the file.

``clv publish`` renames a new copy over the old one (os.replace). Every request stats the
path (microseconds); when the file there is not the one open (device, inode, mtime, size),
the first request to notice starts a background thread that opens the new file
(``open_snapshot``: a fresh DuckDB instance, so DuckDB's per-path instance cache cannot
hand back the old copy), reads what responses need (``describe``), makes it current and
retires the old snapshot. Meanwhile requests keep reading the old one; those already
reading it finish on it, and the last of them closes it. No request waits for a publish
and none fails. Only when no snapshot is open yet does a request wait for the opening
(``acquire``, which the app runs off the event loop).

A missing, unreadable or incomplete copy makes the server ``Unavailable`` (503) until a
good copy appears; a copy that cannot be opened while a good one is open leaves the good
one serving.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from clv_warehouse.connections import WarehouseBusy, open_snapshot
from clv_warehouse.messages import one_line

# The catalog name queries use for the attached copy (connections.open_snapshot).
CATALOG = "published"
# Tables the API reads; a copy without one of them is not served.
REQUIRED_TABLES = (
    "marts.predictions",
    "marts.customer_spend_levels",
    "marts.customer_segments",
    "marts.customer_lists",
    "marts.customer_prediction_drivers",
    "marts.model_runs",
)
log = logging.getLogger("clv.serve")


class Unavailable(RuntimeError):
    """No published copy can be served; the message says why and what to do."""


def file_identity(path: Path) -> tuple[int, int, int, int]:
    """What changes when a publish renames a new file over ``path``."""
    status = os.stat(path)
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


@dataclass(eq=False)
class Snapshot:
    """One open published copy, its facts read once, and the requests reading it."""

    identity: tuple[int, int, int, int]
    con: duckdb.DuckDBPyConnection
    info: dict[str, Any]
    users: int = 0
    retired: bool = False
    _local: threading.local = field(default_factory=threading.local)
    _cursors: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the snapshot (a DuckDB connection is one per thread)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                cursor = self.con.cursor()
                self._cursors.append(cursor)
            self._local.cursor = cursor
        return cursor

    def close(self) -> None:
        with self._lock:
            for cursor in self._cursors:
                with contextlib.suppress(duckdb.Error):
                    cursor.close()
            self._cursors.clear()
            self.con.close()


def table(name: str) -> str:
    """A mart's name as queries write it: ``published.marts.predictions``."""
    return f"{CATALOG}.{name}"


class PublishedCopy:
    """The published file at ``path``, reopened whenever a publish replaces it.

    ``describe`` reads the facts every response carries (as-of date, release) once per
    snapshot; it gets a cursor and returns a dict.
    """

    def __init__(
        self, path: Path, describe: Callable[[duckdb.DuckDBPyConnection], dict[str, Any]]
    ) -> None:
        self.path = path
        self._describe = describe
        self._current: Snapshot | None = None
        self._lock = threading.Lock()  # guards _current and every snapshot's users
        self._swap_lock = threading.Lock()  # one opener at a time
        self.swaps = 0
        # The file that could not be opened, and why: not tried again until it changes.
        self._failed: tuple[tuple[int, int, int, int], Unavailable] | None = None

    def _missing(self) -> Unavailable:
        return Unavailable(
            f"No published copy at {self.path}: build the warehouse and run `clv publish`"
            " (or point CLV_PUBLISHED_PATH / --published at the copy)."
        )

    def _open(self, identity: tuple[int, int, int, int]) -> Snapshot:
        con = open_snapshot(self.path, CATALOG)
        try:
            # The file could have been replaced between the stat and the attach: the
            # snapshot must describe the file it opened.
            if file_identity(self.path) != identity:
                raise _Replaced
            present = {
                f"{schema}.{name}"
                for schema, name in con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = ?",
                    [CATALOG],
                ).fetchall()
            }
            missing = [name for name in REQUIRED_TABLES if name not in present]
            if missing:
                raise Unavailable(
                    f"The published copy {self.path} lacks {', '.join(missing)}: it was not"
                    " made by a full `clv build`. Rebuild, then run `clv publish`."
                )
            info = {**self._describe(con), "published_at": _modified_at(identity)}
        except BaseException:
            con.close()
            raise
        return Snapshot(identity=identity, con=con, info=info)

    def _refresh(self) -> None:
        """Open the file now at the path if it is not the current snapshot (the caller
        holds the swap lock)."""
        for _attempt in range(5):
            try:
                identity = file_identity(self.path)
            except FileNotFoundError:
                self._retire_current()
                raise self._missing() from None
            except OSError as error:
                raise Unavailable(
                    f"Cannot read the published copy {self.path}: {error.strerror}."
                ) from error
            current = self._current
            if current is not None and current.identity == identity:
                return
            if self._failed is not None and self._failed[0] == identity:
                if current is None:
                    raise self._failed[1]
                return
            try:
                snapshot = self._open(identity)
            except _Replaced:
                continue
            except (duckdb.Error, WarehouseBusy, OSError, Unavailable) as error:
                problem = (
                    error
                    if isinstance(error, Unavailable)
                    else Unavailable(
                        f"Cannot open the published copy {self.path}:"
                        f" {one_line(error)[:300]}. Run `clv publish` again."
                    )
                )
                self._failed = (identity, problem)
                if current is None:
                    raise problem from error
                log.warning("%s Still serving the previous copy.", problem)
                return
            self._install(snapshot)
            return
        raise Unavailable(f"The published copy {self.path} keeps changing; try again.")

    def _install(self, snapshot: Snapshot) -> None:
        with self._lock:
            previous, self._current = self._current, snapshot
            self.swaps += previous is not None
        if previous is not None:
            self._retire(previous)

    def _retire_current(self) -> None:
        with self._lock:
            previous, self._current = self._current, None
        if previous is not None:
            self._retire(previous)

    def _retire(self, snapshot: Snapshot) -> None:
        with self._lock:
            snapshot.retired = True
            idle = snapshot.users == 0
        if idle:
            snapshot.close()

    def _use_current(self, identity: tuple[int, int, int, int] | None) -> Snapshot | None:
        """The current snapshot, counted as in use; with ``identity``, only if it matches."""
        with self._lock:
            current = self._current
            if current is None or (identity is not None and current.identity != identity):
                return None
            current.users += 1
            return current

    def _refresh_in_background(self) -> None:
        try:
            self._refresh()
        except Unavailable as error:
            log.warning("%s", error)
        finally:
            self._swap_lock.release()

    def acquire_nowait(self) -> Snapshot | None:
        """The snapshot to read now, counted as in use, without waiting for a file to be
        opened; None when there is no snapshot yet (then ``acquire``, off the event loop).

        When the file at the path is not the current snapshot, a background thread opens
        it (unless one already is) and this request reads the current snapshot meanwhile.
        """
        try:
            identity = file_identity(self.path)
        except FileNotFoundError:
            identity = None
        snapshot = self._use_current(identity) if identity is not None else None
        if snapshot is not None or identity is None:
            return snapshot
        snapshot = self._use_current(None)
        if snapshot is None:
            return None
        failed = self._failed
        if failed is not None and failed[0] == identity:
            return snapshot  # that file could not be opened: keep serving this one
        if self._swap_lock.acquire(blocking=False):
            threading.Thread(
                target=self._refresh_in_background, name="clv-serve-swap", daemon=True
            ).start()
        return snapshot

    def acquire(self) -> Snapshot:
        """The snapshot to read, opening the file first if none is open (may take seconds)."""
        snapshot = self.acquire_nowait()
        if snapshot is not None:
            return snapshot
        with self._swap_lock:
            self._refresh()
        snapshot = self._use_current(None)
        if snapshot is None:
            raise self._missing()
        return snapshot

    def release(self, snapshot: Snapshot) -> None:
        with self._lock:
            snapshot.users -= 1
            last = snapshot.retired and snapshot.users == 0
        if last:
            snapshot.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict[str, Any]]]:
        """A cursor on the current snapshot and its facts, for one request."""
        snapshot = self.acquire()
        try:
            yield snapshot.cursor(), snapshot.info
        finally:
            self.release(snapshot)

    def close(self) -> None:
        self._retire_current()


def _modified_at(identity: tuple[int, int, int, int]) -> str:
    """When the file was last written (UTC, microseconds): each publish gives a new one."""
    return datetime.fromtimestamp(identity[2] / 1e9, UTC).isoformat(timespec="microseconds")


class _Replaced(Exception):
    """The file changed while it was being opened: open it again."""
