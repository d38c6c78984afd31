"""The pure parts of `clv serve`: id and list validation, response shaping, the release
object, key checks, paging numbers and the benchmark's percentile."""

from __future__ import annotations

import json

import duckdb
import pytest

from clv_warehouse.api import queries
from clv_warehouse.api.app import key_is_valid
from clv_warehouse.api.bench import percentile
from clv_warehouse.api.serve import ServeError, api_keys_from

INFO = {
    "as_of_date": "1998-07-01",
    "horizon_days": 90,
    "release": {"release_id": "build-1"},
    "lists": {"high_value": 3, "insiders": 1},
}


@pytest.mark.parametrize("value", ["00001", "12346", "12346.0", "A-17_b", "user@shop", "x:1+2"])
def test_customer_ids_of_every_layout_are_accepted(value):
    assert queries.malformed_customer_id(value) is None


@pytest.mark.parametrize(
    "value",
    ["", "1' or '1'='1", "a b", "-1", ".hidden", "1;drop", "é1", "a" * 129, "1\n2", "12\n", "%00"],
)
def test_malformed_customer_ids_are_named(value):
    assert queries.malformed_customer_id(value)


def test_customer_id_length_cap_is_inclusive():
    assert queries.malformed_customer_id("a" * 128) is None


@pytest.mark.parametrize("value", ["High", "high-value", "", "a" * 65, "1x", "x y"])
def test_malformed_list_names(value):
    assert queries.malformed_list_name(value)


@pytest.fixture
def tiny_copy():
    """A published copy in memory, attached as the server attaches one, with the columns
    the API reads: customer a (two models, a NaN p_alive, two drivers, two lists) and
    customer b (one model, no segment row, no driver, no list)."""
    con = duckdb.connect()
    con.execute("attach ':memory:' as published")
    con.execute("create schema published.marts")
    con.execute(
        "create table published.main.clv_builds as select 'build-1' as invocation_id,"
        " timestamp '2026-12-01 10:00' as started_at, timestamp '2026-12-01 10:05' as"
        " finished_at, 'success' as status"
    )
    con.execute(
        "create table published.marts.model_runs as select * from (values"
        " ('run-1', timestamp '2026-12-01 10:00', date '1998-07-01', 'scoring', 90, 'btyd',"
        "  'btyd-1', 'fitted', 0.5, false),"
        " ('run-1', timestamp '2026-12-01 10:00', date '1998-07-01', 'scoring', 90, 'xgboost',"
        "  'xgb-1', 'trained', 9.5, true),"
        " ('run-1', timestamp '2026-12-01 10:00', date '1998-04-02', 'backtest', 90, 'btyd',"
        "  'btyd-0', 'fitted', 0.5, false)"
        ") as runs(run_id, run_started_at, cutoff_date, cutoff_role, horizon_days,"
        " model_name, model_version, status, fit_seconds, is_primary_model)"
    )
    con.execute(
        "create table published.marts.predictions as select * from (values"
        " ('a', date '1998-07-01', 'scoring', 'xgboost', 'xgb-1', 0.4, 12.5, 3.0, 0.0, 0.0,"
        "  40.0, 10.0, 25.0, 80.0, null, null, null, false, null),"
        " ('a', date '1998-07-01', 'scoring', 'btyd', 'btyd-1', 0.3, 8.0, 2.0, 0.0, 0.0,"
        "  30.0, 9.0, 20.0, 45.0, 0.5, 'nan'::double, 29.8, false, null),"
        " ('a', date '1998-04-02', 'backtest', 'btyd', 'btyd-0', 0.9, 99.0, 9.0, 0.0, 0.0,"
        "  99.0, 9.0, 20.0, 45.0, 0.5, 0.9, 99.0, false, null),"
        " ('b', date '1998-07-01', 'scoring', 'btyd', 'btyd-1', 0.1, 1.0, 0.5, 0.0, 0.0,"
        "  3.0, null, null, null, null, null, null, true, 'not fitted')"
        ") as rows(customer_id, cutoff_date, cutoff_role, model_name, model_version,"
        " purchase_probability, predicted_revenue, predicted_revenue_point, revenue_p10,"
        " revenue_p50, revenue_p90, spend_if_purchase_p10, spend_if_purchase_p50,"
        " spend_if_purchase_p90, expected_purchases, p_alive, clv, is_fallback,"
        " fallback_reason)"
    )
    con.execute(
        "create table published.marts.customer_spend_levels as select * from (values"
        " ('a', date '1998-07-01', 'xgboost', 1, 2), ('a', date '1998-07-01', 'btyd', 1, 1)"
        ") as levels(customer_id, cutoff_date, model_name, current_level, predicted_level)"
    )
    con.execute(
        "create table published.marts.customer_segments as select 'a' as customer_id,"
        " 'xgboost' as model_name, 'high_value' as primary_segment, true as is_high_value,"
        " false as is_churn_risk, false as is_missed_opportunity"
    )
    con.execute(
        "create table published.marts.customer_prediction_drivers as select 'a' as"
        " customer_id, 'scoring' as cutoff_role, 'frequency' as driver_1_feature,"
        " 0.7 as driver_1_contribution, 'recency' as driver_2_feature,"
        " -0.2 as driver_2_contribution, null::varchar as driver_3_feature,"
        " null::double as driver_3_contribution"
    )
    con.execute(
        "create table published.marts.customer_lists as select * from (values"
        " ('insiders', 'a', 1), ('high_value', 'a', 1)) as lists(list_name, customer_id,"
        " list_rank)"
    )
    info = queries.describe(con)
    yield con, info
    con.close()


def test_customer_document_groups_each_models_latest_forecast(tiny_copy):
    _con, info = tiny_copy
    body = json.loads(queries.read_customer("a", info))
    assert body["customer_id"] == "a"
    assert body["as_of_date"] == "1998-07-01"
    assert body["horizon_days"] == 90
    assert body["release"]["release_id"] == "build-1"
    btyd, xgboost = body["forecasts"]
    assert (btyd["model_name"], xgboost["model_name"]) == ("btyd", "xgboost")
    assert btyd["predicted_revenue"] == 8.0  # the scoring row, not the backtest one
    assert btyd["p_alive"] is None  # NaN is not JSON
    assert btyd["clv"] == 29.8
    assert btyd["revenue_range"] == {"p10": 0.0, "p50": 0.0, "p90": 30.0}
    assert btyd["spend_if_purchase"] == {"p10": 9.0, "p50": 20.0, "p90": 45.0}
    assert xgboost["spend_level"] == {"current": 1, "predicted": 2}
    assert body["segments"]["primary_segment"] == "high_value"
    assert body["segments"]["lists"] == ["high_value", "insiders"]
    assert body["top_drivers"] == [
        {"rank": 1, "feature": "frequency", "contribution": 0.7},
        {"rank": 2, "feature": "recency", "contribution": -0.2},
    ]


def test_customer_without_segment_driver_or_list(tiny_copy):
    _con, info = tiny_copy
    body = json.loads(queries.read_customer("b", info))
    (forecast,) = body["forecasts"]
    assert forecast["is_fallback"] is True
    assert forecast["fallback_reason"] == "not fitted"
    assert forecast["spend_level"] == {"current": None, "predicted": None}
    assert body["segments"]["lists"] == []
    assert body["top_drivers"] == []


@pytest.mark.parametrize("customer_id", ["nobody", "a' or '1'='1", "a%"])
def test_unknown_customer_is_none(tiny_copy, customer_id):
    _con, info = tiny_copy
    assert queries.read_customer(customer_id, info) is None


def test_lists_are_counted_once_per_snapshot(tiny_copy):
    _con, info = tiny_copy
    assert info["lists"] == {"high_value": 1, "insiders": 1}
    assert info["release"]["models"][1]["is_primary_model"] is True


def test_release_comes_from_the_build_and_its_scoring_run():
    runs = [
        {
            "run_id": "run-9",
            "run_started_at": "2026-12-01 10:00:00",
            "model_name": "btyd",
            "model_version": "btyd-abc",
            "status": "fitted",
            "fit_seconds": 1.5,
            "is_primary_model": False,
        }
    ]
    release = queries.release_of(runs, {"invocation_id": "inv-1", "finished_at": "x"})
    assert release["release_id"] == "inv-1"
    assert release["run_id"] == "run-9"
    assert release["models"][0]["model_version"] == "btyd-abc"
    assert queries.release_of(runs, None)["release_id"] == "run-9"
    trained = {"release_id": "release-abc", "training_end_date": "2021-12-01"}
    release = queries.release_of(runs, {"invocation_id": "inv-1"}, trained)
    assert release["release_id"] == "release-abc"
    assert release["source"] == "model_release"
    assert release["trained_through"] == "2021-12-01"
    assert release["run_id"] == "run-9"


def test_list_page_says_where_the_next_page_starts():
    rows = [{"customer_id": "a", "list_rank": 1}, {"customer_id": "b", "list_rank": 2}]
    first = queries.list_page_body("high_value", rows, limit=2, offset=0, info=INFO)
    assert first["total"] == 3
    assert first["next_offset"] == 2
    last = queries.list_page_body("high_value", rows[:1], limit=2, offset=2, info=INFO)
    assert last["next_offset"] is None


def test_keys_match_only_exactly():
    keys = [b"k" * 20, b"other-key-000000000"]
    assert key_is_valid("k" * 20, keys)
    assert key_is_valid("other-key-000000000", keys)
    assert not key_is_valid("k" * 19, keys)
    assert not key_is_valid("", keys)
    assert not key_is_valid(None, keys)


def test_serve_refuses_to_start_without_a_key_unless_told():
    with pytest.raises(ServeError, match=r"CLV_API_KEYS.*--no-auth"):
        api_keys_from({}, no_auth=False)
    with pytest.raises(ServeError, match="key 2 of CLV_API_KEYS is shorter"):
        api_keys_from({"CLV_API_KEYS": f"{'a' * 16},short"}, no_auth=False)
    assert api_keys_from({"CLV_API_KEYS": f" {'a' * 16} , ,{'b' * 20}"}, no_auth=False) == [
        "a" * 16,
        "b" * 20,
    ]
    assert api_keys_from({}, no_auth=True) is None


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7.0


@pytest.mark.parametrize("list_name", ["insiders", "high_value"])
def test_list_page_reads_the_named_list(tiny_copy, list_name):
    con, info = tiny_copy
    con.execute(
        "create or replace table published.marts.customer_lists as select list_name,"
        " customer_id, list_rank, 1.0 as predicted_revenue, 0.0 as revenue_p10,"
        " 2.0 as revenue_p90, 0.5 as purchase_probability, null::double as p_alive,"
        " null::double as clv, 1 as current_level, 1 as predicted_level from (values"
        " ('insiders', 'a', 1), ('high_value', 'a', 1), ('high_value', 'b', 2))"
        " as lists(list_name, customer_id, list_rank)"
    )
    body = queries.read_list_page(con, list_name, 10, 0, info)
    assert [row["customer_id"] for row in body["customers"]] == (
        ["a"] if list_name == "insiders" else ["a", "b"]
    )
    # A list name is a bound value: text that would be SQL reads as an unknown list.
    assert queries.read_list_page(con, "insiders' or '1'='1", 10, 0, info) is None
