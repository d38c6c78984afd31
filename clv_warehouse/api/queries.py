"""What the API reads from the published copy, and how rows become response bodies.

Every statement is fixed text; the customer id, list name, limit and offset are bound
parameters (``?``), never SQL text. The shaping functions take rows as dicts and return
plain dicts, so they are tested without a warehouse (tests/unit/test_api_queries.py).
"""

from __future__ import annotations

import json
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
    cast(fit_seconds as double) as fit_seconds,
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
_RELEASE_SQL = f"""
select
    (select max(release_id) from {table("marts.predictions")} where cutoff_role = 'scoring')
        as release_id,
    (select cast(max(training_end_date) as varchar) from {table("marts.cutoffs")})
        as training_end_date
"""
_LISTS_SQL = f"""
select list_name, count(*) as customers
from {table("marts.customer_lists")}
group by list_name
order by list_name
"""


def release_of(
    runs: list[dict], build: dict | None, model_release: dict | None = None
) -> dict[str, Any]:
    """The ``release`` object of every forecast response: the model release that scored the
    published copy (``model_release``: its id and training end, from marts.predictions and
    marts.cutoffs; `clv train` keeps it, `clv score` applies it), the build that made the
    copy (dbt invocation id, finish time) and its scoring run (run id, start time, each
    model's version and fit status from marts.model_runs). A copy built before releases
    existed names its build instead."""
    first = runs[0] if runs else {}
    model_release = model_release or {}
    return {
        "release_id": model_release.get("release_id")
        or (build or {}).get("invocation_id")
        or first.get("run_id"),
        "source": "model_release" if model_release.get("release_id") else "build",
        "trained_through": model_release.get("training_end_date"),
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
    """What every response from one published copy needs, read once: the as-of date,
    the release, the list sizes and each customer's document (see SERVING_TABLE)."""
    cursor.execute(_SERVING_SQL)
    documents = dict(cursor.execute(_DOCUMENTS_SQL).fetchall())
    cursor.execute(f"drop table {SERVING_TABLE}")
    runs = _rows(cursor, _RUNS_SQL, [])
    try:
        builds = _rows(cursor, _BUILD_SQL, [])
    except duckdb.CatalogException:  # a copy without the build log (never published so)
        builds = []
    try:
        model_releases = _rows(cursor, _RELEASE_SQL, [])
    except (duckdb.CatalogException, duckdb.BinderException):  # built before releases
        model_releases = []
    first = runs[0] if runs else {}
    info = {
        "as_of_date": jsonable(first.get("cutoff_date")),
        "horizon_days": first.get("horizon_days"),
        "release": release_of(
            runs, builds[0] if builds else None, model_releases[0] if model_releases else None
        ),
        "lists": {row["list_name"]: row["customers"] for row in _rows(cursor, _LISTS_SQL, [])},
    }
    return {**info, "response_head": response_head(info), "documents": documents}


# --- one customer ---------------------------------------------------------------------

# Built once per snapshot, in the snapshot's own in-memory database: one row per customer
# holding the customer's part of the GET /customers/{id} body as JSON text, assembled in
# SQL from the scoring rows of four marts. The documents are then read into a dict and the
# table dropped: a lookup is a dict access (microseconds), against about 1 ms for an
# indexed DuckDB read of the same string, 2 ms for the columns fetched and shaped in
# Python, and 30 ms for scans of the marts. The published copy never changes under a
# snapshot, so the dict cannot go stale. It costs memory, about 2 kB per customer (50 MB
# for CDNOW's 23,502; twice that while a publish swaps copies), and about a second per
# 25,000 customers each time a new copy is opened.
SERVING_TABLE = "memory.main.customer_documents"


def _finite(column: str) -> str:
    """A double, or null when it is NaN or infinite (JSON has neither)."""
    value = f"cast({column} as double)"
    return f"case when isfinite({value}) then {value} end"


def _quantiles(prefix: str) -> str:
    return ", ".join(
        f"'{name}': {_finite(f'predictions.{prefix}_{name}')}" for name in ("p10", "p50", "p90")
    )


_SERVING_SQL = f"""
create table {SERVING_TABLE} as
with

lists as (

    select customer_id, list(list_name order by list_name) as lists
    from {table("marts.customer_lists")}
    group by customer_id

),

forecasts as (

    select
        predictions.customer_id,
        list(
            {{
                'model_name': predictions.model_name,
                'model_version': predictions.model_version,
                'purchase_probability': {_finite("predictions.purchase_probability")},
                'predicted_revenue': {_finite("predictions.predicted_revenue")},
                'predicted_revenue_point': {_finite("predictions.predicted_revenue_point")},
                'revenue_range': {{{_quantiles("revenue")}}},
                'spend_if_purchase': {{{_quantiles("spend_if_purchase")}}},
                'expected_purchases': {_finite("predictions.expected_purchases")},
                'p_alive': {_finite("predictions.p_alive")},
                'clv': {_finite("predictions.clv")},
                'spend_level': {{
                    'current': levels.current_level,
                    'predicted': levels.predicted_level
                }},
                'is_fallback': predictions.is_fallback,
                'fallback_reason': predictions.fallback_reason
            }}
            order by predictions.model_name
        ) as forecasts
    from {table("marts.predictions")} as predictions
    left join {table("marts.customer_spend_levels")} as levels
        on predictions.customer_id = levels.customer_id
        and predictions.model_name = levels.model_name
        and predictions.cutoff_date = levels.cutoff_date
    where predictions.cutoff_role = 'scoring'
    group by predictions.customer_id

),

drivers as (

    select
        customer_id,
        list_filter(
            [
                {{'rank': 1, 'feature': driver_1_feature,
                  'contribution': {_finite("driver_1_contribution")}}},
                {{'rank': 2, 'feature': driver_2_feature,
                  'contribution': {_finite("driver_2_contribution")}}},
                {{'rank': 3, 'feature': driver_3_feature,
                  'contribution': {_finite("driver_3_contribution")}}}
            ],
            driver -> driver.feature is not null
        ) as top_drivers
    from {table("marts.customer_prediction_drivers")}
    where cutoff_role = 'scoring'

)

select
    forecasts.customer_id,
    cast(to_json({{
        'forecasts': forecasts.forecasts,
        'segments': {{
            'primary_model': segments.model_name,
            'primary_segment': segments.primary_segment,
            'is_high_value': segments.is_high_value,
            'is_churn_risk': segments.is_churn_risk,
            'is_missed_opportunity': segments.is_missed_opportunity,
            'lists': coalesce(lists.lists, cast([] as varchar[]))
        }},
        'top_drivers': coalesce(drivers.top_drivers, [])
    }}) as varchar) as document
from forecasts
left join {table("marts.customer_segments")} as segments
    on forecasts.customer_id = segments.customer_id
left join drivers
    on forecasts.customer_id = drivers.customer_id
left join lists
    on forecasts.customer_id = lists.customer_id
"""
_DOCUMENTS_SQL = f"select customer_id, document from {SERVING_TABLE}"


def customer_document(customer_id: str, document: str, head: str) -> str:
    """The GET /customers/{id} body as JSON text: the customer id and the snapshot's shared
    part (``head``: as-of date, horizon, release) before the customer's own ``document``
    (a JSON object from SERVING_TABLE)."""
    return f'{{"customer_id":{json.dumps(customer_id)},{head},{document[1:]}'


def response_head(info: dict[str, Any]) -> str:
    """The part of every customer body shared by one snapshot, as JSON members."""
    shared = {key: info[key] for key in ("as_of_date", "horizon_days", "release")}
    return json.dumps(shared, separators=(",", ":"))[1:-1]


def read_customer(customer_id: str, info: dict) -> str | None:
    """The customer's body as JSON text, or None when the copy has no such customer."""
    document = info["documents"].get(customer_id)
    if document is None:
        return None
    return customer_document(customer_id, document, info["response_head"])


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
