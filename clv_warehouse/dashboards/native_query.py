"""Metabase native-query syntax: template tags and optional clauses.

    select * from t where true [[and country = {{country}}]]

``{{country}}`` is a template tag (a variable the dashboard fills); ``[[ ... ]]`` is an
optional clause that Metabase drops when a tag inside it has no value. ``render`` does
what Metabase does before it sends the SQL to the database, so tests can run a card's SQL
with its filters empty or set, exactly as a dashboard would.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
OPTIONAL_CLAUSE = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
# Template-tag ids must be stable so that a second provisioning run changes nothing.
_TAG_NAMESPACE = uuid.UUID("6f1c3a52-8d1e-4f0b-9c51-2a7d2b1e0c11")


class MissingParameterError(ValueError):
    """A template tag outside an optional clause has no value."""


def tag_names(sql: str) -> list[str]:
    """The template tags of a query, in order of first use."""
    return list(dict.fromkeys(TAG.findall(sql)))


def template_tags(card_key: str, sql: str, tag_types: Mapping[str, str]) -> dict[str, dict]:
    """Metabase's template-tags object of a native query."""
    return {
        name: {
            "id": str(uuid.uuid5(_TAG_NAMESPACE, f"{card_key}/{name}")),
            "name": name,
            "display-name": name.replace("_", " ").capitalize(),
            "type": tag_types[name],
        }
        for name in tag_names(sql)
    }


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def render(sql: str, values: Mapping[str, Any]) -> str:
    """The SQL Metabase runs: optional clauses kept or dropped, tags replaced by literals."""
    given = {name: value for name, value in values.items() if value not in (None, "")}

    def keep_or_drop(match: re.Match) -> str:
        clause = match.group(1)
        return clause if all(name in given for name in TAG.findall(clause)) else ""

    without_optional = OPTIONAL_CLAUSE.sub(keep_or_drop, sql)

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in given:
            raise MissingParameterError(f"the query needs a value for {{{{{name}}}}}")
        return _literal(given[name])

    return TAG.sub(substitute, without_optional)
