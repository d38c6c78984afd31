"""The pure parts of `clv serve`: id and list validation, response shaping, the release
object, key checks, paging numbers and the benchmark's percentile."""

from __future__ import annotations

from datetime import date

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


def _forecast_row(model_name, **overrides):
    row = {
        "model_name": model_name,
        "model_version": "v1",
        "cutoff_date": date(1998, 7, 1),
        "horizon_days": 90,
        "purchase_probability": 0.4,
        "predicted_revenue": 12.5,
        "predicted_revenue_point": 3.0,
        "revenue_p10": 0.0,
        "revenue_p50": 0.0,
        "revenue_p90": 40.0,
        "spend_if_purchase_p10": 10.0,
        "spend_if_purchase_p50": 25.0,
        "spend_if_purchase_p90": 80.0,
        "expected_purchases": None,
        "p_alive": None,
        "clv": None,
        "is_fallback": False,
        "fallback_reason": None,
        "current_level": 1,
        "predicted_level": 0,
    }
    return {**row, **overrides}


def test_customer_body_groups_each_models_forecast():
    forecasts = [
        _forecast_row("btyd", p_alive=0.8, clv=120.0, expected_purchases=0.6),
        _forecast_row("xgboost", predicted_revenue=float("nan")),
    ]
    profile = {
        "primary_model": "xgboost",
        "primary_segment": "high_value",
        "is_high_value": True,
        "is_churn_risk": False,
        "is_missed_opportunity": False,
        "driver_1_feature": "frequency",
        "driver_1_contribution": 0.7,
        "driver_2_feature": "recency",
        "driver_2_contribution": -0.2,
        "driver_3_feature": None,
        "driver_3_contribution": None,
        "lists": ["high_value", "insiders"],
    }
    body = queries.customer_body("00001", forecasts, profile, INFO)
    assert body["as_of_date"] == "1998-07-01"
    assert body["release"] == {"release_id": "build-1"}
    btyd, xgboost = body["forecasts"]
    assert btyd["p_alive"] == 0.8
    assert btyd["clv"] == 120.0
    assert btyd["revenue_range"] == {"p10": 0.0, "p50": 0.0, "p90": 40.0}
    assert btyd["spend_level"] == {"current": 1, "predicted": 0}
    assert xgboost["predicted_revenue"] is None  # NaN is not JSON
    assert body["segments"]["lists"] == ["high_value", "insiders"]
    assert body["top_drivers"] == [
        {"rank": 1, "feature": "frequency", "contribution": 0.7},
        {"rank": 2, "feature": "recency", "contribution": -0.2},
    ]


def test_no_forecast_means_no_customer():
    assert queries.customer_body("nobody", [], None, INFO) is None


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
