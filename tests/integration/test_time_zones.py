"""A timestamp that carries a time zone (Parquet TIMESTAMP WITH TIME ZONE) becomes the same
order date on every machine: the date in the var time_zone (UTC by default), never in the
machine's zone (TZ). Only the staging models run: they are where the value is read."""

from __future__ import annotations

import duckdb
import pytest
from warehouse_builds import build_warehouse

pytestmark = pytest.mark.integration

# 20:30 UTC on March 1st is already March 2nd in Tokyo (UTC+9).
INSTANT = "2021-03-01 20:30:00+00"

COLUMNS = {
    "generic": "customer_id, order_id, ordered_at, amount",
    "online_retail": "CustomerID, InvoiceNo, InvoiceDate, StockCode, Description, Quantity,"
    " UnitPrice, Country",
}
VALUES = {
    "generic": f"'C1', 'O1', timestamptz '{INSTANT}', 10.0",
    "online_retail": f"'17850', '536365', timestamptz '{INSTANT}', '85123A', 'HEART', 2, 2.55,"
    " 'United Kingdom'",
}
STAGING_MODELS = {
    "generic": "stg_generic__transactions",
    "online_retail": "stg_online_retail__invoice_lines",
}


def _parquet_with_a_timestamptz(path, layout):
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(
            f"copy (select * from (values ({VALUES[layout]})) as t ({COLUMNS[layout]}))"
            f" to '{path}' (format parquet)"
        )
        assert (
            "WITH TIME ZONE"
            in con.execute(
                f"select column_type from (describe select * from '{path}')"
                " where column_type like 'TIMESTAMP%'"
            )
            .fetchone()[0]
            .upper()
        )


def _order_dates(tmp_path, layout, machine_zone, variables=None):
    path = tmp_path / f"{layout}.parquet"
    if not path.exists():
        _parquet_with_a_timestamptz(path, layout)
    build = build_warehouse(
        tmp_path / f"{layout}-{machine_zone.replace('/', '-')}-{len(variables or {})}",
        layout,
        path,
        variables=variables,
        dbt_args=("run", "--select", STAGING_MODELS[layout], "int_transaction_lines_unioned"),
        extra_env={"TZ": machine_zone},
    ).assert_succeeded()
    return build.rows(
        "select cast(order_date as varchar), ordered_at_raw"
        " from intermediate.int_transaction_lines_unioned"
    )


@pytest.mark.parametrize("layout", ["generic", "online_retail"])
def test_the_order_date_does_not_depend_on_the_machine_time_zone(tmp_path, layout):
    assert _order_dates(tmp_path, layout, "UTC") == [("2021-03-01", "2021-03-01 20:30:00")]
    assert _order_dates(tmp_path, layout, "Asia/Tokyo") == [("2021-03-01", "2021-03-01 20:30:00")]
    if layout == "generic":
        # the var time_zone, not the machine, says which zone's date it is
        assert _order_dates(tmp_path, layout, "UTC", {"time_zone": "Asia/Tokyo"}) == [
            ("2021-03-02", "2021-03-02 05:30:00")
        ]


def test_an_unknown_time_zone_is_refused_naming_the_var(tmp_path):
    path = tmp_path / "generic.parquet"
    _parquet_with_a_timestamptz(path, "generic")
    build = build_warehouse(
        tmp_path / "build",
        "generic",
        path,
        variables={"time_zone": "Mars/Olympus"},
        dbt_args=("run", "--select", "stg_generic__transactions"),
    )
    assert not build.succeeded
    assert (
        "Unknown time_zone 'Mars/Olympus' (from the var time_zone or CLV_TIME_ZONE)" in build.output
    )
