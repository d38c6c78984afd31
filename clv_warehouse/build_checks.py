"""Checks ``clv build`` makes before dbt starts, so that a bad setting is one line naming it
instead of a traceback from inside dbt or DuckDB.

    CLV_DUCKDB_MEMORY     a size DuckDB accepts (8GB, 500MB, 1.5GiB), checked by DuckDB itself
    CLV_DUCKDB_THREADS    a whole number, 1 or more
    CLV_DBT_THREADS       a whole number, 1 or more
    CLV_GENERIC_COLUMNS   (generic layout) a JSON object of column names or nulls; which keys
                          it may have is checked by dbt (macros/inputs/generic_columns.sql)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import duckdb

from clv_warehouse.messages import one_line


class SettingError(ValueError):
    """A setting has a value the build cannot use; the message names it and what to give."""


def _check_memory(value: str) -> None:
    try:
        duckdb.connect(":memory:", config={"memory_limit": value}).close()
    except duckdb.Error as error:
        raise SettingError(
            f"CLV_DUCKDB_MEMORY={value!r} is not a memory size ({one_line(error)}):"
            " set it to a number and a unit, e.g. 8GB or 500MB, or unset it (default 8GB)."
        ) from None


def _check_threads(name: str, value: str) -> None:
    try:
        threads = int(value.strip())
    except ValueError:
        threads = 0
    if threads < 1:
        raise SettingError(
            f"{name}={value!r} must be a whole number of 1 or more, e.g. 2, or unset it"
            " (default 2)."
        )


def _check_generic_columns(value: str) -> None:
    example = '\'{"customer_id": "client", "ordered_at": "sold_at", "amount": "total"}\''
    try:
        mapping = json.loads(value)
    except ValueError as error:
        raise SettingError(
            f"CLV_GENERIC_COLUMNS is not JSON ({error}): give an object that maps canonical"
            f" names to your column names, e.g. {example}."
        ) from None
    if not isinstance(mapping, dict):
        raise SettingError(
            f"CLV_GENERIC_COLUMNS must be a JSON object mapping canonical names to your column"
            f" names, e.g. {example}; it is a JSON {type(mapping).__name__}."
        )
    for key, column in mapping.items():
        if column is not None and not isinstance(column, str):
            raise SettingError(
                f"CLV_GENERIC_COLUMNS: {key} must name a column (a JSON string) or be null"
                f" when the file has no such column; it is {json.dumps(column)}."
            )


def check_build_environment(layout: str, environ: Mapping[str, str] | None = None) -> None:
    """Raise SettingError for the first setting dbt could not use."""
    environ = os.environ if environ is None else environ
    if "CLV_DUCKDB_MEMORY" in environ:
        _check_memory(environ["CLV_DUCKDB_MEMORY"])
    for name in ("CLV_DUCKDB_THREADS", "CLV_DBT_THREADS"):
        if name in environ:
            _check_threads(name, environ[name])
    generic_columns = environ.get("CLV_GENERIC_COLUMNS", "").strip()
    if layout == "generic" and generic_columns:
        _check_generic_columns(generic_columns)
