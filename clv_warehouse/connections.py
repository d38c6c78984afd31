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

from clv_warehouse.sql_text import sql_identifier, sql_literal

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


def has_table(
    con: duckdb.DuckDBPyConnection, schema: str, name: str, catalog: str | None = None
) -> bool:
    """Whether the table ``schema.name`` exists (in ``catalog``, when one is named)."""
    (found,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ?"
        " and table_name = ? and table_catalog = coalesce(?, table_catalog)",
        [schema, name, catalog],
    ).fetchone()
    return bool(found)


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


def open_snapshot(path: Path, catalog: str) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB instance holding the file now at ``path``, attached read-only as
    ``catalog`` and locked down like ``connect_read_only``.

    ``duckdb.connect(path)`` hands back the instance this process already has open for that
    path, even after ``os.replace`` has put a new file there (DuckDB caches instances per
    path): a long-lived reader such as ``clv serve`` would keep reading the old copy. An
    in-memory database is never cached, so attaching the file to one opens whatever file
    the path names now, while connections to the previous copy keep reading it until they
    close. Queries name the catalog (``catalog.marts.predictions``): a cursor does not
    inherit ``USE``. Attach before the lock-down, which forbids opening files.
    """
    config = {
        key: value
        for key, value in LOCKED_DOWN.items()
        if key not in ("enable_external_access", "lock_configuration")
    }
    con = duckdb.connect(":memory:", config=config)
    try:
        con.execute(f"attach {sql_literal(path)} as {sql_identifier(catalog)} (read_only)")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
    except duckdb.IOException as error:
        con.close()
        if is_lock_conflict(error):
            raise WarehouseBusy(busy_message(path, error)) from error
        raise
    except BaseException:
        con.close()
        raise
    return con
