"""Each input layout, on a small file with deliberately bad rows: every bad row is rejected
with its reason, every other row is kept, and nothing else is lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from warehouse_builds import FIXTURES, GENERIC_FIXTURE_COLUMNS, build_warehouse, expected_rejections

pytestmark = pytest.mark.integration

LAYOUT_RUNS = {
    "cdnow": (FIXTURES / "cdnow" / "*.txt", "1997-12-01", None),
    "online_retail": (FIXTURES / "online_retail" / "invoice_lines.csv", "2011-12-10", None),
    "generic": (
        FIXTURES / "generic" / "sales.csv",
        "2021-07-01",
        {"generic_columns": GENERIC_FIXTURE_COLUMNS},
    ),
}


def _rejections(build, strip_suffix: bool = False) -> set[tuple[str, int, str]]:
    rows = build.rows(
        "select source_file, source_row_number, rejection_reason from marts.transaction_rejections"
    )
    return {
        (Path(file).stem if strip_suffix else Path(file).name, row, reason)
        for file, row, reason in rows
    }


@pytest.fixture(scope="module")
def build_of(tmp_path_factory):
    """build_of(layout): the warehouse built on that layout's fixture, once per module."""
    builds = {}

    def build(layout):
        if layout not in builds:
            input_path, as_of_date, variables = LAYOUT_RUNS[layout]
            builds[layout] = build_warehouse(
                tmp_path_factory.mktemp(layout),
                layout,
                input_path,
                as_of_date=as_of_date,
                variables=variables,
            ).assert_succeeded()
        return builds[layout]

    return build


@pytest.mark.parametrize("layout", sorted(LAYOUT_RUNS))
def test_every_bad_row_is_rejected_with_its_reason(build_of, layout):
    strip = layout == "generic"
    assert _rejections(build_of(layout), strip_suffix=strip) == expected_rejections(layout)


@pytest.mark.parametrize("layout", sorted(LAYOUT_RUNS))
def test_every_other_row_is_kept_and_reconciled(build_of, layout):
    build = build_of(layout)
    raw_rows, kept_rows, rejected_rows, reconciled = build.rows(
        "select raw_rows, kept_rows, rejected_rows, is_reconciled"
        " from marts.ingestion_reconciliation"
    )[0]
    assert reconciled
    assert rejected_rows == len(expected_rejections(layout))
    assert kept_rows == raw_rows - rejected_rows
    kept = set(build.rows("select source_file, source_row_number from marts.transactions"))
    rejected = set(
        build.rows("select source_file, source_row_number from marts.transaction_rejections")
    )
    assert not kept & rejected
    assert len(kept) == kept_rows


@pytest.mark.parametrize("layout", sorted(LAYOUT_RUNS))
def test_unit_tests_of_the_layout_ran(build_of, layout):
    staging_model = {
        "cdnow": "stg_cdnow__purchases",
        "online_retail": "stg_online_retail__invoice_lines",
        "generic": "stg_generic__transactions",
    }[layout]
    assert f"PASS {staging_model}::" in build_of(layout).output


def _customers(build, columns: str) -> dict[str, tuple]:
    """customer_id -> the given columns of marts.customers."""
    rows = build.rows(f"select customer_id, {columns} from marts.customers")
    return {row[0]: row[1:] for row in rows}


def test_online_retail_customers_and_returns(build_of):
    customers = _customers(
        build_of("online_retail"), "purchase_days, return_lines, has_returns_exceeding_purchases"
    )
    # 17850.0 and 17850 are one customer; 012583 and 12583 too.
    assert set(customers) == {"17850", "13047", "12583", "15100"}
    # 15100 returned 20 blocks (119.00) after buying 27.60 worth of mugs.
    assert customers["15100"] == (1, 1, True)
    assert customers["17850"][2] is False


def test_cdnow_returns_and_sample_format(build_of):
    customers = _customers(
        build_of("cdnow"), "purchase_days, has_purchases, has_returns_exceeding_purchases"
    )
    assert customers["11"] == (1, True, False)  # the 5-field sample line
    assert customers["12"] == (0, False, True)  # a return and nothing bought
    # Customer 2 bought three times on 1997-01-12 (two lines identical): one purchase day.
    assert build_of("cdnow").rows(
        "select orders, cast(gross_revenue as double)"
        " from intermediate.int_orders_grouped_to_days where customer_id = '2'"
    ) == [(3, 101.0)]


def test_generic_parquet_gives_the_same_result_as_csv(build_of, tmp_path):
    csv_build = build_of("generic")
    parquet_path = tmp_path / "sales.parquet"
    source = FIXTURES / "generic" / "sales.csv"
    with duckdb.connect() as con:
        # typed columns, as a Spark or pandas export would write them
        con.execute(
            f"""
            copy (
                select client,
                       coalesce(
                           try_cast(sold_at as timestamp),
                           try_strptime(sold_at, ['%Y%m%d', '%m/%d/%Y'])
                       ) as sold_at,
                       sku,
                       try_cast(qty as bigint) as qty,
                       try_cast(price as double) as price,
                       shop
                from read_csv('{source}', all_varchar = true, header = true)
            ) to '{parquet_path}' (format parquet)
            """
        )
    parquet_build = build_warehouse(
        tmp_path / "parquet",
        "generic",
        parquet_path,
        as_of_date="2021-07-01",
        variables={"generic_columns": GENERIC_FIXTURE_COLUMNS},
        # what is compared, and the reconciliation: nothing after the features depends on
        # the input's file format
        dbt_args=(
            "build",
            "--select",
            "+customer_features",
            "+transaction_rejections",
            "+ingestion_reconciliation",
            "--indirect-selection",
            "cautious",
        ),
    ).assert_succeeded()
    assert _rejections(parquet_build, strip_suffix=True) == _rejections(
        csv_build, strip_suffix=True
    )
    features = "select * exclude (country) from marts.customer_features order by customer_id"
    assert parquet_build.rows(features) == csv_build.rows(features)


def test_the_row_by_row_reconciliation_test_finds_lost_changed_and_doubled_rows(build_of, tmp_path):
    """tests/dbt/assert_every_raw_row_kept_or_rejected_once.sql, as this build compiled it,
    on a copy of the warehouse whose audit table lost a row, changed a revenue, landed a row
    twice, and holds a line that is not in the input: the file's checksum differs, and the
    row-by-row comparison names each row."""
    build = build_of("online_retail")
    compiled = next(
        (build.warehouse.parent / "target" / "compiled").rglob(
            "assert_every_raw_row_kept_or_rejected_once.sql"
        )
    )
    copy = tmp_path / build.warehouse.name  # same file name: same catalog name
    shutil.copyfile(build.warehouse, copy)
    audited = "intermediate.int_transaction_lines_audited"
    checksum = "select sum(hash(source_row_number, line_revenue)) from {}"
    with duckdb.connect(str(copy)) as con:
        assert con.execute(compiled.read_text()).fetchall() == []
        # an intact build passes on checksums alone: raw and landed rows hash alike
        assert (
            con.execute(checksum.format("intermediate.int_transaction_lines_unioned")).fetchone()
            == con.execute(checksum.format(audited)).fetchone()
        )
        (file,) = con.execute(f"select any_value(source_file) from {audited}").fetchone()
        con.execute(f"delete from {audited} where source_row_number = 2")
        con.execute(
            f"update {audited} set line_revenue = line_revenue + 1 where source_row_number = 3"
        )
        con.execute(f"insert into {audited} select * from {audited} where source_row_number = 4")
        con.execute(
            f"insert into {audited} select * replace (100000 as source_row_number)"
            f" from {audited} where source_row_number = 5"
        )
        problems = con.execute(compiled.read_text()).fetchall()
    (raw,) = build.rows("select raw_rows from marts.ingestion_reconciliation")[0]
    assert sorted(problems, key=str) == sorted(
        [
            (file, 2, "raw row in neither transactions nor transaction_rejections"),
            (file, 3, "revenue changed on the way"),
            (file, 100000, "row landed that is not in the raw input"),
            # row 4 landed twice, row 2 not at all, row 100000 is extra: one more than raw
            (file, None, f"file has {raw} raw rows but {raw + 1} landed"),
        ],
        key=str,
    )


def test_the_catalog_rules_test_names_each_broken_rule(build_of, tmp_path):
    """The one test of every feature's catalog rules (not null, minimum value), as this build
    compiled it, on a copy of the warehouse with a null and a negative feature."""
    build = build_of("online_retail")
    target = build.warehouse.parent / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    (node,) = [
        node
        for node in manifest["nodes"].values()
        if node.get("test_metadata", {}).get("name") == "columns_meet_catalog_rules"
        and node["attached_node"] == "model.clv_warehouse.customer_features"
    ]
    compiled = target / "compiled" / "clv_warehouse" / node["original_file_path"] / node["path"]
    copy = tmp_path / build.warehouse.name  # same file name: same catalog name
    shutil.copyfile(build.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute(compiled.read_text()).fetchall() == []
        con.execute("update marts.customer_features set revenue = null where frequency = 0")
        con.execute('update marts.customer_features set "T" = -1')
        broken = dict(con.execute(compiled.read_text()).fetchall())
        (one_time_buyers,) = con.execute(
            "select count(*) from marts.customer_features where frequency = 0"
        ).fetchone()
        (customers,) = con.execute("select count(*) from marts.customer_features").fetchone()
    assert broken == {"revenue is null": one_time_buyers, "T < 0": customers}
