"""The Metabase dashboards, end to end, on a freshly built CDNOW warehouse: every card's SQL
runs with its filters empty and set, the exposures match the SQL, and `clv publish` +
`clv dashboards` provision all four dashboards on a local fake Metabase, idempotently."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import requests
from fake_metabase import FakeMetabase, RunningFakeMetabase, published_database_file

from clv_warehouse.dashboards import check_card_filters, filter_values
from clv_warehouse.dashboards.compile import compile_dashboards
from clv_warehouse.dashboards.definitions import load_definitions
from clv_warehouse.dashboards.native_query import render, tag_names
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.publish import (
    STORAGE_VERSION,
    PublishError,
    latest_version,
    publish,
    storage_version,
)

pytestmark = pytest.mark.integration

DEFINITIONS = load_definitions()
CARDS = [(dashboard, card) for dashboard in DEFINITIONS.dashboards for card in dashboard.cards]
CLV = str(Path(sys.executable).parent / "clv")


@pytest.fixture(scope="module")
def published(cdnow_build, tmp_path_factory) -> Path:
    """The CDNOW warehouse, published as `clv publish` does."""
    target = tmp_path_factory.mktemp("published") / cdnow_build.warehouse.name
    return publish(cdnow_build.warehouse, target).path


@pytest.fixture(scope="module")
def compiled(published):
    compiled = compile_dashboards(published.stem)
    check_card_filters(DEFINITIONS, compiled.sql)
    return compiled


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    cursor = con.execute(sql)
    return [column[0] for column in cursor.description], cursor.fetchall()


@pytest.mark.parametrize(("dashboard", "card"), CARDS, ids=[card.key for _, card in CARDS])
def test_card_returns_its_columns_with_each_filter_empty_and_set(
    published, compiled, dashboard, card
):
    sql = compiled.sql[card.analysis]
    with duckdb.connect(str(published), read_only=True) as con:
        columns, rows = _run(con, render(sql, {}))
        assert rows, f"{card.key} returns no rows on CDNOW with its filters empty"
        assert card.named_columns() <= set(columns), f"{card.key} lacks columns the chart names"
        for tag in tag_names(sql):
            example = dashboard.filters[tag].example
            assert example is not None, f"filter {tag} of {dashboard.key} needs an example"
            rendered = render(sql, {tag: example})
            assert str(example) in rendered, f"setting {tag} must put its value in the SQL"
            filtered_columns, filtered_rows = _run(con, rendered)
            assert filtered_columns == columns
            if dashboard.filters[tag].type == "number" and tag.startswith("min_"):
                assert len(filtered_rows) <= len(rows)


def test_filters_narrow_the_customer_lists(published, compiled):
    """Set filters do filter: a minimum revenue and a list keep only matching customers."""
    sql = compiled.sql["customers_on_lists"]
    with duckdb.connect(str(published), read_only=True) as con:
        columns, rows = _run(
            con, render(sql, {"segment": "insiders", "min_predicted_revenue": 100})
        )
    assert rows
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    assert {record["list_name"] for record in records} == {"insiders"}
    assert min(record["predicted_revenue"] for record in records) >= 100


def test_level_filter_values_come_from_the_warehouse(published, compiled):
    values = filter_values(DEFINITIONS, compiled.sql, published)
    assert values[("customer_lists", "level")] == [
        "No purchase",
        "Light",
        "Regular",
        "Strong",
        "Top",
    ]
    assert values[("customer_lists", "country")] == []  # CDNOW has no country


def test_each_exposure_declares_exactly_what_its_dashboard_reads(compiled):
    for dashboard in DEFINITIONS.dashboards:
        analyses = {card.analysis for card in dashboard.cards}
        analyses |= {f.values_from for f in dashboard.filters.values() if f.values_from}
        reads = set().union(*(compiled.reads[analysis] for analysis in analyses))
        assert compiled.exposures[dashboard.key] == reads, dashboard.key


def test_every_dashboard_analysis_is_used(compiled):
    assert set(compiled.sql) == DEFINITIONS.analyses()


# --- provisioning through the command --------------------------------------------------------


def _clv(arguments: list[str], warehouse: Path, published: Path, **environment: str):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("METABASE_") and key != "CLV_PUBLISHED_PATH"
    }
    env.update(
        {
            "CLV_DUCKDB_PATH": str(warehouse),
            "CLV_PUBLISHED_PATH": str(published),
            "DO_NOT_TRACK": "1",
            **environment,
        }
    )
    return subprocess.run(
        [CLV, *arguments], cwd=PROJECT_DIR, env=env, text=True, capture_output=True, check=False
    )


@pytest.fixture(scope="module")
def provisioned(cdnow_build, tmp_path_factory):
    """`clv publish` then `clv dashboards` twice against one fake Metabase."""
    published = tmp_path_factory.mktemp("served") / cdnow_build.warehouse.name
    with RunningFakeMetabase() as server:
        metabase = server.metabase
        env = {"METABASE_URL": server.url, "METABASE_API_KEY": metabase.api_key}
        publish_run = _clv(["publish"], cdnow_build.warehouse, published)
        first = _clv(["dashboards"], cdnow_build.warehouse, published, **env)
        writes_after_first = list(metabase.writes())
        second = _clv(
            ["dashboards"],
            cdnow_build.warehouse,
            published,
            METABASE_URL=server.url,
            METABASE_USER="admin@example.com",
            METABASE_PASSWORD="correct horse",
        )
        queries = {
            card_id: requests.post(
                f"{server.url}/api/card/{card_id}/query",
                headers={"X-API-KEY": metabase.api_key},
                json={"parameters": []},
                timeout=30,
            ).json()
            for card_id in metabase.cards
        }
        yield {
            "metabase": metabase,
            "published": published,
            "publish": publish_run,
            "first": first,
            "second": second,
            "writes_after_first": writes_after_first,
            "queries": queries,
            "url": server.url,
        }


def test_publish_and_provision_succeed(provisioned):
    for step in ("publish", "first", "second"):
        result = provisioned[step]
        assert result.returncode == 0, result.stdout + result.stderr
    assert "read-only" in provisioned["publish"].stdout
    assert f"{len(CARDS)} created" not in provisioned["second"].stdout


def test_all_four_dashboards_are_provisioned(provisioned):
    metabase = provisioned["metabase"]
    assert [c["name"] for c in metabase.collections.values()] == [DEFINITIONS.collection_name]
    (database,) = metabase.databases.values()
    assert database["engine"] == "duckdb"
    # Metabase reads the newest version the published name links to, not the name itself.
    assert database["details"] == {
        "database_file": str(latest_version(provisioned["published"])),
        "read_only": True,
        "additional-options": "temp_directory=/tmp/clv-duckdb",
    }
    assert published_database_file(metabase) == latest_version(provisioned["published"])
    assert sorted(d["name"] for d in metabase.dashboards.values()) == sorted(
        d.name for d in DEFINITIONS.dashboards
    )
    assert len(metabase.cards) == len(CARDS)
    for dashboard in metabase.dashboards.values():
        definition = next(d for d in DEFINITIONS.dashboards if d.name == dashboard["name"])
        assert len(dashboard["dashcards"]) == len(definition.cards)
        assert {p["slug"] for p in dashboard["parameters"]} == set(definition.filters)
        mapped = {
            mapping["parameter_id"]
            for dashcard in dashboard["dashcards"]
            for mapping in dashcard["parameter_mappings"]
        }
        assert mapped == set(definition.filters), "every filter reaches at least one card"
    for card in metabase.cards.values():
        assert card["dataset_query"]["type"] == "native"
        assert "Managed by CLV Warehouse" in card["description"]


def test_every_card_runs_on_the_published_copy_as_metabase_would(provisioned):
    for card_id, answer in provisioned["queries"].items():
        card = provisioned["metabase"].cards[card_id]
        assert answer["status"] == "completed", (card["name"], answer.get("error"))
        assert answer["row_count"] > 0, card["name"]


def test_a_second_run_creates_and_changes_nothing(provisioned):
    metabase = provisioned["metabase"]
    assert provisioned["writes_after_first"], "the first run must have written"
    assert metabase.writes() == provisioned["writes_after_first"]
    assert "0 created, 0 updated" in provisioned["second"].stdout
    assert len(metabase.cards) == len(CARDS)
    assert len(metabase.dashboards) == 4


def test_metabase_shows_the_dbt_docs_of_every_mart(provisioned, compiled):
    """After `clv dashboards` (what `make dashboards` runs after `clv publish`), every mart's
    table and documented column carries its dbt description; money is currency, labels are
    categories, the relationships tests are keys; the technical tables are hidden."""
    metabase = provisioned["metabase"]
    assert "docs       updated" in provisioned["first"].stdout
    assert "docs       unchanged" in provisioned["second"].stdout
    marts = [
        node
        for node in compiled.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    ]
    assert len(marts) >= 25
    for node in marts:
        table = metabase.table("marts", node["alias"])
        assert table["description"] == node["description"], node["name"]
        assert table["visibility_type"] is None, node["name"]
        for column in node["columns"].values():
            field = table["fields"][column["name"]]
            assert field["description"] == (column["description"] or None), (
                node["name"],
                column["name"],
            )
    predictions = metabase.table("marts", "predictions")["fields"]
    customers = metabase.table("marts", "customers")["fields"]
    assert predictions["predicted_revenue"]["semantic_type"] == "type/Currency"
    assert predictions["model_name"]["semantic_type"] == "type/Category"
    assert predictions["customer_id"]["semantic_type"] == "type/FK"
    assert predictions["customer_id"]["fk_target_field_id"] == customers["customer_id"]["id"]
    assert customers["customer_id"]["semantic_type"] == "type/PK"
    features = metabase.table("marts", "customer_features")["fields"]
    assert features["revenue_last_90d"]["semantic_type"] == "type/Currency"
    for schema, name in (("intermediate", "int_model_inputs"), ("modeling", "xgboost_fits")):
        assert metabase.table(schema, name)["visibility_type"] == "hidden"


def test_a_changed_definition_updates_in_place_and_archives_what_is_gone(
    cdnow_build, provisioned, tmp_path
):
    definitions = tmp_path / "dashboards.yml"
    text = (PROJECT_DIR / "dashboards" / "dashboards.yml").read_text()
    text = text.replace("name: Cohorts\n", "name: Customer cohorts\n")
    text = text.replace("place: [15, 0, 24, 8]", "place: [15, 0, 12, 8]")
    cut = text.index("      - analysis: cohort_sizes")
    end = text.index("      - analysis: cohort_months")
    definitions.write_text(
        text[:cut] + text[end:].replace("place: [0, 12, 12, 6]", "place: [0, 0, 24, 6]")
    )
    metabase = provisioned["metabase"]
    before = len(metabase.writes())
    result = _clv(
        ["dashboards", "--definitions", str(definitions)],
        cdnow_build.warehouse,
        provisioned["published"],
        METABASE_URL=provisioned["url"],
        METABASE_API_KEY=metabase.api_key,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 created" in result.stdout
    assert "1 archived" in result.stdout
    assert [w for w in metabase.writes()[before:] if w[0] == "POST"] == []
    cohorts = next(d for d in metabase.dashboards.values() if d["name"] == "Customer cohorts")
    assert len(cohorts["dashcards"]) == 3
    archived = [c["name"] for c in metabase.cards.values() if c.get("archived")]
    assert archived == ["New customers per month"]


# --- clear errors -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def error_server():
    with RunningFakeMetabase(FakeMetabase(api_key="the-right-key")) as server:
        yield server


def _failed(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("url", "credentials", "message"),
    [
        (
            "http://127.0.0.1:9",
            {"METABASE_API_KEY": "x"},
            "Cannot reach Metabase at http://127.0.0.1:9",
        ),
        ("{server}/not-metabase", {"METABASE_API_KEY": "x"}, "does not look like Metabase"),
        ("{server}", {"METABASE_API_KEY": "wrong"}, "rejected the API key in METABASE_API_KEY"),
        (
            "{server}",
            {"METABASE_USER": "admin@example.com", "METABASE_PASSWORD": "wrong"},
            "rejected the login of METABASE_USER (admin@example.com)",
        ),
        ("{server}", {}, "No Metabase credentials: set METABASE_API_KEY"),
    ],
    ids=["wrong_url", "not_metabase", "bad_api_key", "bad_password", "no_credentials"],
)
def test_clear_errors_before_anything_is_written(
    cdnow_build, published, error_server, url, credentials, message
):
    url = url.format(server=error_server.url)
    output = _failed(
        _clv(["dashboards"], cdnow_build.warehouse, published, METABASE_URL=url, **credentials)
    )
    assert message in output
    assert error_server.metabase.writes() == []


def test_missing_published_copy(cdnow_build, tmp_path, error_server):
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    output = _failed(
        _clv(
            ["dashboards"],
            cdnow_build.warehouse,
            missing,
            METABASE_URL=error_server.url,
            METABASE_API_KEY="the-right-key",
        )
    )
    assert f"No published copy of the warehouse at {missing}" in output
    assert "clv publish" in output
    assert error_server.metabase.writes() == []


# --- publishing -------------------------------------------------------------------------------


def test_the_published_copy_is_read_only_and_complete(cdnow_build, published):
    assert not os.access(published, os.W_OK) or os.geteuid() == 0
    assert published.stat().st_mode & 0o222 == 0
    with duckdb.connect(str(published), read_only=True) as con:
        copied = con.execute("select count(*) from marts.predictions").fetchone()
    assert copied == cdnow_build.rows("select count(*) from marts.predictions")[0]


def test_the_cdnow_copy_opens_in_the_storage_format_of_the_drivers_duckdb(published):
    with duckdb.connect(str(published), read_only=True) as con:
        written = storage_version(con)
    assert written <= tuple(int(part) for part in STORAGE_VERSION.lstrip("v").split("."))
    assert published.is_symlink()


def test_publish_refuses_a_failed_or_unfinished_build(cdnow_build, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(cdnow_build.warehouse, warehouse)
    target = tmp_path / "published" / "warehouse.duckdb"
    publish(warehouse, target)
    first_copy = target.stat().st_ino
    for status, message in (("running", "never finished"), ("failed", "failed")):
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "insert into main.clv_builds values"
                " (?, 'build', now()::timestamp + interval 1 day, null, ?, 'model.x (error)')",
                [f"test-{status}", status],
            )
        with pytest.raises(PublishError, match=message):
            publish(warehouse, target)
        assert target.stat().st_ino == first_copy, "the published copy must stay as it was"
    assert not list(target.parent.glob(".*.tmp")), "no temporary copy is left behind"


def test_publish_refuses_while_a_writer_holds_the_warehouse(cdnow_build, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(cdnow_build.warehouse, warehouse)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
            " print('open', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(PublishError, match="another process holds the warehouse"):
            publish(warehouse, tmp_path / "published" / "warehouse.duckdb")
    finally:
        holder.kill()
        holder.wait()
