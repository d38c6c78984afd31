"""The dbt docs in Metabase: descriptions, semantic types, keys and hidden technical tables
from the dbt manifest, through the dbt-metabase package (its ``models`` export).

``clv dashboards`` calls ``describe`` after the cards and dashboards, on the manifest dbt
wrote when it compiled the dashboard questions. dbt-metabase asks Metabase to sync the
database, waits until every exported model's table and documented column is there
(METABASE_SYNC_TIMEOUT_SECONDS, default 120 s; it looks every 5 s), then sets what differs:

    table    the model's description; hidden for the models of staging, intermediate and
             modeling (``+meta: {metabase.visibility_type: hidden}`` in dbt_project.yml)
    column   its description; its semantic type from ``config: {meta:
             {metabase.semantic_type: type/Currency}}`` (or type/Category, ...) in the
             models' YAML; a foreign key for a column with a ``relationships`` test, whose
             target becomes a primary key

A second run with nothing changed writes nothing. Exported are the models whose relation is
in the published copy (sources are the raw files, not in it). A model or column whose
Metabase name does not map back to it (``stg_cdnow__purchases`` shows as "Stg Cdnow
Purchases") is given that name as its display name: dbt-metabase would otherwise reset it
to null on every run, a change Metabase ignores. Each request has the
METABASE_TIMEOUT_SECONDS timeout and no retry; a failure is a ProvisionError in the words of
``Metabase.unreachable`` and ``Metabase.refused``, and models or columns that Metabase does
not show after the sync wait are named.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import requests
from dbtmetabase import DbtMetabase, Filter
from dbtmetabase.errors import MetabaseStateError
from requests.adapters import HTTPAdapter

from clv_warehouse.dashboards.metabase import Metabase, ProvisionError

# Messages of dbt-metabase a failure shows (its warnings and errors, the last ones).
SHOWN_MESSAGES = 5
DISPLAY_NAME = "metabase.display_name"
# Words Metabase's humanization writes in capitals (metabase.util.humanization).
ACRONYMS = frozenset({"id", "url", "ip", "uid", "uuid", "guid"})


class _Writes(HTTPAdapter):
    """requests' adapter without retries (METABASE_TIMEOUT_SECONDS means one wait) that
    notes every table and field Metabase accepted a change of."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.tables: set[str] = set()
        self.fields: set[str] = set()

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        path = urlsplit(request.url).path
        if request.method == "PUT" and response.ok:
            kind, _, object_id = path.removeprefix("/api/").partition("/")
            {"table": self.tables, "field": self.fields}.get(kind, set()).add(object_id)
        return response


class _Messages(logging.Handler):
    """What dbt-metabase warns of, kept for the error message instead of printed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:
            self.messages.append(message)


@contextmanager
def _collected_messages() -> Iterator[_Messages]:
    logger = logging.getLogger("dbtmetabase")
    handler = _Messages()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


@dataclass(frozen=True)
class Described:
    """What one export did: models exported, tables and columns whose metadata changed."""

    models: int
    tables_changed: int
    columns_changed: int

    def line(self) -> tuple[str, str, str]:
        """A Report line: docs updated (or unchanged) and what."""
        what = f"{self.models} models from the dbt manifest"
        if not (self.tables_changed or self.columns_changed):
            return ("docs", "unchanged", what)
        return (
            "docs",
            "updated",
            f"{what}: {self.tables_changed} tables, {self.columns_changed} columns",
        )


def humanized(name: str) -> str:
    """The name Metabase gives a table or column it syncs (humanization strategy simple)."""
    words = [word for word in re.split(r"[-_\s]+", name) if word]
    if not words:
        return name
    return " ".join(
        word.upper()
        if word.lower() in ACRONYMS
        else word.capitalize()
        if word == word.upper()
        else word[0].upper() + word[1:]
        for word in words
    )


def _round_trips(name: str) -> bool:
    """Whether dbt-metabase takes Metabase's name for this one as the default (its
    safe_name: every non-word character an underscore, lower case)."""
    return re.sub(r"[^\w]", "_", humanized(name)).lower() == re.sub(r"[^\w]", "_", name).lower()


def with_display_names(manifest: Mapping[str, Any]) -> dict:
    """The manifest with Metabase's own name as the display name of every model and column
    that has none and whose name does not round-trip (see the module docstring)."""
    manifest = copy.deepcopy(dict(manifest))
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        alias = node.get("alias") or node["name"]
        if DISPLAY_NAME not in node.get("meta", {}) and not _round_trips(alias):
            node.setdefault("meta", {})[DISPLAY_NAME] = humanized(alias)
        for column in node.get("columns", {}).values():
            if DISPLAY_NAME not in column.get("meta", {}) and not _round_trips(column["name"]):
                column.setdefault("meta", {})[DISPLAY_NAME] = humanized(column["name"])
    return manifest


def published_relations(published: Path) -> set[tuple[str, str]]:
    """(schema, name) of every table and view in the published copy, lower case."""
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute(
            "select lower(table_schema), lower(table_name) from information_schema.tables"
            " where table_catalog = current_database()"
        ).fetchall()
    return {(schema, name) for schema, name in rows}


def exported_models(manifest: Mapping[str, Any], relations: set[tuple[str, str]]) -> list[str]:
    """The models whose relation the published copy has, by name, sorted."""
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"]["materialized"] != "ephemeral"
        and (node["schema"].lower(), (node.get("alias") or node["name"]).lower()) in relations
    )


def _failure(metabase: Metabase, error: Exception, messages: list[str]) -> ProvisionError:
    if isinstance(error, requests.HTTPError) and error.response is not None:
        request = error.response.request
        endpoint = urlsplit(request.url).path if request is not None else "?"
        method = request.method if request is not None else "?"
        return metabase.refused(method or "?", endpoint, error.response)
    if isinstance(error, requests.RequestException):
        request = error.request
        endpoint = urlsplit(request.url).path if request is not None else "the docs"
        return metabase.unreachable(getattr(request, "method", "?"), endpoint, error)
    shown = "; ".join(messages[-SHOWN_MESSAGES:]) or str(error)
    settings = metabase.settings
    return metabase.error(
        f"The dbt docs did not reach Metabase at {settings.shown_url} ({error}): {shown}."
        " If the sync is still running, wait and run `clv dashboards` again, or set a"
        f" longer METABASE_SYNC_TIMEOUT_SECONDS (now {settings.sync_timeout_seconds:g} s)."
    )


def describe(
    metabase: Metabase,
    manifest: Mapping[str, Any],
    database_name: str,
    relations: set[tuple[str, str]],
) -> Described:
    """Export the manifest's models to Metabase's database ``database_name``; see the
    module docstring."""
    models = exported_models(manifest, relations)
    if not models:
        return Described(0, 0, 0)
    settings = metabase.settings
    writes = _Writes()
    with tempfile.TemporaryDirectory(prefix="clv-dbt-docs-") as scratch:
        manifest_path = Path(scratch) / "manifest.json"
        manifest_path.write_text(json.dumps(with_display_names(manifest)), encoding="utf-8")
        with _collected_messages() as collected:
            try:
                exporter = DbtMetabase(
                    manifest_path=manifest_path,
                    metabase_url=settings.url,
                    metabase_api_key=settings.api_key,
                    metabase_username=None if settings.api_key else settings.user,
                    metabase_password=None if settings.api_key else settings.password,
                    http_timeout=settings.timeout_seconds,
                    http_adapter=writes,
                )
                exporter.export_models(
                    metabase_database=database_name,
                    model_filter=Filter(include=models),
                    skip_sources=True,
                    sync_timeout=settings.sync_timeout_seconds,
                )
            except (requests.RequestException, MetabaseStateError) as error:
                raise _failure(metabase, error, collected.messages) from None
    return Described(len(models), len(writes.tables), len(writes.fields))
