"""A build that would publish empty or stale data stops with what to do:

- every line rejected (an as-of date before the data): the build fails naming the as-of date
  and the top rejection reasons, and `clv publish` refuses the warehouse;
- a loaded file changed under the same name (an edited value, an added line, a rewritten
  Parquet file): the next incremental build stops and says to rebuild with --full-refresh.

Only the models up to the audit table run where that is enough."""

from __future__ import annotations

import duckdb
import pytest
from warehouse_builds import FIXTURES, build_warehouse

from clv_warehouse.publish import PublishError, publish

pytestmark = pytest.mark.integration

UP_TO_THE_AUDIT = (
    "build",
    "--select",
    "+int_transaction_lines_audited",
    "--indirect-selection",
    "cautious",
)
FULL_REFRESH_ADVICE = "dbt build --full-refresh (clv build -- --full-refresh)"


def test_a_build_that_keeps_no_line_stops_and_is_not_published(tmp_path):
    build = build_warehouse(
        tmp_path / "build",
        "online_retail",
        FIXTURES / "online_retail" / "invoice_lines.csv",
        as_of_date="0001-01-01",
    )
    assert not build.succeeded, "a build without a kept line must fail"
    assert "No line of the input was kept: all 32 line(s) were rejected" in build.output
    assert "(as-of date 0001-01-01; top rejection reasons: date_after_as_of 25," in build.output
    with pytest.raises(PublishError, match="failed"):
        publish(build.warehouse, tmp_path / "published" / "warehouse.duckdb")
    assert not (tmp_path / "published" / "warehouse.duckdb").exists()


def _build(work_dir, path, *extra):
    return build_warehouse(work_dir, "generic", path, dbt_args=UP_TO_THE_AUDIT + extra)


def test_a_csv_file_changed_under_the_same_name_stops_the_incremental_build(tmp_path):
    path = tmp_path / "sales.csv"
    lines = ["customer_id,order_id,ordered_at,amount", "c1,o1,2021-01-01,10.00"]
    path.write_text("\n".join(lines) + "\n")
    work_dir = tmp_path / "build"
    _build(work_dir, path).assert_succeeded()

    # the same size, another value: the warehouse would keep 10.00 and say reconciled
    path.write_text("\n".join(lines).replace("10.00", "99.00") + "\n")
    edited = _build(work_dir, path)
    assert not edited.succeeded
    assert f"Input file {path} changed since it was loaded (same size, other content)" in (
        edited.output
    )
    assert FULL_REFRESH_ADVICE in edited.output

    # a line added: before, the build failed with only a test name
    path.write_text("\n".join([*lines, "c2,o2,2021-01-02,5.00"]) + "\n")
    appended = _build(work_dir, path)
    assert not appended.succeeded
    assert f"Input file {path} changed since it was loaded (size 62 -> 84 bytes)" in (
        appended.output
    )

    refreshed = _build(work_dir, path, "--full-refresh").assert_succeeded()
    assert refreshed.rows(
        "select count(*), sum(line_revenue) from intermediate.int_transaction_lines_audited"
    ) == [(2, 15)]
    # and the next incremental build on the unchanged file goes through
    _build(work_dir, path).assert_succeeded()


def test_a_parquet_file_rewritten_under_the_same_name_stops_the_incremental_build(tmp_path):
    path = tmp_path / "sales.parquet"

    def write(amount):
        with duckdb.connect() as con:
            con.execute(
                "copy (select 'c1' as customer_id, 'o1' as order_id,"
                f" '2021-01-01' as ordered_at, {amount} as amount) to '{path}' (format parquet)"
            )

    write("10.25")
    work_dir = tmp_path / "build"
    _build(work_dir, path).assert_succeeded()
    write("99.75")
    rewritten = _build(work_dir, path)
    assert not rewritten.succeeded
    assert f"Input file {path} changed since it was loaded" in rewritten.output
    assert FULL_REFRESH_ADVICE in rewritten.output
