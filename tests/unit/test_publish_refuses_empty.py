"""`clv publish` refuses a warehouse without customers, even one whose build log says success
(a warehouse built before the build stopped on an empty input)."""

from __future__ import annotations

import duckdb
import pytest

from clv_warehouse.publish import PublishError, publish


def test_publish_refuses_a_warehouse_without_customers(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table main.clv_builds as select 'run-1' as invocation_id, 'build' as command,"
            " timestamp '2026-12-01 10:00' as started_at, timestamp '2026-12-01 10:01' as"
            " finished_at, 'success' as status, cast(null as varchar) as failed_nodes"
        )
        con.execute("create schema marts")
        for table in ("customers", "predictions", "customer_segments", "backtest_metrics"):
            con.execute(f"create table marts.{table} (customer_id varchar)")
    published = tmp_path / "published" / "warehouse.duckdb"
    with pytest.raises(PublishError, match=r"no customers \(marts.customers is empty\)"):
        publish(warehouse, published)
    assert not published.exists()
