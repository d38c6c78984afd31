"""A local stand-in for Metabase 0.58's REST API, for the provisioning tests.

It implements the endpoints `clv dashboards` uses (and a card query endpoint) and behaves
like Metabase 0.58 where that matters to the project:

- cards come back in the staged query format of 0.57 and later (``dataset_query`` with
  ``stages``, whatever format they were saved in);
- database endpoints are admin-only: with ``admin=False`` the key or login works, but
  creating, reading, changing or syncing a database answers 403 and the database list
  carries no connection details;
- an empty description (collection, card, dashboard) is refused with 400;
- collection items are filtered by ``models``;
- dashcards are not checked against the 24-column grid (Metabase does not check it; the
  project's YAML validation does);
- one DuckDB connection per database file path is opened on first use and kept for the
  life of the server, the way the DuckDB driver holds it (duckdb-java shares one database
  instance per path, and table discovery opens connections it never closes): a new file
  renamed over that path is never seen;
- creating a database and POST /api/database/:id/sync_schema sync its tables and columns
  from that connection the way the DuckDB driver describes a database (every schema of
  information_schema.tables but information_schema and pg_catalog, views included; each
  table's columns from information_schema.columns). A table or column seen again keeps its
  id and metadata; one gone is inactive and leaves the metadata;
- GET /api/database/:id/metadata answers the database with its tables and their fields,
  hidden tables only with include_hidden=true; PUT /api/table/:id and PUT /api/field/:id
  (admin-only, like the data model) take the keys Metabase 0.58's schemas take and check
  them the same way: a field's description is null or non-blank, its semantic type one of
  Metabase's semantic or relation types, its visibility one of the field visibilities, its
  foreign key target an existing field; a table's visibility is null, hidden, technical or
  cruft.

It also rejects what Metabase rejects: requests without a session or API key, cards or
dashboards without their required keys, template tags without id/name/display-name/type,
new dashcards without negative ids, unknown dashcard or card ids, and parameter mappings to
a dashboard parameter or a template tag that does not exist. Card queries run read-only on
the database's file with the dashboard's filter values substituted.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb

from clv_warehouse.dashboards.dbt_docs import humanized  # Metabase's naming, transcribed
from clv_warehouse.dashboards.native_query import render

VERSION = "v0.58.9"
CARD_REQUIRED = ("name", "dataset_query", "display", "visualization_settings")
TAG_REQUIRED = ("id", "name", "display-name", "type")
# metabase.types.core: the types deriving from :Semantic/* and :Relation/* (a subset: the
# ones a column of this project could take, and their kin).
SEMANTIC_TYPES = {
    f"type/{name}"
    for name in [
        "PK",
        "FK",
        "Category",
        "Enum",
        "Name",
        "Title",
        "Description",
        "Comment",
        "Currency",
        "Income",
        "Discount",
        "Price",
        "GrossMargin",
        "Cost",
        "Quantity",
        "Share",
        "Percentage",
        "Score",
        "Duration",
        "Country",
        "City",
        "State",
        "ZipCode",
        "Latitude",
        "Longitude",
        "URL",
        "Email",
        "Product",
        "Company",
        "Source",
        "Subscription",
        "User",
        "CreationDate",
        "CreationTimestamp",
        "JoinDate",
        "CancelationDate",
        "DeletionDate",
        "UpdatedDate",
        "Birthdate",
        "SerializedJSON",
    ]
}
TABLE_VISIBILITY = {"hidden", "technical", "cruft"}
FIELD_VISIBILITY = {"normal", "details-only", "sensitive", "hidden", "retired"}
HAS_FIELD_VALUES = {"none", "list", "search", "auto-list"}
# How the DuckDB driver types a column (database-type->base-type), first match wins.
BASE_TYPES = (
    ("BOOL", "type/Boolean"),
    ("BIGINT", "type/BigInteger"),
    ("HUGEINT", "type/BigInteger"),
    ("INT", "type/Integer"),
    ("DECIMAL", "type/Decimal"),
    ("DOUBLE", "type/Float"),
    ("FLOAT", "type/Float"),
    ("VARCHAR", "type/Text"),
    ("TIMESTAMP", "type/DateTime"),
    ("DATE", "type/Date"),
)


class Rejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class FakeMetabase:
    """State of one fake Metabase, plus the log of every request it answered."""

    def __init__(
        self,
        *,
        api_key: str = "mb_test_key",
        user: str = "admin@example.com",
        password: str = "correct horse",
        after_version: int | str | None = None,
        admin: bool = True,
        version: str = VERSION,
    ):
        """``after_version``: answer the version, then every other request with that HTTP
        status (e.g. 500), or, with "hang", never answer (until the server stops).
        ``admin``: whether the key and the user are in the Administrators group."""
        self.api_key = api_key
        self.admin = admin
        self.version = version
        self.connections: dict[str, duckdb.DuckDBPyConnection] = {}
        self.syncs: list[int] = []
        self.after_version = after_version
        self.released = threading.Event()
        self.users = {user: password}
        self.sessions: set[str] = set()
        self.collections: dict[int, dict] = {}
        self.databases: dict[int, dict] = {}
        self.cards: dict[int, dict] = {}
        self.dashboards: dict[int, dict] = {}
        self.tables: dict[int, dict] = {}
        self.fields: dict[int, dict] = {}
        self.requests: list[tuple[str, str, int]] = []
        self._next_id = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()

    def connection(self, path: str) -> duckdb.DuckDBPyConnection:
        """The one connection for this path, opened on first use and never closed."""
        if path not in self.connections:
            self.connections[path] = duckdb.connect(path, read_only=True)
        return self.connections[path]

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def writes(self) -> list[tuple[str, str, int]]:
        """Every POST and PUT answered, except logins, card queries and schema syncs (which
        read the database again and change no definition)."""
        return [
            request
            for request in self.requests
            if request[0] in ("POST", "PUT")
            and request[1] != "/api/session"
            and not request[1].endswith(("/query", "/sync_schema"))
        ]

    def table(self, schema: str, name: str) -> dict:
        """The active table of this schema and name, with its fields by name."""
        (table,) = [
            table
            for table in self.tables.values()
            if (table["schema"], table["name"]) == (schema, name) and table["active"]
        ]
        return {**table, "fields": {field["name"]: field for field in self._fields_of(table)}}

    # --- dispatch ------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, headers, body: Any) -> tuple[int, Any]:
        if self.after_version is not None and path != "/api/session/properties":
            if self.after_version == "hang":
                self.released.wait()
                return 503, {"message": "stopped"}
            return self.after_version, {"message": "java.lang.NullPointerException"}
        with self._lock:
            try:
                return 200, self._route(method, path, query, headers, body)
            except Rejected as rejected:
                return rejected.status, {"message": rejected.message}

    def _authenticated(self, headers) -> bool:
        return (
            headers.get("X-API-KEY") == self.api_key
            or headers.get("X-Metabase-Session") in self.sessions
        )

    def _route(self, method: str, path: str, query: dict, headers, body: Any) -> Any:
        if (method, path) == ("GET", "/api/session/properties"):
            return {"version": {"tag": self.version}, "site-name": "fake"}
        if (method, path) == ("POST", "/api/session"):
            return self._login(body)
        if not self._authenticated(headers):
            raise Rejected(401, "Unauthenticated")
        if path.startswith(("/api/database", "/api/table", "/api/field")) and not self.admin:
            if (method, path) == ("GET", "/api/database"):
                return self._list_databases(with_details=False)
            raise Rejected(403, "You don't have permissions to do that.")
        routes = [
            ("GET", r"/api/user/current", lambda: {"id": 1, "email": next(iter(self.users))}),
            ("GET", r"/api/collection", self._list_collections),
            ("POST", r"/api/collection", lambda: self._create_collection(body)),
            ("PUT", r"/api/collection/(\d+)", lambda i: self._update(self.collections, i, body)),
            ("GET", r"/api/collection/(\d+)/items", lambda i: self._items(i, query)),
            ("GET", r"/api/database", self._list_databases),
            ("GET", r"/api/database/(\d+)", lambda i: self._get(self.databases, i)),
            ("POST", r"/api/database", lambda: self._create_database(body)),
            ("PUT", r"/api/database/(\d+)", lambda i: self._update_database(i, body)),
            ("POST", r"/api/database/(\d+)/sync_schema", self._sync),
            ("GET", r"/api/database/(\d+)/metadata", lambda i: self._metadata(i, query)),
            ("PUT", r"/api/table/(\d+)", lambda i: self._update_table(i, body)),
            ("PUT", r"/api/field/(\d+)", lambda i: self._update_field(i, body)),
            ("GET", r"/api/card/(\d+)", lambda i: self._card(i)),
            ("POST", r"/api/card", lambda: self._create_card(body)),
            ("PUT", r"/api/card/(\d+)", lambda i: self._update_card(i, body)),
            ("POST", r"/api/card/(\d+)/query", lambda i: self._query(i, body)),
            ("POST", r"/api/dashboard", lambda: self._create_dashboard(body)),
            ("GET", r"/api/dashboard/(\d+)", lambda i: self._get(self.dashboards, i)),
            ("PUT", r"/api/dashboard/(\d+)", lambda i: self._update_dashboard(i, body)),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return action(*(int(group) for group in match.groups()))
        raise Rejected(404, f"API endpoint does not exist: {method} {path}")

    # --- endpoints -----------------------------------------------------------------------

    def _login(self, body: dict) -> dict:
        if self.users.get((body or {}).get("username")) != (body or {}).get("password"):
            raise Rejected(401, "did not match stored password")
        token = f"session-{self.new_id()}"
        self.sessions.add(token)
        return {"id": token}

    @staticmethod
    def _get(store: dict[int, dict], object_id: int) -> dict:
        if object_id not in store:
            raise Rejected(404, "Not found.")
        return store[object_id]

    def _update(self, store: dict[int, dict], object_id: int, body: dict) -> dict:
        _check_description(body)
        self._get(store, object_id).update(body)
        return store[object_id]

    def _list_collections(self) -> list[dict]:
        root = {"id": "root", "name": "Our analytics", "location": None, "archived": False}
        return [root, *self.collections.values()]

    def _create_collection(self, body: dict) -> dict:
        if not body.get("name"):
            raise Rejected(400, "collection: name is required")
        _check_description(body)
        collection_id = self.new_id()
        self.collections[collection_id] = {
            "id": collection_id,
            "location": "/",
            "archived": False,
            "personal_owner_id": None,
            "description": None,
            **body,
        }
        return self.collections[collection_id]

    def _items(self, collection_id: int, query: dict) -> dict:
        self._get(self.collections, collection_id)
        models = query.get("models", ["card", "dashboard"])
        found = []
        for model, store in (("card", self.cards), ("dashboard", self.dashboards)):
            if model in models:
                found += [
                    {
                        "id": item["id"],
                        "name": item["name"],
                        "description": item.get("description"),
                        "model": model,
                    }
                    for item in store.values()
                    if item.get("collection_id") == collection_id and not item.get("archived")
                ]
        return {"data": found, "total": len(found)}

    def _list_databases(self, with_details: bool = True) -> dict:
        databases = [
            database if with_details else {k: v for k, v in database.items() if k != "details"}
            for database in self.databases.values()
        ]
        return {"data": databases, "total": len(databases)}

    def _check_duckdb(self, details: dict) -> None:
        path = details.get("database_file")
        try:
            self.connection(str(path)).execute("select 1")
        except (duckdb.Error, TypeError) as error:
            raise Rejected(400, f"Couldn't connect to the database: {error}") from None

    def _sync(self, database_id: int) -> dict:
        database = self._get(self.databases, database_id)
        self.syncs.append(database_id)
        if database["engine"] == "duckdb":
            self._sync_tables(database)
        return {"status": "ok"}

    def _sync_tables(self, database: dict) -> None:
        """Tables and columns as the DuckDB driver describes them, merged into what is known:
        what is seen again keeps its id and metadata, what is gone turns inactive."""
        path = str(database["details"]["database_file"])
        columns = (
            self.connection(path)
            .execute(
                """
            select tables.table_schema, tables.table_name, columns.column_name,
                   columns.data_type, columns.ordinal_position
            from information_schema.tables as tables
            inner join information_schema.columns as columns
                on tables.table_catalog = columns.table_catalog
                and tables.table_schema = columns.table_schema
                and tables.table_name = columns.table_name
            where tables.table_schema not in ('information_schema', 'pg_catalog')
            order by 1, 2, 5
            """
            )
            .fetchall()
        )
        seen: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
        for schema, name, column, data_type, position in columns:
            seen.setdefault((schema, name), []).append((column, data_type, position))
        known = {
            (table["schema"], table["name"]): table
            for table in self.tables.values()
            if table["db_id"] == database["id"]
        }
        for key, table in known.items():
            table["active"] = key in seen
        for (schema, name), table_columns in seen.items():
            table = known.get((schema, name))
            if table is None:
                table = self._new_table(database["id"], schema, name)
            self._sync_fields(table, table_columns)

    def _new_table(self, database_id: int, schema: str, name: str) -> dict:
        table_id = self.new_id()
        self.tables[table_id] = {
            "id": table_id,
            "db_id": database_id,
            "schema": schema,
            "name": name,
            "display_name": humanized(name),
            "description": None,
            "caveats": None,
            "points_of_interest": None,
            "visibility_type": None,
            "entity_type": "entity/GenericTable",
            "field_order": "database",
            "active": True,
        }
        return self.tables[table_id]

    def _sync_fields(self, table: dict, columns: list[tuple[str, str, int]]) -> None:
        known = {
            field["name"]: field
            for field in self.fields.values()
            if field["table_id"] == table["id"]
        }
        names = {column for column, _, _ in columns}
        for name, field in known.items():
            field["active"] = name in names
        for column, data_type, position in columns:
            field = known.get(column)
            if field is None:
                field_id = self.new_id()
                field = self.fields[field_id] = {
                    "id": field_id,
                    "table_id": table["id"],
                    "name": column,
                    "display_name": humanized(column),
                    "description": None,
                    "semantic_type": None,
                    "fk_target_field_id": None,
                    "visibility_type": "normal",
                    "has_field_values": "none",
                    "coercion_strategy": None,
                    "settings": None,
                    "active": True,
                }
            field.update(
                database_type=data_type, base_type=_base_type(data_type), position=position - 1
            )

    def _fields_of(self, table: dict) -> list[dict]:
        fields = [
            field
            for field in self.fields.values()
            if field["table_id"] == table["id"] and field["active"]
        ]
        return sorted(fields, key=lambda field: field["position"])

    def _metadata(self, database_id: int, query: dict) -> dict:
        database = self._get(self.databases, database_id)
        include_hidden = query.get("include_hidden", ["false"])[0] == "true"
        tables = [
            {**table, "fields": self._fields_of(table), "segments": [], "metrics": []}
            for table in self.tables.values()
            if table["db_id"] == database_id
            and table["active"]
            and (include_hidden or table["visibility_type"] is None)
        ]
        return {**database, "tables": tables}

    def _update_table(self, table_id: int, body: dict) -> dict:
        table = self._get(self.tables, table_id)
        body = body or {}
        if "display_name" in body and not _non_blank_or_null(body["display_name"]):
            raise Rejected(400, "display_name: value must be a non-blank string.")
        if body.get("visibility_type") not in TABLE_VISIBILITY | {None}:
            raise Rejected(400, f"visibility_type: should be one of {sorted(TABLE_VISIBILITY)}")
        for key in ("description", "caveats", "points_of_interest"):
            if key in body and not isinstance(body[key], str | None):
                raise Rejected(400, f"{key}: should be a string")
        for key in ("description", "caveats", "points_of_interest", "visibility_type"):
            if key in body:
                table[key] = body[key]
        for key in ("display_name", "entity_type", "field_order", "show_in_getting_started"):
            if body.get(key) is not None:
                table[key] = body[key]
        return table

    def _update_field(self, field_id: int, body: dict) -> dict:
        field = self._get(self.fields, field_id)
        body = body or {}
        for key in ("description", "display_name", "caveats", "points_of_interest"):
            if key in body and not _non_blank_or_null(body[key]):
                raise Rejected(400, f"{key}: value must be a non-blank string.")
        if body.get("semantic_type") not in SEMANTIC_TYPES | {None}:
            raise Rejected(400, f"semantic_type: {body['semantic_type']} is not a semantic type")
        if body.get("visibility_type") not in FIELD_VISIBILITY | {None}:
            raise Rejected(400, f"visibility_type: should be one of {sorted(FIELD_VISIBILITY)}")
        if body.get("has_field_values") not in HAS_FIELD_VALUES | {None}:
            raise Rejected(400, f"has_field_values: should be one of {sorted(HAS_FIELD_VALUES)}")
        target = body.get("fk_target_field_id")
        if target is not None and target not in self.fields:
            raise Rejected(400, "fk_target_field_id: Invalid target field")
        if body.get("settings") is not None and not isinstance(body["settings"], dict):
            raise Rejected(400, "settings: should be a map")
        present = [
            "caveats",
            "description",
            "fk_target_field_id",
            "points_of_interest",
            "semantic_type",
            "visibility_type",
            "coercion_strategy",
            "has_field_values",
        ]
        for key in present:
            if key in body:
                field[key] = body[key]
        for key in ("display_name", "settings"):
            if body.get(key) is not None:
                field[key] = body[key]
        return field

    def _create_database(self, body: dict) -> dict:
        for key in ("name", "engine", "details"):
            if not body.get(key):
                raise Rejected(400, f"database: {key} is required")
        if body["engine"] == "duckdb":
            self._check_duckdb(body["details"])
        database_id = self.new_id()
        self.databases[database_id] = {"id": database_id, **body}
        if body["engine"] == "duckdb":
            # Metabase starts the first sync of a new database itself.
            self._sync_tables(self.databases[database_id])
        return self.databases[database_id]

    def _update_database(self, database_id: int, body: dict) -> dict:
        database = self._get(self.databases, database_id)
        if "details" in body and database["engine"] == "duckdb":
            self._check_duckdb(body["details"])
        database.update(body)
        return database

    def _card(self, card_id: int) -> dict:
        card = self._get(self.cards, card_id)
        return {**card, "dataset_query": _staged(card["dataset_query"])}

    def _check_card(self, body: dict) -> None:
        dataset_query = body["dataset_query"]
        if (
            dataset_query.get("type") != "native"
            or dataset_query.get("database") not in self.databases
        ):
            raise Rejected(400, "dataset_query: a native query on an existing database is required")
        for name, tag in dataset_query["native"].get("template-tags", {}).items():
            missing = [key for key in TAG_REQUIRED if not tag.get(key)]
            if missing or tag["name"] != name:
                raise Rejected(400, f"template tag {name}: missing {missing} or wrong name")

    def _create_card(self, body: dict) -> dict:
        missing = [key for key in CARD_REQUIRED if key not in body]
        if missing:
            raise Rejected(400, f"card: {', '.join(missing)} required")
        _check_description(body)
        self._check_card(body)
        card_id = self.new_id()
        self.cards[card_id] = {
            "id": card_id,
            "archived": False,
            "database_id": body["dataset_query"]["database"],
            **body,
        }
        return self._card(card_id)

    def _update_card(self, card_id: int, body: dict) -> dict:
        card = self._get(self.cards, card_id)
        _check_description(body)
        if "dataset_query" in body:
            self._check_card(body)
            card["database_id"] = body["dataset_query"]["database"]
        card.update(body)
        return self._card(card_id)

    def _query(self, card_id: int, body: dict) -> dict:
        card = self._get(self.cards, card_id)
        native = card["dataset_query"]["native"]
        values = {}
        for parameter in (body or {}).get("parameters", []):
            tag = parameter["target"][1][1]
            if tag not in native.get("template-tags", {}):
                raise Rejected(400, f"no template tag {tag} in card {card_id}")
            value = parameter.get("value")
            values[tag] = value[0] if isinstance(value, list) and value else value
        database = self.databases[card["database_id"]]["details"]
        try:
            cursor = self.connection(str(database["database_file"])).cursor()
            try:
                cursor.execute(render(native["query"], values))
                cols = [{"name": column[0]} for column in cursor.description]
                rows = cursor.fetchall()
            finally:
                cursor.close()
        except (duckdb.Error, ValueError) as error:
            return {"status": "failed", "error": str(error)}
        return {"status": "completed", "row_count": len(rows), "data": {"cols": cols, "rows": rows}}

    def _create_dashboard(self, body: dict) -> dict:
        if not (body or {}).get("name"):
            raise Rejected(400, "dashboard: name is required")
        _check_description(body)
        dashboard_id = self.new_id()
        self.dashboards[dashboard_id] = {
            "id": dashboard_id,
            "archived": False,
            "parameters": [],
            "dashcards": [],
            "description": None,
            "collection_id": None,
            **body,
        }
        return self.dashboards[dashboard_id]

    def _check_dashcard(self, dashcard: dict, existing_ids: set[int], parameter_ids: set) -> None:
        dashcard_id = dashcard.get("id")
        if not isinstance(dashcard_id, int):
            raise Rejected(400, "dashcards: every dashcard needs an integer id")
        if dashcard_id >= 0 and dashcard_id not in existing_ids:
            raise Rejected(
                400,
                f"dashcard id {dashcard_id} is not on this dashboard: new"
                " dashcards need negative ids",
            )
        for key in ("card_id", "row", "col", "size_x", "size_y"):
            if not isinstance(dashcard.get(key), int):
                raise Rejected(400, f"dashcard {dashcard_id}: {key} must be an integer")
        card = self._get(self.cards, dashcard["card_id"])
        tags = card["dataset_query"]["native"].get("template-tags", {})
        for mapping in dashcard.get("parameter_mappings", []):
            if mapping.get("parameter_id") not in parameter_ids:
                raise Rejected(400, f"mapping to unknown parameter {mapping.get('parameter_id')}")
            target = mapping.get("target")
            if (
                mapping.get("card_id") != dashcard["card_id"]
                or not isinstance(target, list)
                or target[0] != "variable"
                or target[1][0] != "template-tag"
                or target[1][1] not in tags
            ):
                raise Rejected(
                    400,
                    f"mapping {mapping} does not target a template tag of card"
                    f" {dashcard['card_id']}",
                )

    def _update_dashboard(self, dashboard_id: int, body: dict) -> dict:
        dashboard = self._get(self.dashboards, dashboard_id)
        _check_description(body)
        parameters = body.get("parameters", dashboard["parameters"])
        for parameter in parameters:
            if not all(parameter.get(key) for key in ("id", "name", "slug", "type")):
                raise Rejected(400, f"parameter {parameter} lacks id, name, slug or type")
        if "dashcards" in body:
            existing_ids = {dashcard["id"] for dashcard in dashboard["dashcards"]}
            parameter_ids = {parameter["id"] for parameter in parameters}
            ids = [dashcard.get("id") for dashcard in body["dashcards"]]
            if len(ids) != len(set(ids)):
                raise Rejected(400, "dashcards: ids must be unique")
            for dashcard in body["dashcards"]:
                self._check_dashcard(dashcard, existing_ids, parameter_ids)
            saved = []
            for dashcard in body["dashcards"]:
                dashcard_id = dashcard["id"] if dashcard["id"] > 0 else self.new_id()
                saved.append({**dashcard, "id": dashcard_id, "dashboard_id": dashboard_id})
            body = {**body, "dashcards": saved}
        dashboard.update(body)
        return dashboard


def _non_blank_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value.strip()))


def _base_type(data_type: str) -> str:
    upper = data_type.upper()
    return next((base for marker, base in BASE_TYPES if marker in upper), "type/*")


def _check_description(body: dict) -> None:
    """Metabase's descriptions are null or a non-blank string."""
    description = (body or {}).get("description")
    if isinstance(description, str) and not description.strip():
        raise Rejected(400, "description: value must be a non-blank string.")


def _staged(dataset_query: dict) -> dict:
    """A native query in the staged format Metabase 0.57+ answers with."""
    native = dataset_query["native"]
    stage = {"lib/type": "mbql.stage/native", "native": native["query"]}
    if native.get("template-tags"):
        stage["template-tags"] = native["template-tags"]
    return {"lib/type": "mbql/query", "database": dataset_query["database"], "stages": [stage]}


class _Handler(BaseHTTPRequestHandler):
    metabase: FakeMetabase

    def _answer(self, method: str) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, payload = self.metabase.handle(
            method, url.path.rstrip("/"), parse_qs(url.query), self.headers, body
        )
        self.metabase.requests.append((method, url.path.rstrip("/"), status))
        data = json.dumps(payload, default=str).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the hanging server's timeout tests)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_PUT(self) -> None:
        self._answer("PUT")

    def log_message(self, *args) -> None:
        pass


class RunningFakeMetabase:
    """The fake server on a free local port, in a background thread."""

    def __init__(self, metabase: FakeMetabase | None = None):
        self.metabase = metabase or FakeMetabase()
        handler = type("Handler", (_Handler,), {"metabase": self.metabase})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RunningFakeMetabase:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.metabase.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.metabase.close()


def published_database_file(metabase: FakeMetabase) -> Path:
    (database,) = metabase.databases.values()
    return Path(database["details"]["database_file"])
