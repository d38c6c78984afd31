"""`clv serve` over real HTTP: a server process started by the test on a free port, reading
the CDNOW build (session fixture cdnow_build) published into tmp_path.

Covered: a customer's forecasts against the warehouse, lists and paging, keys (missing,
wrong, header and bearer), malformed and unknown ids, the OpenAPI document, a server
started before any copy exists (503, then 200 once published), readers in threads while
`publish()` replaces the copy several times (no failed request, and the server moves to
the new copy), no traceback on the console, and `clv bench-api` on a handful of requests.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import duckdb
import pytest

from clv_warehouse.api.bench import run_benchmark, running_server
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.publish import publish

pytestmark = pytest.mark.integration

KEY = "test-key-" + "k" * 24
OTHER_KEY = "other-key-" + "o" * 24
START_TIMEOUT = 120.0


def get(server, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", path, headers=server.headers() if headers is None else headers)
        response = connection.getresponse()
        body = response.read()
        assert response.getheader("content-type", "").startswith("application/json"), body
        return response.status, json.loads(body)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def published(cdnow_build, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("api") / "published" / cdnow_build.warehouse.name
    publish(cdnow_build.warehouse, target)
    return target


@pytest.fixture(scope="module")
def server(published, tmp_path_factory):
    log = tmp_path_factory.mktemp("api_log") / "serve.log"
    with running_server(published, f"{KEY},{OTHER_KEY}", log, timeout=START_TIMEOUT) as running:
        running.key = KEY
        yield running
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def known_customer(published) -> str:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(
            "select customer_id from marts.customer_lists where list_name = 'high_value'"
            " order by list_rank limit 1"
        ).fetchone()[0]


def test_health_is_open_and_names_the_copy(server):
    status, body = get(server, "/health", headers={})
    assert status == 200
    assert body["status"] == "ok"
    assert body["as_of_date"]
    assert body["release_id"]
    assert body["auth"] is True


def test_customer_gets_each_models_latest_forecast(server, published, known_customer, cdnow_build):
    status, body = get(server, f"/customers/{known_customer}")
    assert status == 200, body
    with duckdb.connect(str(published), read_only=True) as con:
        expected = dict(
            con.execute(
                "select model_name, predicted_revenue from marts.predictions"
                " where customer_id = ? and cutoff_role = 'scoring'",
                [known_customer],
            ).fetchall()
        )
        as_of = con.execute(
            "select cast(max(cutoff_date) as varchar) from marts.predictions"
        ).fetchone()[0]
    assert body["customer_id"] == known_customer
    assert body["as_of_date"] == as_of
    models = {forecast["model_name"]: forecast for forecast in body["forecasts"]}
    assert set(models) == {"naive", "btyd", "xgboost"}
    for name, forecast in models.items():
        assert forecast["predicted_revenue"] == pytest.approx(expected[name])
        low, mid, high = (forecast["revenue_range"][q] for q in ("p10", "p50", "p90"))
        assert low <= mid <= high
        assert 0 < forecast["purchase_probability"] < 1
        assert forecast["spend_level"]["predicted"] is not None
    assert 0 <= models["btyd"]["p_alive"] <= 1
    assert models["btyd"]["clv"] >= 0
    assert "high_value" in body["segments"]["lists"]
    assert body["top_drivers"]
    assert body["top_drivers"][0]["rank"] == 1
    (scored_by,) = cdnow_build.rows(
        "select distinct release_id from marts.predictions where cutoff_role = 'scoring'"
    )
    assert body["release"]["release_id"] == scored_by[0]
    assert body["release"]["trained_through"] == "1998-07-01"
    assert {model["model_name"] for model in body["release"]["models"]} == set(models)


@pytest.mark.parametrize(
    "customer_id",
    ["1' or '1'='1", "a b", "x" * 129, "-1", "00001;drop table marts.customers", "é"],
)
def test_malformed_customer_ids_get_422_json(server, customer_id):
    status, body = get(server, "/customers/" + urllib.parse.quote(customer_id, safe=""))
    assert status == 422, body
    assert "malformed customer id" in body["error"]["message"]


def test_unknown_customer_gets_404_json(server):
    status, body = get(server, "/customers/no-such-customer-123")
    assert status == 404
    assert body["error"]["message"] == "no customer no-such-customer-123 in the published copy"


def test_keys_are_required_on_data_endpoints(server, known_customer):
    path = f"/customers/{known_customer}"
    assert get(server, path, headers={})[0] == 401
    status, body = get(server, path, headers={"X-API-Key": KEY + "x"})
    assert status == 401
    assert "X-API-Key" in body["error"]["message"]
    assert get(server, path, headers={"X-API-Key": OTHER_KEY})[0] == 200
    assert get(server, path, headers={"Authorization": f"Bearer {KEY}"})[0] == 200
    assert get(server, "/lists/high_value", headers={"Authorization": "Bearer nope"})[0] == 401


def test_lists_page_in_a_stable_order(server, published):
    with duckdb.connect(str(published), read_only=True) as con:
        total = con.execute(
            "select count(*) from marts.customer_lists where list_name = 'high_value'"
        ).fetchone()[0]
    status, whole = get(server, "/lists/high_value?limit=10&offset=0")
    assert status == 200
    assert whole["total"] == total
    assert whole["next_offset"] == 10
    first = get(server, "/lists/high_value?limit=4")[1]
    second = get(server, f"/lists/high_value?limit=6&offset={first['next_offset']}")[1]
    ids = [row["customer_id"] for row in first["customers"] + second["customers"]]
    assert ids == [row["customer_id"] for row in whole["customers"]]
    ranks = [row["list_rank"] for row in whole["customers"]]
    assert ranks == sorted(ranks)
    last = get(server, f"/lists/high_value?limit=1000&offset={total - 1}")[1]
    assert len(last["customers"]) == 1
    assert last["next_offset"] is None


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/lists/high_value?limit=0", 422),
        ("/lists/high_value?limit=1001", 422),
        ("/lists/high_value?limit=ten", 422),
        ("/lists/high_value?offset=-1", 422),
        ("/lists/High-Value", 422),
        ("/lists/no_such_list", 404),
    ],
)
def test_bad_list_requests(server, path, status):
    got, body = get(server, path)
    assert got == status, body
    assert body["error"]["status"] == status


def test_openapi_document_is_served_and_names_the_key(server):
    status, document = get(server, "/openapi.json", headers={})
    assert status == 200
    assert {"/health", "/customers/{customer_id}", "/lists/{list_name}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"


def test_serve_refuses_to_start_without_a_key():
    # It refuses before binding anything: the port is never opened.
    result = subprocess.run(
        [sys.executable, "-m", "clv_warehouse", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_DIR)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "CLV_API_KEYS" in result.stderr
    assert "--no-auth" in result.stderr


def test_missing_copy_is_503_until_published(cdnow_build, tmp_path):
    target = tmp_path / "later" / cdnow_build.warehouse.name
    log = tmp_path / "serve.log"
    with running_server(target, KEY, log, timeout=START_TIMEOUT) as server:
        status, body = get(server, "/health")
        assert status == 503
        assert "clv publish" in body["message"]
        status, body = get(server, "/customers/00001")
        assert status == 503
        assert "clv publish" in body["error"]["message"]
        assert get(server, "/lists/high_value")[0] == 503
        publish(cdnow_build.warehouse, target)
        assert get(server, "/health")[0] == 200
    assert "Traceback" not in log.read_text()


def test_no_failed_request_while_publish_replaces_the_copy(
    server, cdnow_build, published, known_customer
):
    stop = threading.Event()
    outcomes: list[tuple[int, str | None]] = []
    problems: list[str] = []

    def reader(path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            while not stop.is_set():
                connection.request("GET", path, headers=server.headers())
                response = connection.getresponse()
                body = json.loads(response.read())
                outcomes.append((response.status, body.get("published_at")))
        except Exception as error:  # a reader must never fail: record it for the assert
            problems.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    before = get(server, "/health")[1]["published_at"]
    paths = [f"/customers/{known_customer}", "/lists/insiders?limit=50", "/health"] * 2
    threads = [threading.Thread(target=reader, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            publish(cdnow_build.warehouse, published)
            assert get(server, "/health")[0] == 200
        # The new copy opens in the background while the old one serves: keep reading
        # until the server has moved to it.
        deadline = time.monotonic() + START_TIMEOUT
        while get(server, "/health")[1]["published_at"] == before:
            assert time.monotonic() < deadline, "the server never moved to the new copy"
            time.sleep(0.1)
        # and a little longer on the new copy
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not problems
    statuses = {status for status, _ in outcomes}
    assert statuses == {200}, [outcome for outcome in outcomes if outcome[0] != 200][:5]
    copies_seen = {published_at for _, published_at in outcomes if published_at}
    assert before in copies_seen
    assert len(copies_seen) >= 2, copies_seen
    assert len(outcomes) > 50


def test_bench_api_runs_a_handful_of_requests(published, tmp_path):
    report = run_benchmark(
        published,
        clients=(1, 2),
        requests_per_level=10,
        out=tmp_path / "api_bench",
        work_dir=tmp_path,
    )
    result = json.loads((tmp_path / "api_bench.json").read_text())
    assert [level["clients"] for level in result["levels"]] == [1, 2]
    assert all(level["errors"] == 0 and level["requests"] == 10 for level in result["levels"])
    assert "p99" in (tmp_path / "api_bench.md").read_text()
    assert "requests/s" in report
