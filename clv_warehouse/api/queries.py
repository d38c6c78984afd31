"""What the API reads from the published copy, and how rows become response bodies.

Every statement is fixed text; the customer id, list name, limit and offset are bound
parameters (``?``), never SQL text. The shaping functions take rows as dicts and return
plain dicts, so they are tested without a warehouse (tests/unit/test_api_queries.py).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import duckdb

from clv_warehouse.api.store import table

# Path values the API accepts: warehouse customer ids are text; these characters cover the
# ids of every supported layout (digits, letters, and . _ - : @ +). Longer or other ids
# are malformed (422), so nothing odd reaches a query or a log line.
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]*$"
CUSTOMER_ID_MAX_LENGTH = 128
LIST_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
LIST_NAME_MAX_LENGTH = 64
# The lists of marts.customer_lists (its accepted values): one of them may be empty.
KNOWN_LISTS = ("high_value", "churn_risk", "missed_opportunity", "insiders")
PAGE_LIMIT_MAX = 1000
PAGE_LIMIT_DEFAULT = 100
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)
_LIST_NAME = re.compile(LIST_NAME_PATTERN)


def malformed_customer_id(value: str) -> str | None:
    """Why ``value`` cannot be a customer id, or None when it can."""
    if len(value) > CUSTOMER_ID_MAX_LENGTH:
        return f"a customer id has at most {CUSTOMER_ID_MAX_LENGTH} characters"
    if not _CUSTOMER_ID.fullmatch(value):
        return (
            "a customer id starts with a letter or digit and holds only letters, digits"
            " and . _ - : @ +"
        )
    return None


def malformed_list_name(value: str) -> str | None:
    if len(value) > LIST_NAME_MAX_LENGTH or not _LIST_NAME.fullmatch(value):
        return "a list name is lowercase letters, digits and _ (e.g. high_value)"
    return None


def _rows(cursor: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any]) -> list[dict]:
    result = cursor.execute(sql, parameters)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def jsonable(value: Any) -> Any:
    """A value JSON can carry: dates as ISO text, NaN and infinities as null."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- the facts of a snapshot, read once when it is opened -------------------------------

_RUNS_SQL = f"""
select
    run_id,
    cast(run_started_at as varchar) as run_started_at,
    cutoff_date,
    horizon_days,
    model_name,
    model_version,
    status,
    fit_seconds,
    is_primary_model
from {table("marts.model_runs")}
where cutoff_role = 'scoring'
order by model_name
"""
_BUILD_SQL = f"""
select invocation_id, cast(finished_at as varchar) as finished_at
from {table("main.clv_builds")}
where status = 'success'
order by started_at desc
limit 1
"""
_LISTS_SQL = f"""
select list_name, count(*) as customers
from {table("marts.customer_lists")}
group by list_name
order by list_name
"""


def release_of(runs: list[dict], build: dict | None) -> dict[str, Any]:
    """The ``release`` object of every forecast response.

    There is no model release table yet: a release is the build that made the published
    copy (dbt invocation id, finish time) and its scoring run (run id, start time, each
    model's version and fit status from marts.model_runs). Swap this function when
    releases exist.
    """
    first = runs[0] if runs else {}
    return {
        "release_id": (build or {}).get("invocation_id") or first.get("run_id"),
        "source": "build",
        "built_at": (build or {}).get("finished_at"),
        "run_id": first.get("run_id"),
        "run_started_at": first.get("run_started_at"),
        "models": [
            {
                "model_name": run["model_name"],
                "model_version": run["model_version"],
                "status": run["status"],
                "fit_seconds": jsonable(run["fit_seconds"]),
                "is_primary_model": bool(run["is_primary_model"]),
            }
            for run in runs
        ],
    }


def describe(cursor: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The facts shared by every response from one published copy; builds the snapshot's
    serving table (SERVING_TABLE) on the way."""
    cursor.execute(_SERVING_SQL)
    cursor.execute(_SERVING_INDEX_SQL)
    runs = _rows(cursor, _RUNS_SQL, [])
    try:
        builds = _rows(cursor, _BUILD_SQL, [])
    except duckdb.CatalogException:  # a copy without the build log (never published so)
        builds = []
    first = runs[0] if runs else {}
    return {
        "as_of_date": jsonable(first.get("cutoff_date")),
        "horizon_days": first.get("horizon_days"),
        "release": release_of(runs, builds[0] if builds else None),
        "lists": {row["list_name"]: row["customers"] for row in _rows(cursor, _LISTS_SQL, [])},
    }


# --- one customer ---------------------------------------------------------------------

# Built once per snapshot in the snapshot's own in-memory database, and indexed: one row
# per customer per model at the scoring cutoff, with the customer's segments, lists and
# top drivers beside each. A lookup is then one indexed read instead of scans of four
# marts (about 30 ms a customer on CDNOW without it). It costs memory: roughly the
# scoring rows of marts.predictions with these columns.
SERVING_TABLE = "memory.main.customer_forecasts"
_SERVING_SQL = f"""
create table {SERVING_TABLE} as
with

lists as (

    select customer_id, list(list_name order by list_name) as lists
    from {table("marts.customer_lists")}
    group by customer_id

)

select
    predictions.customer_id,
    predictions.model_name,
    predictions.model_version,
    predictions.purchase_probability,
    predictions.predicted_revenue,
    predictions.predicted_revenue_point,
    predictions.revenue_p10,
    predictions.revenue_p50,
    predictions.revenue_p90,
    predictions.spend_if_purchase_p10,
    predictions.spend_if_purchase_p50,
    predictions.spend_if_purchase_p90,
    predictions.expected_purchases,
    predictions.p_alive,
    predictions.clv,
    predictions.is_fallback,
    predictions.fallback_reason,
    levels.current_level,
    levels.predicted_level,
    segments.model_name as primary_model,
    segments.primary_segment,
    segments.is_high_value,
    segments.is_churn_risk,
    segments.is_missed_opportunity,
    drivers.driver_1_feature,
    drivers.driver_1_contribution,
    drivers.driver_2_feature,
    drivers.driver_2_contribution,
    drivers.driver_3_feature,
    drivers.driver_3_contribution,
    lists.lists
from {table("marts.predictions")} as predictions
left join {table("marts.customer_spend_levels")} as levels
    on predictions.customer_id = levels.customer_id
    and predictions.model_name = levels.model_name
    and predictions.cutoff_date = levels.cutoff_date
left join {table("marts.customer_segments")} as segments
    on predictions.customer_id = segments.customer_id
left join {table("marts.customer_prediction_drivers")} as drivers
    on predictions.customer_id = drivers.customer_id
    and predictions.cutoff_date = drivers.cutoff_date
left join lists
    on predictions.customer_id = lists.customer_id
where predictions.cutoff_role = 'scoring'
order by predictions.customer_id, predictions.model_name
"""
_SERVING_INDEX_SQL = f"create index customer_forecasts_customer on {SERVING_TABLE} (customer_id)"
# No ORDER BY: sorting three rows in Python is cheaper than asking DuckDB to.
_CUSTOMER_SQL = f"select * from {SERVING_TABLE} where customer_id = ?"


def forecast_of(row: dict) -> dict[str, Any]:
    """One model's latest forecast for a customer, grouped as the API documents it."""
    value = {name: jsonable(item) for name, item in row.items()}
    return {
        "model_name": value["model_name"],
        "model_version": value["model_version"],
        "purchase_probability": value["purchase_probability"],
        "predicted_revenue": value["predicted_revenue"],
        "predicted_revenue_point": value["predicted_revenue_point"],
        "revenue_range": {
            "p10": value["revenue_p10"],
            "p50": value["revenue_p50"],
            "p90": value["revenue_p90"],
        },
        "spend_if_purchase": {
            "p10": value["spend_if_purchase_p10"],
            "p50": value["spend_if_purchase_p50"],
            "p90": value["spend_if_purchase_p90"],
        },
        "expected_purchases": value["expected_purchases"],
        "p_alive": value["p_alive"],
        "clv": value["clv"],
        "spend_level": {"current": value["current_level"], "predicted": value["predicted_level"]},
        "is_fallback": bool(value["is_fallback"]),
        "fallback_reason": value["fallback_reason"],
    }


def drivers_of(profile: dict) -> list[dict[str, Any]]:
    """The XGBoost forecast's top drivers, strongest first (none when it has none)."""
    drivers = []
    for rank in (1, 2, 3):
        feature = profile.get(f"driver_{rank}_feature")
        if feature is not None:
            contribution = jsonable(profile.get(f"driver_{rank}_contribution"))
            drivers.append({"rank": rank, "feature": feature, "contribution": contribution})
    return drivers


def customer_body(
    customer_id: str, forecasts: list[dict], profile: dict | None, info: dict[str, Any]
) -> dict[str, Any] | None:
    """The GET /customers/{id} body, or None when the copy has no such customer."""
    if not forecasts:
        return None
    profile = profile or {}
    return {
        "customer_id": customer_id,
        "as_of_date": info["as_of_date"],
        "horizon_days": info["horizon_days"],
        "release": info["release"],
        "forecasts": [forecast_of(row) for row in forecasts],
        "segments": {
            "primary_model": profile.get("primary_model"),
            "primary_segment": profile.get("primary_segment"),
            "is_high_value": profile.get("is_high_value"),
            "is_churn_risk": profile.get("is_churn_risk"),
            "is_missed_opportunity": profile.get("is_missed_opportunity"),
            "lists": list(profile.get("lists") or []),
        },
        "top_drivers": drivers_of(profile),
    }


def read_customer(
    cursor: duckdb.DuckDBPyConnection, customer_id: str, info: dict[str, Any]
) -> dict[str, Any] | None:
    rows = sorted(_rows(cursor, _CUSTOMER_SQL, [customer_id]), key=lambda row: row["model_name"])
    return customer_body(customer_id, rows, rows[0] if rows else None, info)


# --- one page of a list ---------------------------------------------------------------

_LIST_PAGE_SQL = f"""
select
    customer_id,
    list_rank,
    predicted_revenue,
    revenue_p10,
    revenue_p90,
    purchase_probability,
    p_alive,
    clv,
    current_level,
    predicted_level
from {table("marts.customer_lists")}
where list_name = ?
order by list_rank, customer_id
limit ? offset ?
"""


def list_page_body(
    list_name: str, rows: list[dict], limit: int, offset: int, info: dict[str, Any]
) -> dict[str, Any]:
    """The GET /lists/{list} body: one page in rank order, and where the next one starts."""
    total = info["lists"].get(list_name, 0)
    following = offset + len(rows)
    return {
        "list_name": list_name,
        "as_of_date": info["as_of_date"],
        "release": info["release"],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": following if following < total else None,
        "customers": [{name: jsonable(item) for name, item in row.items()} for row in rows],
    }


def read_list_page(
    cursor: duckdb.DuckDBPyConnection, list_name: str, limit: int, offset: int, info: dict
) -> dict[str, Any] | None:
    """One page of a list, or None when the copy has no list of that name."""
    if list_name not in info["lists"] and list_name not in KNOWN_LISTS:
        return None
    rows = _rows(cursor, _LIST_PAGE_SQL, [list_name, limit, offset])
    return list_page_body(list_name, rows, limit, offset, info)
