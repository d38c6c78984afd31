"""SQL text from Python values: the Python twin of the dbt macro ``clv_quote``
(macros/quoting/clv_quote.sql). A path or setting never becomes SQL text any other way."""

from __future__ import annotations

from os import PathLike


def _text(value: str | PathLike[str] | object) -> str:
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"{text[:80]!r} holds a NUL character, which SQL cannot carry")
    return text


def sql_literal(value: str | PathLike[str] | object) -> str:
    """A string literal: every ``'`` doubled (``it's`` -> ``'it''s'``)."""
    return "'" + _text(value).replace("'", "''") + "'"


def sql_identifier(value: str) -> str:
    """A quoted identifier: every ``"`` doubled."""
    return '"' + _text(value).replace('"', '""') + '"'
