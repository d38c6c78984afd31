"""Provision the dashboards on a Metabase (0.49 or newer) through its REST API.

Every call goes through one ``requests`` session with a timeout (METABASE_TIMEOUT_SECONDS,
default 30 s), so a Metabase that stops answering stops the command with a message instead
of hanging it. Every object is created or updated in place:

    collection   found by name at the root
    database     the DuckDB connection to the published copy, found by name; pointed at
                 the newest versioned file of the copy, then its schema synced
    cards        native queries with template tags, found by the key in their description
    dashboards   found by the key in their description; dashcards and parameters are set
                 with one PUT /api/dashboard/:id (new dashcards get negative ids)

An object that already matches its definition is left alone, so a second run changes
nothing. Cards and dashboards this command made that are no longer defined are archived.

Errors say which of these it was: Metabase cannot be reached or did not answer in time,
answered with a server error (HTTP 5xx), rejected the credentials (401/403), is older than
MINIMUM_VERSION, refused a database endpoint because the key or user is not an admin (403:
database connections are admin-only in Metabase), or refused a request. A user name and
password written into METABASE_URL are masked in every message.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from clv_warehouse.dashboards.definitions import Card, Dashboard, Definitions
from clv_warehouse.dashboards.native_query import template_tags
from clv_warehouse.messages import clip
from clv_warehouse.publish import latest_version

# API keys (X-API-KEY) came with Metabase 0.49; the image in dashboards/ runs IMAGE_VERSION.
MINIMUM_VERSION = (0, 49)
IMAGE_VERSION = "0.58.9"
# DuckDB's temp directory for the connection: the driver's default is beside the database
# file, on the read-only mount, where a query that spills to disk fails.
DEFAULT_DUCKDB_TEMP_DIRECTORY = "/tmp/clv-duckdb"
DEFAULT_TIMEOUT_SECONDS = 30.0
# How long `clv dashboards` waits for Metabase's sync to show every model's table and
# documented column before it describes them (dbt_docs.py).
DEFAULT_SYNC_TIMEOUT_SECONDS = 120.0
MAXIMUM_TIMEOUT_SECONDS = 3600.0
MARKER = re.compile(r"Managed by CLV Warehouse \(([^)]+)\)")
# Endpoints only admins may call: database connections and the data model of their tables.
ADMIN_ENDPOINTS = ("/api/database", "/api/table", "/api/field")


class ProvisionError(RuntimeError):
    """Provisioning stopped; the message says what Metabase answered and what to do."""


def masked_url(url: str, mask: str = "***@") -> str:
    """The URL with any user name and password replaced by ``mask``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{mask}{host}"))


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds from the environment, between 0 (excluded) and an hour."""
    text = environ.get(name)
    if text is None:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= MAXIMUM_TIMEOUT_SECONDS:
        raise ProvisionError(
            f"{name}={text!r} is not a number of seconds between 0 and"
            f" {MAXIMUM_TIMEOUT_SECONDS:.0f}: set it to e.g. {default:g} (the default) or unset it."
        )
    return seconds


@dataclass(frozen=True)
class MetabaseSettings:
    """Where Metabase is and how to log in: environment variables only, never files."""

    url: str
    api_key: str | None
    user: str | None
    password: str | None
    duckdb_path: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    duckdb_temp_directory: str = DEFAULT_DUCKDB_TEMP_DIRECTORY
    sync_timeout_seconds: float = DEFAULT_SYNC_TIMEOUT_SECONDS

    @property
    def shown_url(self) -> str:
        """The URL for messages: credentials in it are masked."""
        return masked_url(self.url)

    @property
    def link_url(self) -> str:
        """The URL for the printed dashboard links: without credentials."""
        return masked_url(self.url, mask="")

    @classmethod
    def from_environment(
        cls, published: Path, environ: Mapping[str, str] | None = None
    ) -> MetabaseSettings:
        environ = os.environ if environ is None else environ
        url = environ.get("METABASE_URL", "").strip()
        if not url:
            raise ProvisionError(
                "Set METABASE_URL to your Metabase, e.g. http://localhost:3000, and either"
                " METABASE_API_KEY or METABASE_USER and METABASE_PASSWORD."
            )
        api_key = environ.get("METABASE_API_KEY") or None
        user = environ.get("METABASE_USER") or None
        password = environ.get("METABASE_PASSWORD") or None
        if not api_key and not (user and password):
            raise ProvisionError(
                "No Metabase credentials: set METABASE_API_KEY (Admin settings > Authentication"
                " > API keys), or METABASE_USER and METABASE_PASSWORD."
            )
        # The newest version of the published copy, as Metabase sees it: in a container,
        # METABASE_DUCKDB_PATH names the published copy inside it, and the version sits
        # beside it there too.
        version = latest_version(published)
        seen_as = environ.get("METABASE_DUCKDB_PATH")
        duckdb_path = (
            posixpath.join(posixpath.dirname(seen_as), version.name) if seen_as else str(version)
        )
        return cls(
            url=url.rstrip("/"),
            api_key=api_key,
            user=user,
            password=password,
            duckdb_path=duckdb_path,
            timeout_seconds=_seconds(environ, "METABASE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS),
            duckdb_temp_directory=environ.get("METABASE_DUCKDB_TEMP_DIRECTORY")
            or DEFAULT_DUCKDB_TEMP_DIRECTORY,
            sync_timeout_seconds=_seconds(
                environ, "METABASE_SYNC_TIMEOUT_SECONDS", DEFAULT_SYNC_TIMEOUT_SECONDS
            ),
        )


def _marker(key: str) -> str:
    return (
        f"Managed by CLV Warehouse ({key}): changes made here are overwritten by `clv dashboards`."
    )


def _described(description: str, key: str) -> str:
    return f"{description}\n\n{_marker(key)}" if description else _marker(key)


def _key_of(item: Mapping[str, Any]) -> str | None:
    match = MARKER.search(item.get("description") or "")
    return match.group(1) if match else None


def _parse_version(tag: str) -> tuple[int, int] | None:
    match = re.match(r"v?(\d+)\.(\d+)", tag or "")
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    # Enterprise builds are v1.x.y with the same minor numbers as the open-source v0.x.y.
    return (0, minor) if major in (0, 1) else (major, minor)


class Metabase:
    """An authenticated Metabase: raw calls with clear errors."""

    def __init__(self, settings: MetabaseSettings):
        self.settings = settings
        self.session = requests.Session()
        self.version = self._check_server()
        self._authenticate()

    # --- every request goes through here ----------------------------------------------------

    def _mask(self, text: str) -> str:
        """The text with the URL's credentials (and the password, wherever) masked."""
        settings = self.settings
        text = text.replace(settings.url, settings.shown_url)
        for secret in (urlsplit(settings.url).password, settings.password, settings.api_key):
            if secret:
                text = text.replace(secret, "***")
        return text

    def error(self, message: str) -> ProvisionError:
        """A ProvisionError with this message, the credentials in it masked."""
        return ProvisionError(self._mask(message))

    def unreachable(
        self, method: str, endpoint: str, error: requests.RequestException
    ) -> ProvisionError:
        """The error for a request that got no answer: timed out or could not connect."""
        url, timeout = self.settings.shown_url, self.settings.timeout_seconds
        if isinstance(error, requests.Timeout):
            return self.error(
                f"Metabase at {url} did not answer {method} {endpoint} within {timeout:g} s"
                " (METABASE_TIMEOUT_SECONDS). Check that it is running and not overloaded,"
                " or set a longer METABASE_TIMEOUT_SECONDS."
            )
        return self.error(
            f"Cannot reach Metabase at {url} ({type(error).__name__}). Check METABASE_URL"
            " (e.g. http://localhost:3000) and that Metabase is running."
        )

    def refused(self, method: str, endpoint: str, response: requests.Response) -> ProvisionError:
        """The error for an answer that is not a success, by what it says."""
        status = response.status_code
        if status >= 500:
            answer = clip(response.text, see="the Metabase log", limit=300)
            return self.error(
                f"Metabase at {self.settings.shown_url} answered with a server error on"
                f" {method} {endpoint}: HTTP {status} {answer}. Check the Metabase log and try"
                " again when it is healthy."
            )
        if status == 403 and endpoint.startswith(ADMIN_ENDPOINTS):
            who = (
                "the API key in METABASE_API_KEY"
                if self.settings.api_key
                else f"METABASE_USER ({self.settings.user})"
            )
            return self.error(
                f"Metabase refused {method} {endpoint} (HTTP 403): only admins may create, read"
                f" or change a database connection and its tables' metadata, and {who} is not"
                " one. Give the key or user the Administrators group (Admin settings > People,"
                " or for a key: Authentication > API keys > edit > Group: Administrators)."
            )
        return self.error(
            f"Metabase refused {method} {endpoint}: HTTP {status}"
            f" {clip(response.text, see='the Metabase log')}"
        )

    def _send(self, method: str, endpoint: str, **arguments: Any) -> requests.Response:
        """One request; an unreachable, silent or failing (5xx) server is a ProvisionError."""
        try:
            response = self.session.request(
                method,
                self.settings.url + endpoint,
                timeout=self.settings.timeout_seconds,
                **arguments,
            )
        except requests.RequestException as error:
            raise self.unreachable(method, endpoint, error) from None
        if response.status_code >= 500:
            raise self.refused(method, endpoint, response)
        return response

    # --- version and credentials ------------------------------------------------------------

    def _check_server(self) -> str:
        url = self.settings.shown_url
        response = self._send("GET", "/api/session/properties")
        try:
            tag = response.json()["version"]["tag"]
        except (ValueError, KeyError, TypeError):
            raise self.error(
                f"{url} does not look like Metabase: GET /api/session/properties answered HTTP"
                f" {response.status_code} without a Metabase version. Check METABASE_URL."
            ) from None
        version = _parse_version(tag)
        if version is None or version < MINIMUM_VERSION:
            needed = ".".join(str(part) for part in MINIMUM_VERSION)
            raise self.error(
                f"Metabase {tag} at {url} is too old: CLV Warehouse needs Metabase {needed} or"
                f" newer (API keys came with {needed}). Upgrade Metabase; dashboards/Dockerfile"
                f" runs {IMAGE_VERSION}."
            )
        return tag

    def _authenticate(self) -> None:
        settings = self.settings
        if settings.api_key:
            self.session.headers["X-API-KEY"] = settings.api_key
        else:
            login = {"username": settings.user, "password": settings.password}
            response = self._send("POST", "/api/session", json=login)
            session_id = None
            if response.ok:
                try:
                    session_id = response.json()["id"]
                except (ValueError, KeyError, TypeError):
                    session_id = None
            if not session_id:
                raise self.error(self._rejected_credentials(response))
            self.session.headers["X-Metabase-Session"] = str(session_id)
        response = self._send("GET", "/api/user/current")
        if response.status_code != 200:
            raise self.error(self._rejected_credentials(response))

    def _rejected_credentials(self, response: requests.Response) -> str:
        url, status = self.settings.shown_url, response.status_code
        if self.settings.api_key:
            return (
                f"Metabase at {url} rejected the API key in METABASE_API_KEY (HTTP {status})."
                " Create one under Admin settings > Authentication > API keys."
            )
        return (
            f"Metabase at {url} rejected the login of METABASE_USER ({self.settings.user})"
            f" (HTTP {status}): check METABASE_USER and METABASE_PASSWORD."
        )

    def call(self, method: str, endpoint: str, payload: Any = None, **params: Any) -> Any:
        arguments: dict[str, Any] = {}
        if payload is not None:
            arguments["json"] = payload
        if params:
            arguments["params"] = params
        response = self._send(method, endpoint, **arguments)
        if not response.ok:
            raise self.refused(method, endpoint, response)
        return response.json() if response.content else None


def _items(body: Any) -> list[dict]:
    """Metabase lists come bare or as {"data": [...]} depending on the endpoint and version."""
    return body["data"] if isinstance(body, dict) else body


def _native_query(dataset_query: Mapping[str, Any]) -> tuple[str, dict]:
    """Query text and template tags, from the legacy or the staged (MBQL 5) format."""
    if "native" in dataset_query:
        native = dataset_query["native"]
        return native.get("query", ""), native.get("template-tags", {})
    stage = (dataset_query.get("stages") or [{}])[0]
    return stage.get("native", ""), stage.get("template-tags", {})


def _tags_signature(tags: Mapping[str, Mapping[str, Any]]) -> list[tuple]:
    return sorted((name, tag.get("type"), tag.get("id")) for name, tag in tags.items())


@dataclass
class Report:
    """What one provisioning run did, object by object."""

    lines: list[tuple[str, str, str]] = field(default_factory=list)
    dashboard_urls: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, action: str, name: str) -> None:
        self.lines.append((kind, action, name))

    def count(self, action: str) -> int:
        return sum(1 for _, done, _ in self.lines if done == action)

    def format(self) -> str:
        rows = [f"  {kind:<10} {action:<10} {name}" for kind, action, name in self.lines]
        rows.append(
            f"  {self.count('created')} created, {self.count('updated')} updated,"
            f" {self.count('unchanged')} unchanged, {self.count('archived')} archived"
        )
        rows += [f"  open       {name}: {url}" for name, url in self.dashboard_urls.items()]
        return "\n".join(rows)


class Provisioner:
    """Makes a Metabase match the definitions; see the module docstring."""

    def __init__(
        self,
        metabase: Metabase,
        definitions: Definitions,
        compiled_sql: Mapping[str, str],
        filter_values: Mapping[tuple[str, str], list[str]],
    ):
        self.metabase = metabase
        self.definitions = definitions
        self.compiled_sql = compiled_sql
        self.filter_values = filter_values
        self.report = Report()

    # --- collection and database ---------------------------------------------------------

    def _collection(self) -> int:
        definitions = self.definitions
        wanted = {
            "name": definitions.collection_name,
            # Metabase refuses an empty description (HTTP 400); none is null.
            "description": definitions.collection_description or None,
        }
        for item in _items(self.metabase.call("GET", "/api/collection")):
            if (
                item.get("name") == wanted["name"]
                and not item.get("archived")
                and item.get("personal_owner_id") is None
                and item.get("location", "/") == "/"
            ):
                if item.get("description") != wanted["description"]:
                    self.metabase.call("PUT", f"/api/collection/{item['id']}", wanted)
                    self.report.add("collection", "updated", wanted["name"])
                else:
                    self.report.add("collection", "unchanged", wanted["name"])
                return item["id"]
        created = self.metabase.call("POST", "/api/collection", {**wanted, "color": "#509EE3"})
        self.report.add("collection", "created", wanted["name"])
        return created["id"]

    def _details(self) -> dict[str, Any]:
        settings = self.metabase.settings
        return {
            "database_file": settings.duckdb_path,
            "read_only": True,
            # Options the driver passes to DuckDB after its own, so they win over its
            # default temp directory (beside the file, on the read-only mount).
            "additional-options": f"temp_directory={settings.duckdb_temp_directory}",
        }

    def _database(self) -> int:
        name = self.definitions.database_name
        details = self._details()
        for item in _items(self.metabase.call("GET", "/api/database")):
            if item.get("name") == name and item.get("engine") == "duckdb":
                current = item.get("details") or {}
                if any(current.get(key) != value for key, value in details.items()):
                    self.metabase.call(
                        "PUT", f"/api/database/{item['id']}", {"details": {**current, **details}}
                    )
                    # A new file at a new path: Metabase must read its tables again.
                    self.metabase.call("POST", f"/api/database/{item['id']}/sync_schema")
                    self.report.add("database", "updated", f"{name} -> {details['database_file']}")
                else:
                    self.report.add("database", "unchanged", name)
                return item["id"]
        created = self.metabase.call(
            "POST",
            "/api/database",
            {"name": name, "engine": "duckdb", "details": details, "is_full_sync": True},
        )
        self.report.add("database", "created", f"{name} -> {details['database_file']}")
        return created["id"]

    # --- cards -------------------------------------------------------------------------------

    def _card_payload(
        self, card: Card, dashboard: Dashboard, collection_id: int, database_id: int
    ) -> dict:
        sql = self.compiled_sql[card.analysis]
        tag_types = {key: f.tag_type for key, f in dashboard.filters.items()}
        return {
            "name": card.name,
            "description": _described(card.description, card.key),
            "display": card.display,
            "collection_id": collection_id,
            "visualization_settings": card.visualization_settings(),
            "dataset_query": {
                "type": "native",
                "database": database_id,
                "native": {"query": sql, "template-tags": template_tags(card.key, sql, tag_types)},
            },
        }

    @staticmethod
    def _card_matches(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
        current_query, current_tags = _native_query(current.get("dataset_query") or {})
        wanted_query, wanted_tags = _native_query(wanted["dataset_query"])
        return (
            all(
                current.get(key) == wanted[key]
                for key in ("name", "description", "display", "collection_id")
            )
            and (current.get("visualization_settings") or {}) == wanted["visualization_settings"]
            and current.get("database_id", (current.get("dataset_query") or {}).get("database"))
            == wanted["dataset_query"]["database"]
            and current_query == wanted_query
            and _tags_signature(current_tags) == _tags_signature(wanted_tags)
            and not current.get("archived", False)
        )

    def _managed_items(self, collection_id: int, model: str) -> dict[str, dict]:
        items = _items(
            self.metabase.call("GET", f"/api/collection/{collection_id}/items", models=model)
        )
        return {key: item for item in items if (key := _key_of(item))}

    def _cards(self, collection_id: int, database_id: int) -> dict[str, dict]:
        existing = self._managed_items(collection_id, "card")
        cards = {}
        for dashboard in self.definitions.dashboards:
            for card in dashboard.cards:
                wanted = self._card_payload(card, dashboard, collection_id, database_id)
                label = f"{dashboard.name} / {card.name}"
                if card.key in existing:
                    card_id = existing[card.key]["id"]
                    current = self.metabase.call("GET", f"/api/card/{card_id}")
                    if self._card_matches(current, wanted):
                        self.report.add("card", "unchanged", label)
                    else:
                        self.metabase.call("PUT", f"/api/card/{card_id}", wanted)
                        self.report.add("card", "updated", label)
                else:
                    card_id = self.metabase.call("POST", "/api/card", wanted)["id"]
                    self.report.add("card", "created", label)
                cards[card.key] = {
                    "id": card_id,
                    "tags": wanted["dataset_query"]["native"]["template-tags"],
                }
        for key, item in existing.items():
            if key not in cards:
                self.metabase.call("PUT", f"/api/card/{item['id']}", {"archived": True})
                self.report.add("card", "archived", item.get("name", key))
        return cards

    # --- dashboards ----------------------------------------------------------------------------

    def _parameters(self, dashboard: Dashboard) -> list[dict]:
        parameters = []
        for key, dashboard_filter in dashboard.filters.items():
            parameter = {
                "id": key,
                "name": dashboard_filter.name,
                "slug": key,
                "type": dashboard_filter.parameter_type,
                "sectionId": dashboard_filter.section,
            }
            values = list(dashboard_filter.values) or self.filter_values.get(
                (dashboard.key, key), []
            )
            if values:
                parameter.update(
                    {
                        "values_query_type": "list",
                        "values_source_type": "static-list",
                        "values_source_config": {"values": values},
                    }
                )
            parameters.append(parameter)
        return parameters

    @staticmethod
    def _dashcards(
        dashboard: Dashboard, cards: Mapping[str, dict], current: list[dict]
    ) -> list[dict]:
        reusable = {dashcard["card_id"]: dashcard["id"] for dashcard in current}
        dashcards = []
        new_id = 0
        for card in dashboard.cards:
            card_id = cards[card.key]["id"]
            if card_id in reusable:
                dashcard_id = reusable.pop(card_id)
            else:
                new_id -= 1
                dashcard_id = new_id
            dashcards.append(
                {
                    "id": dashcard_id,
                    "card_id": card_id,
                    "row": card.row,
                    "col": card.col,
                    "size_x": card.width,
                    "size_y": card.height,
                    "parameter_mappings": [
                        {
                            "parameter_id": tag,
                            "card_id": card_id,
                            "target": ["variable", ["template-tag", tag]],
                        }
                        for tag in cards[card.key]["tags"]
                    ],
                    "visualization_settings": {},
                }
            )
        return dashcards

    @staticmethod
    def _layout_signature(dashcards: list[dict]) -> list[tuple]:
        return sorted(
            (
                dashcard["card_id"],
                dashcard["row"],
                dashcard["col"],
                dashcard["size_x"],
                dashcard["size_y"],
                tuple(
                    sorted(
                        (mapping["parameter_id"], mapping.get("card_id"), str(mapping["target"]))
                        for mapping in dashcard.get("parameter_mappings") or []
                    )
                ),
            )
            for dashcard in dashcards
        )

    @staticmethod
    def _parameters_signature(parameters: list[dict]) -> list[tuple]:
        keys = ("id", "name", "slug", "type", "values_source_type", "values_source_config")
        return sorted(tuple(str(parameter.get(key)) for key in keys) for parameter in parameters)

    def _dashboard(
        self, dashboard: Dashboard, collection_id: int, cards: Mapping[str, dict], existing: dict
    ) -> int:
        key = f"dashboard/{dashboard.key}"
        description = _described(dashboard.description, key)
        if key in existing:
            dashboard_id = existing[key]["id"]
            action = "unchanged"
        else:
            created = self.metabase.call(
                "POST",
                "/api/dashboard",
                {
                    "name": dashboard.name,
                    "description": description,
                    "collection_id": collection_id,
                },
            )
            dashboard_id = created["id"]
            action = "created"
        current = self.metabase.call("GET", f"/api/dashboard/{dashboard_id}")
        wanted = {
            "name": dashboard.name,
            "description": description,
            "collection_id": collection_id,
            "parameters": self._parameters(dashboard),
            "dashcards": self._dashcards(dashboard, cards, current.get("dashcards") or []),
        }
        matches = (
            all(
                current.get(field) == wanted[field]
                for field in ("name", "description", "collection_id")
            )
            and self._parameters_signature(current.get("parameters") or [])
            == self._parameters_signature(wanted["parameters"])
            and self._layout_signature(current.get("dashcards") or [])
            == self._layout_signature(wanted["dashcards"])
        )
        if not matches:
            self.metabase.call("PUT", f"/api/dashboard/{dashboard_id}", wanted)
            action = "updated" if action == "unchanged" else action
        self.report.add("dashboard", action, dashboard.name)
        self.report.dashboard_urls[dashboard.name] = (
            f"{self.metabase.settings.link_url}/dashboard/{dashboard_id}"
        )
        return dashboard_id

    def run(self) -> Report:
        collection_id = self._collection()
        database_id = self._database()
        cards = self._cards(collection_id, database_id)
        existing = self._managed_items(collection_id, "dashboard")
        for dashboard in self.definitions.dashboards:
            self._dashboard(dashboard, collection_id, cards, existing)
        wanted_keys = {f"dashboard/{dashboard.key}" for dashboard in self.definitions.dashboards}
        for key, item in existing.items():
            if key not in wanted_keys:
                self.metabase.call("PUT", f"/api/dashboard/{item['id']}", {"archived": True})
                self.report.add("dashboard", "archived", item.get("name", key))
        return self.report
