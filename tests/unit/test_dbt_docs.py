"""The dbt docs in Metabase (clv_warehouse/dashboards/dbt_docs.py) on a small database and a
small manifest: what the stand-in Metabase syncs and accepts, what dbt-metabase sets, and the
errors. dbt-metabase looks at Metabase's sync every 5 s, first after 5 s; here every 0.1 s
(the stand-in syncs at once; `clv dashboards` keeps the 5 s)."""

from __future__ import annotations

import duckdb
import pytest
import requests
from fake_metabase import FakeMetabase, RunningFakeMetabase

from clv_warehouse.dashboards.dbt_docs import (
    describe,
    exported_models,
    humanized,
    published_relations,
)
from clv_warehouse.dashboards.metabase import Metabase, MetabaseSettings, ProvisionError

DATABASE = "CLV Warehouse"


@pytest.fixture(autouse=True)
def _quick_sync_polls(monkeypatch):
    monkeypatch.setattr("dbtmetabase._models._SYNC_PERIOD", 0.1)


def _column(description: str, **meta: str) -> dict:
    return {"description": description, "meta": {f"metabase.{k}": v for k, v in meta.items()}}


def _model(name: str, schema: str, description: str, columns: dict, **meta: str) -> dict:
    return {
        "resource_type": "model",
        "name": name,
        "alias": name,
        "unique_id": f"model.clv.{name}",
        "database": "served",
        "schema": schema,
        "config": {"materialized": "table"},
        "description": description,
        "meta": {f"metabase.{k}": v for k, v in meta.items()},
        "tags": [],
        "columns": {column: {"name": column, **body} for column, body in columns.items()},
    }


def _manifest(**changes) -> dict:
    customers = _model(
        "customers",
        "marts",
        "One row per customer.",
        {"customer_id": _column("The customer."), "country": _column("Last country.")},
    )
    predictions = _model(
        "predictions",
        "marts",
        "One row per customer and model.",
        {
            "customer_id": _column("The customer."),
            "model_name": _column("The model.", semantic_type="type/Category"),
            "predicted_revenue": _column("Revenue forecast.", semantic_type="type/Currency"),
            **changes.pop("prediction_columns", {}),
        },
    )
    inputs = _model("int_inputs", "intermediate", "Model inputs.", {}, visibility_type="hidden")
    # dbt's staging names: Metabase shows "Stg Shop Orders", which does not map back to the
    # name, so dbt-metabase would reset the display name on every run (Metabase ignores a null)
    orders = _model("stg_shop__orders", "staging", "Orders.", {}, visibility_type="hidden")
    relationship = {
        "resource_type": "test",
        "name": "relationships_predictions_customer_id",
        "column_name": "customer_id",
        "test_metadata": {
            "name": "relationships",
            "kwargs": {"to": "ref('customers')", "field": "customer_id"},
        },
        "depends_on": {"nodes": ["model.clv.customers", "model.clv.predictions"]},
        "refs": [{"name": "customers"}, {"name": "predictions"}],
    }
    nodes = {
        node["unique_id"]: node
        for node in (customers, predictions, inputs, orders, *changes.pop("models", []))
    }
    nodes["test.clv.relationships"] = relationship
    child_map = {unique_id: [] for unique_id in nodes}
    child_map["model.clv.predictions"] = ["test.clv.relationships"]
    return {"nodes": nodes, "sources": {}, "child_map": child_map}


@pytest.fixture
def served(tmp_path):
    database_file = tmp_path / "served.duckdb"
    with duckdb.connect(str(database_file)) as con:
        con.execute("create schema marts")
        con.execute("create schema intermediate")
        con.execute("create schema staging")
        con.execute("create view staging.stg_shop__orders as select 1 as order_id")
        con.execute("create table marts.customers (customer_id varchar, country varchar)")
        con.execute(
            "create table marts.predictions"
            " (customer_id varchar, model_name varchar, predicted_revenue double)"
        )
        con.execute("create table intermediate.int_inputs (x integer)")
        con.execute("create table main.clv_builds (build_id varchar)")
    return database_file


@pytest.fixture
def metabase_and_database(served):
    with RunningFakeMetabase() as running:
        fake = running.metabase
        settings = MetabaseSettings(
            running.url, fake.api_key, None, None, str(served), sync_timeout_seconds=1
        )
        metabase = Metabase(settings)
        metabase.call(
            "POST",
            "/api/database",
            {"name": DATABASE, "engine": "duckdb", "details": {"database_file": str(served)}},
        )
        yield metabase, fake


def _put(running_url: str, key: str, path: str, body: dict) -> int:
    headers = {"X-API-KEY": key}
    return requests.put(running_url + path, json=body, headers=headers, timeout=10).status_code


def test_the_stand_in_syncs_tables_and_checks_metadata_like_metabase(metabase_and_database):
    metabase, fake = metabase_and_database
    (database_id,) = fake.databases
    metadata = metabase.call("GET", f"/api/database/{database_id}/metadata")
    tables = {(table["schema"], table["name"]) for table in metadata["tables"]}
    assert ("marts", "predictions") in tables
    assert ("main", "clv_builds") in tables
    predictions = fake.table("marts", "predictions")
    assert predictions["display_name"] == "Predictions"
    field = predictions["fields"]["customer_id"]
    assert (field["display_name"], field["base_type"]) == ("Customer ID", "type/Text")
    url, key = metabase.settings.url, fake.api_key
    bad = [
        {"description": " "},
        {"semantic_type": "type/Money"},
        {"visibility_type": "gone"},
        {"fk_target_field_id": 10_000},
        {"has_field_values": "many"},
    ]
    for body in bad:
        assert _put(url, key, f"/api/field/{field['id']}", body) == 400, body
    assert _put(url, key, f"/api/table/{predictions['id']}", {"visibility_type": "gone"}) == 400
    assert _put(url, key, f"/api/field/{field['id']}", {"semantic_type": "type/PK"}) == 200
    assert fake.fields[field["id"]]["semantic_type"] == "type/PK"
    assert _put(url, key, f"/api/table/{predictions['id']}", {"visibility_type": "hidden"}) == 200
    shown = metabase.call("GET", f"/api/database/{database_id}/metadata")
    assert ("marts", "predictions") not in {(t["schema"], t["name"]) for t in shown["tables"]}
    hidden = metabase.call("GET", f"/api/database/{database_id}/metadata", include_hidden="true")
    assert ("marts", "predictions") in {(t["schema"], t["name"]) for t in hidden["tables"]}


def test_table_and_field_metadata_are_admin_only(served):
    with RunningFakeMetabase(FakeMetabase(admin=False)) as running:
        assert _put(running.url, running.metabase.api_key, "/api/field/1", {}) == 403


def test_the_manifest_describes_tables_and_columns_then_changes_nothing(
    served, metabase_and_database
):
    metabase, fake = metabase_and_database
    manifest = _manifest()
    relations = published_relations(served)
    exported = ["customers", "int_inputs", "predictions", "stg_shop__orders"]
    assert exported_models(manifest, relations) == exported
    first = describe(metabase, manifest, DATABASE, relations)
    assert first.line() == (
        "docs",
        "updated",
        "4 models from the dbt manifest: 4 tables, 5 columns",
    )
    predictions = fake.table("marts", "predictions")
    assert predictions["description"] == "One row per customer and model."
    fields = predictions["fields"]
    assert fields["predicted_revenue"]["description"] == "Revenue forecast."
    assert fields["predicted_revenue"]["semantic_type"] == "type/Currency"
    assert fields["model_name"]["semantic_type"] == "type/Category"
    customers = fake.table("marts", "customers")
    # the relationships test: a foreign key, and its target a primary key
    assert fields["customer_id"]["semantic_type"] == "type/FK"
    assert fields["customer_id"]["fk_target_field_id"] == customers["fields"]["customer_id"]["id"]
    assert customers["fields"]["customer_id"]["semantic_type"] == "type/PK"
    assert fake.table("intermediate", "int_inputs")["visibility_type"] == "hidden"
    assert fake.table("staging", "stg_shop__orders")["display_name"] == "Stg Shop Orders"
    assert fake.table("main", "clv_builds")["visibility_type"] is None  # not a dbt model
    writes = len(fake.writes())
    second = describe(metabase, manifest, DATABASE, relations)
    assert second.line() == ("docs", "unchanged", "4 models from the dbt manifest")
    assert len(fake.writes()) == writes


def test_a_documented_column_metabase_does_not_show_is_named(served, metabase_and_database):
    metabase, fake = metabase_and_database
    manifest = _manifest(prediction_columns={"revenue_p90": _column("High end.")})
    with pytest.raises(ProvisionError) as error:
        describe(metabase, manifest, DATABASE, published_relations(served))
    message = str(error.value)
    assert "Field 'REVENUE_P90' not in table 'MARTS.PREDICTIONS'" in message
    assert "METABASE_SYNC_TIMEOUT_SECONDS (now 1 s)" in message
    assert fake.writes() == [("POST", "/api/database", 200)]


def test_a_refused_change_names_the_request(served, metabase_and_database):
    metabase, _ = metabase_and_database
    manifest = _manifest()
    manifest["nodes"]["model.clv.predictions"]["columns"]["model_name"]["meta"] = {
        "metabase.semantic_type": "type/Money"
    }
    with pytest.raises(ProvisionError, match=r"Metabase refused PUT /api/field/\d+: HTTP 400"):
        describe(metabase, manifest, DATABASE, published_relations(served))


def test_models_missing_from_the_published_copy_are_not_exported(served):
    manifest = _manifest(models=[_model("model_runs", "marts", "Runs.", {})])
    assert "model_runs" not in exported_models(manifest, published_relations(served))


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("cool_toucans", "Cool Toucans"),  # metabase.util.humanization's own example
        ("customer_id", "Customer ID"),
        ("stg_shop__orders", "Stg Shop Orders"),
        ("T", "T"),
        ("USER_URL", "User URL"),
        ("revenue_last_90d", "Revenue Last 90d"),
    ],
)
def test_names_are_humanized_as_metabase_does(name, shown):
    assert humanized(name) == shown
