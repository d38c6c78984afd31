"""Dashboards as code without dbt: Metabase's query syntax, the definition checks, the fake
Metabase's rejections, and the provisioner's create-then-leave-alone behaviour."""

from __future__ import annotations

import duckdb
import pytest
import requests
from fake_metabase import FakeMetabase, RunningFakeMetabase

from clv_warehouse.dashboards import check_card_filters
from clv_warehouse.dashboards.definitions import (
    DEFINITIONS_PATH,
    DefinitionError,
    load_definitions,
)
from clv_warehouse.dashboards.metabase import (
    Metabase,
    MetabaseSettings,
    Provisioner,
    ProvisionError,
    _parse_version,
)
from clv_warehouse.dashboards.native_query import (
    MissingParameterError,
    render,
    tag_names,
    template_tags,
)

QUERY = "select * from t where true [[and country = {{country}}]] [[and x >= {{ min_x }}]]"


def test_optional_clauses_are_dropped_when_empty_and_filled_when_set():
    assert render(QUERY, {}) == "select * from t where true  "
    assert render(QUERY, {"country": "", "min_x": None}) == "select * from t where true  "
    assert render(QUERY, {"country": "O'Hara", "min_x": 2.5}) == (
        "select * from t where true and country = 'O''Hara' and x >= 2.5"
    )


def test_a_required_tag_without_a_value_is_an_error():
    with pytest.raises(MissingParameterError, match="model"):
        render("select {{model}}", {})


def test_template_tags_are_stable_and_typed():
    types = {"country": "text", "min_x": "number"}
    first = template_tags("d/card", QUERY, types)
    assert tag_names(QUERY) == ["country", "min_x"]
    assert first == template_tags("d/card", QUERY, types)
    assert first["min_x"]["type"] == "number"
    other_card = template_tags("other/card", QUERY, types)
    assert first["country"]["id"] != other_card["country"]["id"]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v0.58.9", (0, 58)),
        ("v1.49.3", (0, 49)),
        ("v0.47.1", (0, 47)),
        ("nightly", None),
    ],
)
def test_versions(tag, expected):
    assert _parse_version(tag) == expected


def _definitions_with(tmp_path, old: str, new: str):
    path = tmp_path / "dashboards.yml"
    text = DEFINITIONS_PATH.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return load_definitions(path)


def test_the_repository_definitions_load():
    definitions = load_definitions()
    assert [d.name for d in definitions.dashboards] == [
        "Spend-level forecast",
        "Customer lists",
        "Model quality",
        "Cohorts",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("place: [0, 12, 12, 6]", "place: [0, 14, 12, 6]", "off Metabase's 24-column grid"),
        ("place: [0, 12, 12, 6]", "place: [0, 6, 12, 6]", "overlap"),
        ("analysis: cohort_sizes", "analysis: no_such_question", "no_such_question"),
        ("type: number", "type: date", "type 'date' is not one of text, number"),
        ("display: bar", "display: ''", "'display' is required"),
    ],
)
def test_bad_definitions_are_named(tmp_path, old, new, message):
    with pytest.raises(DefinitionError, match=message):
        _definitions_with(tmp_path, old, new)


def _sql_using_every_filter(definitions) -> dict[str, str]:
    """Stand-in compiled SQL: every card takes every filter of its dashboard."""
    sql = {name: "select 1 as x" for name in definitions.analyses()}
    for dashboard in definitions.dashboards:
        for card in dashboard.cards:
            tags = " ".join(f"[[and x = {{{{{key}}}}}]]" for key in dashboard.filters)
            sql[card.analysis] = f"select 1 as x where true {tags}"
    return sql


def test_a_card_filter_must_belong_to_its_dashboard():
    definitions = load_definitions()
    sql = _sql_using_every_filter(definitions)
    check_card_filters(definitions, sql)
    sql["cohort_sizes"] += " [[and x = {{model}}]]"
    with pytest.raises(DefinitionError, match="cohorts/cohort_sizes uses model"):
        check_card_filters(definitions, sql)


def test_a_filter_no_card_uses_is_an_error():
    definitions = load_definitions()
    sql = _sql_using_every_filter(definitions)
    for card in definitions.dashboards[3].cards:
        sql[card.analysis] = "select 1 as x"
    with pytest.raises(DefinitionError, match="dashboard cohorts defines filters no card uses"):
        check_card_filters(definitions, sql)


# --- the fake Metabase rejects what Metabase rejects -------------------------------------


@pytest.fixture
def server(tmp_path):
    database_file = tmp_path / "served.duckdb"
    with duckdb.connect(str(database_file)) as con:
        con.execute("create table t as select 'UK' as country, 3 as x")
    with RunningFakeMetabase() as running:
        running.database_file = database_file
        yield running


def _call(server, method, path, body=None, auth=True):
    headers = {"X-API-KEY": server.metabase.api_key} if auth else {}
    return requests.request(method, server.url + path, json=body, headers=headers, timeout=10)


def _database(server) -> dict:
    details = {"database_file": str(server.database_file)}
    body = {"name": "d", "engine": "duckdb", "details": details}
    return _call(server, "POST", "/api/database", body).json()


def _card_body(database_id):
    tags = template_tags("d/c", QUERY, {"country": "text", "min_x": "number"})
    return {
        "name": "c",
        "display": "table",
        "visualization_settings": {},
        "dataset_query": {
            "type": "native",
            "database": database_id,
            "native": {"query": QUERY, "template-tags": tags},
        },
    }


def test_fake_metabase_rejections(server):
    assert _call(server, "GET", "/api/collection", auth=False).status_code == 401
    database = _database(server)
    card_body = _card_body(database["id"])
    for missing in ("name", "dataset_query", "display", "visualization_settings"):
        body = {key: value for key, value in card_body.items() if key != missing}
        assert _call(server, "POST", "/api/card", body).status_code == 400, missing
    card = _call(server, "POST", "/api/card", card_body).json()
    assert _call(server, "POST", "/api/dashboard", {"description": "no name"}).status_code == 400
    dashboard = _call(server, "POST", "/api/dashboard", {"name": "d"}).json()
    parameter = {"id": "country", "name": "Country", "slug": "country", "type": "string/="}

    def put(**dashcard):
        base = {"id": -1, "card_id": card["id"], "row": 0, "col": 0, "size_x": 6, "size_y": 4}
        body = {"parameters": [parameter], "dashcards": [{**base, **dashcard}]}
        return _call(server, "PUT", f"/api/dashboard/{dashboard['id']}", body).status_code

    def mapping(tag, parameter_id="country"):
        target = ["variable", ["template-tag", tag]]
        return [{"parameter_id": parameter_id, "card_id": card["id"], "target": target}]

    assert put(id=5) == 400
    assert put(parameter_mappings=mapping("no_such_tag")) == 400
    assert put(parameter_mappings=mapping("country", "no_such_parameter")) == 400
    assert put(parameter_mappings=mapping("country")) == 200
    # Metabase 0.58 does not check the 24-column grid (the YAML validation does).
    assert put(col=20, size_x=6, parameter_mappings=mapping("country")) == 200
    answer = _call(
        server,
        "POST",
        f"/api/card/{card['id']}/query",
        {"parameters": [{"target": ["variable", ["template-tag", "country"]], "value": "UK"}]},
    ).json()
    assert answer["data"]["rows"] == [["UK", 3]]


def test_provisioner_creates_once_then_leaves_everything_alone(server, monkeypatch):
    definitions = load_definitions()
    sql = _sql_using_every_filter(definitions)
    settings = MetabaseSettings(
        url=server.url,
        api_key=server.metabase.api_key,
        user=None,
        password=None,
        duckdb_path=str(server.database_file),
    )
    first = Provisioner(Metabase(settings), definitions, sql, {}).run()
    writes = list(server.metabase.writes())
    second = Provisioner(Metabase(settings), definitions, sql, {}).run()
    assert first.count("created") == 1 + 1 + len(definitions.cards()) + 4
    assert second.count("unchanged") == first.count("created")
    assert server.metabase.writes() == writes
    new_dashcard_ids = [
        dashcard["id"]
        for dashboard in server.metabase.dashboards.values()
        for dashcard in dashboard["dashcards"]
    ]
    assert all(dashcard_id > 0 for dashcard_id in new_dashcard_ids)


def test_settings_come_from_the_environment_only(tmp_path):
    with pytest.raises(ProvisionError, match="Set METABASE_URL"):
        MetabaseSettings.from_environment(tmp_path, {})
    with pytest.raises(ProvisionError, match="No Metabase credentials"):
        MetabaseSettings.from_environment(tmp_path, {"METABASE_URL": "http://mb"})
    settings = MetabaseSettings.from_environment(
        tmp_path / "w.duckdb",
        {
            "METABASE_URL": "http://mb/",
            "METABASE_API_KEY": "k",
            "METABASE_DUCKDB_PATH": "/data/w.duckdb",
        },
    )
    assert (settings.url, settings.duckdb_path) == ("http://mb", "/data/w.duckdb")


# --- a slow, broken or credential-carrying Metabase (issue 13, item 8) -------------------


def _environment(url, **extra):
    return {"METABASE_URL": url, "METABASE_API_KEY": "mb_test_key", **extra}


@pytest.mark.parametrize(
    "credentials",
    [
        {"METABASE_API_KEY": "mb_test_key"},
        {"METABASE_USER": "admin@example.com", "METABASE_PASSWORD": "correct horse"},
    ],
    ids=["api_key", "login"],
)
def test_a_metabase_that_hangs_after_the_version_times_out(tmp_path, credentials):
    with RunningFakeMetabase(FakeMetabase(after_version="hang")) as running:
        environment = {"METABASE_URL": running.url, "METABASE_TIMEOUT_SECONDS": "1", **credentials}
        settings = MetabaseSettings.from_environment(tmp_path / "w.duckdb", environment)
        with pytest.raises(ProvisionError, match=r"did not answer .* within 1 s") as error:
            Metabase(settings)
    assert "METABASE_TIMEOUT_SECONDS" in str(error.value)


@pytest.mark.parametrize(
    "credentials",
    [
        {"METABASE_API_KEY": "mb_test_key"},
        {"METABASE_USER": "admin@example.com", "METABASE_PASSWORD": "correct horse"},
    ],
    ids=["api_key", "login"],
)
def test_a_server_error_after_the_version_is_a_server_error(tmp_path, credentials):
    with RunningFakeMetabase(FakeMetabase(after_version=500)) as running:
        environment = {"METABASE_URL": running.url, **credentials}
        settings = MetabaseSettings.from_environment(tmp_path / "w.duckdb", environment)
        with pytest.raises(ProvisionError) as error:
            Metabase(settings)
    message = str(error.value)
    assert "server error" in message
    assert "HTTP 500" in message
    assert "rejected" not in message


def test_a_server_error_during_provisioning_is_a_server_error(server):
    settings = MetabaseSettings(
        url=server.url,
        api_key=server.metabase.api_key,
        user=None,
        password=None,
        duckdb_path=str(server.database_file),
    )
    metabase = Metabase(settings)
    server.metabase.after_version = 502
    with pytest.raises(ProvisionError, match=r"server error .*GET /api/collection: HTTP 502"):
        metabase.call("GET", "/api/collection")


def test_credentials_in_the_url_are_masked_in_every_message(tmp_path):
    def failure(url, **extra):
        settings = MetabaseSettings.from_environment(tmp_path / "w.duckdb", _environment(url))
        with pytest.raises(ProvisionError) as error:
            Metabase(settings)
        return str(error.value)

    with RunningFakeMetabase(FakeMetabase(after_version=500)) as running:
        with_credentials = running.url.replace("http://", "http://robot:s3cret-pass@")
        messages = [failure(with_credentials)]
    with RunningFakeMetabase(FakeMetabase(after_version="hang")) as running:
        with_credentials = running.url.replace("http://", "http://robot:s3cret-pass@")
        settings = MetabaseSettings.from_environment(
            tmp_path / "w.duckdb", _environment(with_credentials, METABASE_TIMEOUT_SECONDS="1")
        )
        with pytest.raises(ProvisionError) as error:
            Metabase(settings)
        messages.append(str(error.value))
    # nothing listens on port 9; a rejected API key; a server that is not Metabase
    messages.append(failure("http://robot:s3cret-pass@127.0.0.1:9"))
    with RunningFakeMetabase(FakeMetabase(api_key="other")) as running:
        messages.append(failure(running.url.replace("http://", "http://robot:s3cret-pass@")))
        not_metabase = running.url.replace("http://", "http://robot:s3cret-pass@") + "/nothing"
        messages.append(failure(not_metabase))
    for message in messages:
        assert "s3cret-pass" not in message, message
        assert "robot" not in message, message
        assert "http://***@127.0.0.1:" in message, message


def test_dashboard_links_carry_no_credentials(server):
    url = server.url.replace("http://", "http://robot:s3cret-pass@")
    settings = MetabaseSettings(url, server.metabase.api_key, None, None, str(server.database_file))
    definitions = load_definitions()
    report = Provisioner(Metabase(settings), definitions, _sql_using_every_filter(definitions), {})
    links = report.run().dashboard_urls.values()
    assert links
    assert all(link.startswith(f"{server.url}/dashboard/") for link in links), links


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan", "inf", ""])
def test_the_timeout_setting_is_checked(tmp_path, value):
    environment = _environment("http://mb", METABASE_TIMEOUT_SECONDS=value)
    with pytest.raises(ProvisionError, match=f"METABASE_TIMEOUT_SECONDS={value!r}"):
        MetabaseSettings.from_environment(tmp_path / "w.duckdb", environment)


def test_the_timeout_setting_defaults_to_30_seconds(tmp_path):
    settings = MetabaseSettings.from_environment(tmp_path / "w.duckdb", _environment("http://mb"))
    assert settings.timeout_seconds == 30
    settings = MetabaseSettings.from_environment(
        tmp_path / "w.duckdb", _environment("http://mb", METABASE_TIMEOUT_SECONDS="2.5")
    )
    assert settings.timeout_seconds == 2.5


# --- the stand-in behaves like Metabase 0.58 (issue 17) -----------------------------------


def _settings(server, database_file, **changes) -> MetabaseSettings:
    return MetabaseSettings(
        url=server.url,
        api_key=server.metabase.api_key,
        user=None,
        password=None,
        duckdb_path=str(database_file),
        **changes,
    )


def test_cards_come_back_in_the_staged_query_format(server):
    database = _database(server)
    created = _call(server, "POST", "/api/card", _card_body(database["id"])).json()
    fetched = _call(server, "GET", f"/api/card/{created['id']}").json()
    for card in (created, fetched):
        query = card["dataset_query"]
        assert "native" not in query
        assert query["lib/type"] == "mbql/query"
        (stage,) = query["stages"]
        assert stage["native"] == QUERY
        assert set(stage["template-tags"]) == {"country", "min_x"}


def test_empty_descriptions_are_refused(server):
    for endpoint in ("/api/collection", "/api/dashboard"):
        for description in ("", " "):
            body = {"name": "x", "description": description}
            assert _call(server, "POST", endpoint, body).status_code == 400, (endpoint, body)
    assert _call(server, "POST", "/api/collection", {"name": "c", "description": None}).ok


def test_a_collection_without_a_description_is_provisioned(server, tmp_path):
    definitions = _definitions_with(
        tmp_path, "  description: >\n    Customer lifetime value dashboards", "  x-note: >\n    x"
    )
    assert definitions.collection_description == ""
    settings = _settings(server, server.database_file)
    Provisioner(Metabase(settings), definitions, _sql_using_every_filter(definitions), {}).run()
    (collection,) = server.metabase.collections.values()
    assert collection["description"] is None


@pytest.mark.parametrize("credentials", ["api_key", "login"])
def test_a_key_outside_administrators_is_told_so(tmp_path, credentials):
    database_file = tmp_path / "served.duckdb"
    duckdb.connect(str(database_file)).close()
    with RunningFakeMetabase(FakeMetabase(admin=False)) as running:
        settings = MetabaseSettings(
            url=running.url,
            api_key=running.metabase.api_key if credentials == "api_key" else None,
            user=None if credentials == "api_key" else "admin@example.com",
            password=None if credentials == "api_key" else "correct horse",
            duckdb_path=str(database_file),
        )
        definitions = load_definitions()
        provisioner = Provisioner(
            Metabase(settings), definitions, _sql_using_every_filter(definitions), {}
        )
        with pytest.raises(ProvisionError) as error:
            provisioner.run()
        assert running.metabase.databases == {}
    message = str(error.value)
    assert "HTTP 403" in message
    assert "Administrators" in message
    assert ("METABASE_API_KEY" if credentials == "api_key" else "METABASE_USER") in message


def test_a_metabase_older_than_0_49_names_the_version_needed(tmp_path):
    with RunningFakeMetabase(FakeMetabase(version="v0.48.3")) as running:
        settings = MetabaseSettings.from_environment(
            tmp_path / "w.duckdb", _environment(running.url)
        )
        with pytest.raises(ProvisionError) as error:
            Metabase(settings)
    message = str(error.value)
    assert "Metabase v0.48.3" in message
    assert "needs Metabase 0.49 or newer" in message


def test_the_connection_keeps_duckdb_temp_files_off_the_read_only_mount(server):
    definitions = load_definitions()
    settings = _settings(server, server.database_file)
    Provisioner(Metabase(settings), definitions, _sql_using_every_filter(definitions), {}).run()
    (database,) = server.metabase.databases.values()
    assert database["details"]["additional-options"] == "temp_directory=/tmp/clv-duckdb"
    environment = _environment("http://mb", METABASE_DUCKDB_TEMP_DIRECTORY="/scratch/duck")
    from_environment = MetabaseSettings.from_environment(server.database_file, environment)
    assert from_environment.duckdb_temp_directory == "/scratch/duck"
