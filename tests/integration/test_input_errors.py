"""Input that cannot be read fails the build early, naming the file and column and what to do;
input that can be read, however it is delimited, is."""

from __future__ import annotations

from decimal import Decimal

import pytest
from warehouse_builds import FIXTURES, build_warehouse

pytestmark = pytest.mark.integration


def _failed_build(tmp_path, layout, input_path, **kwargs):
    build = build_warehouse(tmp_path, layout, input_path, **kwargs)
    assert not build.succeeded, "the build should have failed"
    return build.output


def test_missing_file(tmp_path):
    output = _failed_build(tmp_path, "online_retail", tmp_path / "nope.csv")
    assert "Input file not found: no file matches" in output
    assert "nope.csv" in output
    assert "CLV_INPUT_PATH" in output


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    output = _failed_build(tmp_path, "online_retail", empty)
    assert f"Input file {empty} is empty (0 bytes)" in output


def test_missing_required_column(tmp_path):
    source = (FIXTURES / "online_retail" / "invoice_lines.csv").read_text().splitlines()
    # drop the UnitPrice column (6th) from every line
    trimmed = tmp_path / "no_price.csv"
    trimmed.write_text(
        "\n".join(",".join(line.split(",")[:5] + line.split(",")[6:]) for line in source[:3]) + "\n"
    )
    output = _failed_build(tmp_path, "online_retail", trimmed)
    assert (
        f"Input file {trimmed} (layout online_retail) lacks required column(s): unit_price"
        in output
    )
    assert "Columns found: InvoiceNo, StockCode" in output


def test_semicolon_delimiter_is_detected(tmp_path):
    """European exports use semicolons: DuckDB's sniffer finds the delimiter itself."""
    source = (FIXTURES / "online_retail" / "invoice_lines.csv").read_text().splitlines()
    good_lines = [source[0], source[1], source[2], source[4]]  # header and three good rows
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text("\n".join(line.replace(",", ";") for line in good_lines) + "\n")
    build = build_warehouse(tmp_path, "online_retail", semicolons, as_of_date="2011-12-10")
    build.assert_succeeded()
    assert build.rows("select raw_rows, kept_rows from marts.ingestion_reconciliation") == [(3, 3)]


def test_online_retail_ii_column_names_are_accepted(tmp_path):
    """The "Online Retail II" export names Invoice, Price and Customer ID."""
    lines = (FIXTURES / "online_retail" / "invoice_lines.csv").read_text().splitlines()
    renamed = tmp_path / "online_retail_ii.csv"
    header = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
    renamed.write_text("\n".join([header, *lines[1:]]) + "\n")
    build = build_warehouse(
        tmp_path,
        "online_retail",
        renamed,
        dbt_args=("run", "--select", "stg_online_retail__invoice_lines"),
    ).assert_succeeded()
    assert build.rows(
        "select count(*), count(customer_id), sum(line_revenue)"
        " from staging.stg_online_retail__invoice_lines"
    ) == [(32, 29, Decimal("-10223.23"))]  # 3 rows have blank, (blank) or NaN ids


def test_unknown_layout(tmp_path):
    build = build_warehouse(
        tmp_path, "cdnow", FIXTURES / "cdnow" / "1997-h1.txt", variables={"input_layout": "sap"}
    )
    assert not build.succeeded
    assert "Unknown input layout 'sap'" in build.output


def test_bad_as_of_date(tmp_path):
    output = _failed_build(
        tmp_path, "cdnow", FIXTURES / "cdnow" / "1997-h1.txt", as_of_date="01/12/1997"
    )
    assert "as_of_date must be a date written YYYY-MM-DD; got '01/12/1997'" in output


def test_generic_mapping_without_a_date_column(tmp_path):
    output = _failed_build(
        tmp_path,
        "generic",
        FIXTURES / "generic" / "sales.csv",
        variables={"generic_columns": {"customer_id": "client", "ordered_at": None}},
    )
    assert "generic_columns does not say which column holds: ordered_at" in output
