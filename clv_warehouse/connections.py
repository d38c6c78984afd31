"""How the ``clv`` commands open the warehouse, and what they say when they cannot.

Readers (``clv sql``, ``clv summary``, ``clv publish``) open the file read-only and locked
down: the connection reads the warehouse file and nothing else. DuckDB's settings, given
when the database starts and then locked so that no statement can change them back:

    enable_external_access = false   no file outside the warehouse is read or written
                                     (COPY, EXPORT, read_csv, glob, ATTACH of another file),
                                     no extension is installed or loaded
    allow_persistent_secrets = false no secret is written to disk
    autoinstall/autoload_known_extensions = false
                                     no extension is fetched or loaded behind a statement
    lock_configuration = true        SET, RESET and PRAGMA cannot undo any of the above

``read_only=True`` refuses CREATE, INSERT, UPDATE and DELETE on the warehouse itself.
Views inside the file (marts over marts) read as usual; the staging views, which read the
input file, are refused, because that file is outside the warehouse.

DuckDB lets one process write a file, or many read it, never both. When another process
holds the file (a build that is running, a query that is open), DuckDB names it in its
error; ``WarehouseBusy`` says so in one line.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

LOCKED_DOWN = {
    "enable_external_access": False,
    "allow_persistent_secrets": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file; the message names it and what to do."""


def is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "Could not set lock on file" in str(error)


def busy_message(path: Path, error: BaseException) -> str:
    """One line: which process holds ``path`` (as DuckDB says) and what to do."""
    match = _LOCK_HOLDER.search(str(error))
    holder = f" ({match['program']}, PID {match['pid']})" if match else ""
    return (
        f"another process holds the warehouse {path}{holder}: a build or another query is"
        " using it. Wait until it has finished (or stop it), then run this again."
    )


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only and locked down (see the module docstring)."""
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(LOCKED_DOWN))
    except duckdb.IOException as error:
        if is_lock_conflict(error):
            raise WarehouseBusy(busy_message(path, error)) from error
        raise


def check_not_held(path: Path) -> None:
    """Raise WarehouseBusy when another process holds ``path``; a build needs it alone."""
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        if is_lock_conflict(error):
            raise WarehouseBusy(busy_message(path, error)) from error
        raise
