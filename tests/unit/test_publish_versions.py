"""`clv publish` writes a new versioned file each time, in a storage format the DuckDB of
Metabase's driver can read, and `clv dashboards` points Metabase at it before the old
copies go (issue 17). The stand-in Metabase keeps one DuckDB connection per path, as the
driver does, so a copy renamed over the same path would never be seen."""

from __future__ import annotations

import duckdb
import pytest
import requests
from fake_metabase import RunningFakeMetabase

from clv_warehouse.dashboards import provision_compiled
from clv_warehouse.dashboards.definitions import Card, Dashboard, Definitions
from clv_warehouse.dashboards.metabase import Metabase, MetabaseSettings
from clv_warehouse.publish import (
    KEEP_VERSIONS,
    STORAGE_VERSION,
    latest_version,
    publish,
    published_versions,
    storage_version,
)
from clv_warehouse.sql_text import sql_literal

COUNT_SQL = "select count(*) as customers from marts.customers"


def _warehouse(path, customers: int, build: int = 1):
    """The smallest warehouse `clv publish` accepts, with this many customers."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table if not exists main.clv_builds (invocation_id varchar, command varchar,"
            " started_at timestamp, finished_at timestamp, status varchar,"
            " failed_nodes varchar)"
        )
        con.execute(
            "insert into main.clv_builds values (?, 'build', timestamp '2026-12-01 10:00'"
            " + to_days(?), timestamp '2026-12-01 10:01' + to_days(?), 'success', null)",
            [f"run-{build}", build, build],
        )
        con.execute("create schema if not exists marts")
        for table in ("predictions", "customer_segments", "backtest_metrics"):
            con.execute(f"create table if not exists marts.{table} (customer_id varchar)")
        con.execute("create or replace table marts.customers (customer_id varchar)")
        con.execute("insert into marts.customers select 'c' || range from range(?)", [customers])
        con.execute("create or replace view marts.customer_count as " + COUNT_SQL)
    return path


def _definitions() -> Definitions:
    card = Card(
        dashboard="d",
        analysis="customer_count",
        card_key="customer_count",
        name="Customers",
        description="How many customers",
        display="scalar",
        row=0,
        col=0,
        width=6,
        height=4,
        settings={},
    )
    dashboard = Dashboard(key="d", name="D", description="", filters={}, cards=(card,))
    return Definitions("CLV", "", "CLV Warehouse", (dashboard,))


def test_each_publish_writes_a_new_version_and_points_the_name_at_it(tmp_path):
    warehouse = _warehouse(tmp_path / "clv_warehouse.duckdb", customers=2)
    published = tmp_path / "published" / "clv_warehouse.duckdb"
    first = publish(warehouse, published)
    second = publish(warehouse, published)
    assert first.path == second.path == published
    assert first.version != second.version
    assert first.version.name.startswith("clv_warehouse.v")
    assert published.is_symlink()
    assert latest_version(published) == second.version
    assert published_versions(published) == [first.version, second.version]
    with duckdb.connect(str(second.version), read_only=True) as con:
        # DuckDB names the database after the file name up to its first dot: every
        # version keeps the name the views and the dashboards' SQL use.
        assert con.execute("select current_database()").fetchone() == ("clv_warehouse",)
        assert con.execute("select * from marts.customer_count").fetchone() == (2,)
    for _ in range(KEEP_VERSIONS):
        publish(warehouse, published)
    versions = published_versions(published)
    assert len(versions) == KEEP_VERSIONS
    assert latest_version(published) == versions[-1]
    assert not list(published.parent.glob(".*.tmp"))


@pytest.mark.parametrize("source_format", [None, "v1.5.0"], ids=["default", "newer"])
def test_the_copy_opens_in_the_storage_format_of_the_drivers_duckdb(tmp_path, source_format):
    """DuckDB 1.5.6 writes v1.0.0 by default (copied as is); a warehouse in a newer format
    is rewritten into STORAGE_VERSION, views and all."""
    warehouse = tmp_path / "clv_warehouse.duckdb"
    if source_format:
        with duckdb.connect() as con:
            con.execute(
                f"attach {sql_literal(warehouse)} as w"
                f" (storage_version {sql_literal(source_format)})"
            )
    _warehouse(warehouse, customers=3)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert (storage_version(con) > (1, 4, 0)) == bool(source_format)
    version = publish(warehouse, tmp_path / "published" / "clv_warehouse.duckdb").version
    with duckdb.connect(str(version), read_only=True) as con:
        written = storage_version(con)
        assert con.execute("select * from marts.customer_count").fetchone() == (3,)
    wanted = tuple(int(part) for part in STORAGE_VERSION.lstrip("v").split("."))
    assert written <= wanted
    if source_format:
        assert written == wanted


def test_metabase_sees_each_publish_and_old_copies_go_after_the_switch(tmp_path):
    """Without versioned files this fails: the stand-in, like the driver, keeps its
    connection to the first file at that path and answers 2 customers after the second
    publish."""
    warehouse = _warehouse(tmp_path / "clv_warehouse.duckdb", customers=2)
    published = tmp_path / "published" / "clv_warehouse.duckdb"
    definitions = _definitions()
    sql = {"customer_count": COUNT_SQL}

    def customers_on_metabase(server) -> int:
        (card_id,) = server.metabase.cards
        answer = requests.post(
            f"{server.url}/api/card/{card_id}/query",
            headers={"X-API-KEY": server.metabase.api_key},
            json={"parameters": []},
            timeout=30,
        ).json()
        assert answer["status"] == "completed", answer
        return answer["data"]["rows"][0][0]

    with RunningFakeMetabase() as server:
        environment = {"METABASE_URL": server.url, "METABASE_API_KEY": server.metabase.api_key}

        def provision():
            settings = MetabaseSettings.from_environment(published, environment)
            return provision_compiled(published, definitions, sql, Metabase(settings))

        first = publish(warehouse, published)
        provision()
        assert customers_on_metabase(server) == 2
        _warehouse(warehouse, customers=5, build=2)
        second = publish(warehouse, published)
        # Published, not yet switched: Metabase still reads the first copy, which stays.
        assert customers_on_metabase(server) == 2
        assert first.version.exists()
        report = provision()
        assert customers_on_metabase(server) == 5
        (database,) = server.metabase.databases.values()
        assert database["details"]["database_file"] == str(second.version)
        assert server.metabase.syncs == [database["id"]]
        assert ("copy", "removed", first.version.name) in report.lines
        assert published_versions(published) == [second.version]


def test_a_container_path_keeps_the_folder_and_takes_the_version_name(tmp_path):
    warehouse = _warehouse(tmp_path / "clv_warehouse.duckdb", customers=1)
    published = tmp_path / "published" / "clv_warehouse.duckdb"
    version = publish(warehouse, published).version
    settings = MetabaseSettings.from_environment(
        published,
        {
            "METABASE_URL": "http://mb",
            "METABASE_API_KEY": "k",
            "METABASE_DUCKDB_PATH": "/data/clv_warehouse.duckdb",
        },
    )
    assert settings.duckdb_path == f"/data/{version.name}"


def test_a_publish_during_provisioning_keeps_the_version_metabase_reads(tmp_path):
    warehouse = _warehouse(tmp_path / "clv_warehouse.duckdb", customers=2)
    published = tmp_path / "published" / "clv_warehouse.duckdb"
    first = publish(warehouse, published)
    second = publish(warehouse, published)
    with RunningFakeMetabase() as server:
        environment = {"METABASE_URL": server.url, "METABASE_API_KEY": server.metabase.api_key}
        metabase = Metabase(MetabaseSettings.from_environment(published, environment))
        third = publish(warehouse, published)  # lands while provisioning runs
        sql = {"customer_count": COUNT_SQL}
        report = provision_compiled(published, _definitions(), sql, metabase)
    assert metabase.settings.duckdb_path == str(second.version)
    assert published_versions(published) == [second.version, third.version]
    assert [line for line in report.lines if line[0] == "copy"] == [
        ("copy", "removed", first.version.name)
    ]
