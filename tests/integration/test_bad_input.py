"""Bad input, kind by kind, in each layout. Every case has one expected outcome:

- the build stops with a message naming the file (and the row or column) and what to do
  (FILE_CASES with an error), or
- the file is read (FILE_CASES without one), or
- each line of the case is rejected with its reason, or kept with its cleaned customer, date and
  revenue, and nothing else is lost: raw rows = kept + rejected (ROW_CASES).

Row cases of one layout share one input file and one build: each case has its own lines and
customer ids. File cases run only the staging models, where the input checks are, so they fail
in seconds. Cases the layout fixtures already hold are referenced, not repeated
(REFERENCED_CASES); one-time buyers only are in test_model_fallbacks.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from warehouse_builds import build_warehouse, expected_rejections

from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.summary import format_summary, read_summary

pytestmark = pytest.mark.integration

STAGING_MODELS = {
    "cdnow": "stg_cdnow__purchases",
    "online_retail": "stg_online_retail__invoice_lines",
    "generic": "stg_generic__transactions",
}


@dataclass(frozen=True)
class Kept:
    """A line that must be kept, with its customer id, order date and revenue once cleaned."""

    customer_id: str
    order_date: str
    line_revenue: str


@dataclass(frozen=True)
class RowCase:
    """Lines of one kind of bad input, each with its outcome: a rejection reason or Kept."""

    name: str
    layout: str
    lines: tuple[tuple[str, str | Kept], ...]
    # the lines appear again in a second file, as when an export is loaded twice
    loaded_twice: bool = False


@dataclass(frozen=True)
class FileCase:
    """A whole input file: it must stop the build with a message holding every fragment of
    `error` ({path} is the file), or be read into `rows` staged rows with `revenue` in all."""

    name: str
    layout: str
    content: bytes | None  # None: no file at all
    error: tuple[str, ...] = ()
    rows: int = 0
    revenue: str = "0"
    variables: dict | None = None
    # the models to run: the staging model (and the union, which checks for data rows)
    models: str = "{staging} int_transaction_lines_unioned"


# --- each layout's batch file: header, mapping, as-of date -----------------------------------

BATCH_HEADERS = {
    "cdnow": "",  # the master file has no header
    # Online Retail II names, reordered, with an extra column
    "online_retail": "Country,Customer ID,Invoice,StockCode,Description,Quantity,InvoiceDate,"
    "Price,Comment",
    # the generic defaults (customer_id, order_id, ordered_at, amount) plus quantity, reordered,
    # with an extra column
    "generic": "amount,comment,ordered_at,order_id,customer_id,quantity",
}
BATCH_AS_OF = {"cdnow": "1997-12-01", "online_retail": "2011-12-10", "generic": "2021-07-01"}
BATCH_VARIABLES = {"generic": {"generic_columns": {"quantity": "quantity"}}}

ROW_CASES = [
    # --- generic: amount,comment,ordered_at,order_id,customer_id,quantity ---------------------
    RowCase(
        "extra and reordered columns are mapped by name",
        "generic",
        (("12.50,a note,2021-03-01,g-cols-1,G01,1", Kept("G01", "2021-03-01", "12.5000")),),
    ),
    RowCase(
        "blank, (blank), NaN, null, N/A and spaces as customer ids",
        "generic",
        (
            ("5.00,,2021-03-01,g-id-1,,1", "missing_customer_id"),
            ("5.00,,2021-03-01,g-id-2,(blank),1", "missing_customer_id"),
            ("5.00,,2021-03-01,g-id-3,NaN,1", "missing_customer_id"),
            ("5.00,,2021-03-01,g-id-4,null,1", "missing_customer_id"),
            ("5.00,,2021-03-01,g-id-5,N/A,1", "missing_customer_id"),
            ("5.00,,2021-03-01,g-id-6,   ,1", "missing_customer_id"),
        ),
    ),
    RowCase(
        "customer ids with leading zeros or as floats are one customer",
        "generic",
        (
            ("1.00,,2021-03-01,g-zero-1,00042,1", Kept("42", "2021-03-01", "1.0000")),
            ("2.00,,2021-03-02,g-zero-2,42.0,1", Kept("42", "2021-03-02", "2.0000")),
            ("3.00,,2021-03-03,g-zero-3, 42 ,1", Kept("42", "2021-03-03", "3.0000")),
            # not plain numbers: kept as written
            ("4.00,,2021-03-04,g-zero-4,A0042,1", Kept("A0042", "2021-03-04", "4.0000")),
            ("5.00,,2021-03-05,g-zero-5,42.5,1", Kept("42.5", "2021-03-05", "5.0000")),
        ),
    ),
    RowCase(
        "dates in mixed formats",
        "generic",
        (
            ("1.00,,2021-03-04T10:00:00,g-date-1,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            ("1.00,,2021-03-04 10:00,g-date-2,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            ("1.00,,2021/03/04,g-date-3,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            ("1.00,,20210304,g-date-4,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            # month first by default (var timestamp_formats), day first with dots
            ("1.00,,03/04/2021,g-date-5,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            ("1.00,,04.03.2021,g-date-6,G10,1", Kept("G10", "2021-03-04", "1.0000")),
            ("1.00,,March 4 2021,g-date-7,G10,1", "unparseable_date"),
            ("1.00,,2021-02-30,g-date-8,G10,1", "unparseable_date"),
            ("1.00,,,g-date-9,G10,1", "unparseable_date"),
        ),
    ),
    RowCase(
        "dates far in the past or the future (as-of 2021-07-01)",
        "generic",
        (
            ("1.00,,0001-01-01,g-far-1,G20,1", "date_before_earliest_valid"),
            ("1.00,,1899-12-31,g-far-2,G20,1", "date_before_earliest_valid"),
            # a two-digit year is year 21, not 2021
            ("1.00,,4/3/21,g-far-3,G20,1", "date_before_earliest_valid"),
            ("1.00,,1990-01-01,g-far-4,G20,1", Kept("G20", "1990-01-01", "1.0000")),
            ("1.00,,2021-06-30,g-far-5,G20,1", Kept("G20", "2021-06-30", "1.0000")),
            ("1.00,,2021-07-01,g-far-6,G20,1", "date_after_as_of"),
            ("1.00,,9999-12-31,g-far-7,G20,1", "date_after_as_of"),
        ),
    ),
    RowCase(
        "text and formatted numbers in amount and quantity",
        "generic",
        (
            ('"1,234.50",,2021-03-01,g-num-1,G30,1', "unparseable_number"),
            ("$5,,2021-03-01,g-num-2,G30,1", "unparseable_number"),
            ("NaN,,2021-03-01,g-num-3,G30,1", "unparseable_number"),
            ("Infinity,,2021-03-01,g-num-4,G30,1", "unparseable_number"),
            ("5.00,,2021-03-01,g-num-5,G30,two", "unparseable_number"),
            (" 7.50 ,,2021-03-01,g-num-6,G30, 1 ", Kept("G30", "2021-03-01", "7.5000")),
        ),
    ),
    RowCase(
        "zero, negative and absurdly large amounts and quantities",
        "generic",
        (
            ("0.00,,2021-03-01,g-big-1,G40,1", "zero_or_negative_price"),
            ("5.00,,2021-03-01,g-big-2,G40,0", "zero_quantity"),
            ("-5.00,,2021-03-01,g-big-3,G40,1", "quantity_amount_sign_mismatch"),
            # beyond decimal(18, 4)
            ("1e15,,2021-03-01,g-big-4,G40,1", "unparseable_number"),
            ("5.00,,2021-03-01,g-big-5,G40,1e400", "unparseable_number"),
            # large but representable: kept, and the totals of the customer do not overflow
            (
                "90000000000000.00,,2021-03-02,g-big-6,G40,1",
                Kept("G40", "2021-03-02", "90000000000000.0000"),
            ),
            (
                "90000000000000.00,,2021-03-03,g-big-7,G40,1",
                Kept("G40", "2021-03-03", "90000000000000.0000"),
            ),
            ("-2.00,,2021-03-04,g-big-8,G40,-1", Kept("G40", "2021-03-04", "-2.0000")),
        ),
    ),
    RowCase(
        "exact duplicate lines",
        "generic",
        (
            ("9.00,,2021-03-01,g-dup-1,G50,1", Kept("G50", "2021-03-01", "9.0000")),
            ("9.00,,2021-03-01,g-dup-1,G50,1", "duplicate_line"),
            # another order with the same values is another purchase
            ("9.00,,2021-03-01,g-dup-2,G50,1", Kept("G50", "2021-03-01", "9.0000")),
        ),
    ),
    RowCase(
        "a line with more fields than the header, and one cut off by the end of the file",
        "generic",
        (
            ("5.00,x,2021-03-01,g-cut-1,G60,1,surplus", "malformed_line"),
            ("5.00,x,2021-03-01,g-cut-2,G60,1", Kept("G60", "2021-03-01", "5.0000")),
            ("5.00,x,2021-03-0", "malformed_line"),  # the last line, no line break
        ),
    ),
    # --- online_retail: Country,Customer ID,Invoice,StockCode,Description,Quantity,
    #     InvoiceDate,Price,Comment ---------------------------------------------------------------
    RowCase(
        "Online Retail II names, extra and reordered columns are mapped by name",
        "online_retail",
        (
            (
                "UK,14000,600001,22139,TEA SET,3,1/10/2011 10:00,4.95,",
                Kept("14000", "2011-01-10", "14.8500"),
            ),
        ),
    ),
    RowCase(
        "zero, negative and absurdly large prices and quantities",
        "online_retail",
        (
            ("UK,14001,600002,22139,TEA SET,3,1/10/2011 10:00,-4.95,", "zero_or_negative_price"),
            ("UK,14001,600003,22139,TEA SET,3,1/10/2011 10:00,1e20,", "unparseable_number"),
            # quantity x price beyond decimal(18, 4)
            (
                "UK,14001,600004,22139,TEA SET,100000000000,1/10/2011 10:00,10000,",
                "unparseable_number",
            ),
            ("UK,14001,600005,22139,TEA SET,1e400,1/10/2011 10:00,4.95,", "unparseable_number"),
            (
                "UK,14001,600006,22139,TEA SET,2,1/10/2011 10:00,2.50,",
                Kept("14001", "2011-01-10", "5.0000"),
            ),
        ),
    ),
    RowCase(
        "dates in mixed formats",
        "online_retail",
        (
            (
                "UK,14002,600010,22139,TEA SET,1,01.12.2010 08:26:00,2.00,",
                Kept("14002", "2010-12-01", "2.0000"),
            ),
            (
                "UK,14002,600011,22139,TEA SET,1,2010-12-01T08:26:00,2.00,",
                Kept("14002", "2010-12-01", "2.0000"),
            ),
            # slashes are month first: 1/12/2010 is January 12th
            (
                "UK,14002,600012,22139,TEA SET,1,1/12/2010 8:26,2.00,",
                Kept("14002", "2010-01-12", "2.0000"),
            ),
            ("UK,14002,600013,22139,TEA SET,1,Dec 1 2010,2.00,", "unparseable_date"),
        ),
    ),
    RowCase(
        "a file loaded twice: every line of the second copy is a duplicate or keeps its reason",
        "online_retail",
        (
            (
                "UK,14003,600020,22139,TEA SET,1,2/1/2011 9:00,3.00,",
                Kept("14003", "2011-02-01", "3.0000"),
            ),
            (
                "UK,14003,600021,22140,MUG,2,2/1/2011 9:00,1.50,",
                Kept("14003", "2011-02-01", "3.0000"),
            ),
            ("UK,14003,600022,22141,FREE GIFT,1,2/1/2011 9:00,0,", "zero_or_negative_price"),
        ),
        loaded_twice=True,
    ),
    RowCase(
        "a line cut off by the end of the file",
        "online_retail",
        (
            (
                "UK,14004,600030,22139,TEA SET,1,2/1/2011 9:00,3.00,",
                Kept("14004", "2011-02-01", "3.0000"),
            ),
            ("UK,14004,600031,22139,TEA", "malformed_line"),  # the last line, no line break
        ),
    ),
    # --- cdnow: customer date cds dollars, whitespace-separated ---------------------------------
    RowCase(
        "missing markers as customer ids",
        "cdnow",
        (
            (" NaN 19970301  1   10.00", "missing_customer_id"),
            (" null 19970301  1   10.00", "missing_customer_id"),
        ),
    ),
    RowCase(
        "customer ids with leading zeros or as floats are one customer",
        "cdnow",
        (
            (" 00000777 19970301  1   10.00", Kept("777", "1997-03-01", "10.0000")),
            (" 777.0 19970302  1   11.00", Kept("777", "1997-03-02", "11.0000")),
        ),
    ),
    RowCase(
        "dates in other formats, impossible, far in the past or the future (as-of 1997-12-01)",
        "cdnow",
        (
            (" 00778 1997-03-04  1   10.00", Kept("778", "1997-03-04", "10.0000")),
            (" 00778 19970230  1   10.00", "unparseable_date"),
            (" 00778 18991231  1   10.00", "date_before_earliest_valid"),
            (" 00778 19971130  1   10.00", Kept("778", "1997-11-30", "10.0000")),
            (" 00778 19971201  1   10.00", "date_after_as_of"),
            (" 00778 29991231  1   10.00", "date_after_as_of"),
        ),
    ),
    RowCase(
        "zero and absurdly large quantities and amounts",
        "cdnow",
        (
            (" 00779 19970301  0   10.00", "zero_quantity"),
            (" 00779 19970301  1   1e20", "unparseable_number"),
            (" 00779 19970301  5   99999999999999999999", "unparseable_number"),
            (" 00779 19970302  2   -20.00", "quantity_amount_sign_mismatch"),
            (" 00779 19970303  -2   -20.00", Kept("779", "1997-03-03", "-20.0000")),
        ),
    ),
    RowCase(
        "a line with too many fields, and one cut off by the end of the file",
        "cdnow",
        (
            (" 00780 19970301  1   10.00 extra more", "malformed_line"),
            (" 00780 19970302  1   10.00", Kept("780", "1997-03-02", "10.0000")),
            (" 00780 1997", "malformed_line"),  # the last line, no line break
        ),
    ),
]

# Cases whose lines the layout fixtures already hold (tests/fixtures/*/expected_rejections.csv,
# checked by test_layouts.py): (case, layout, file, row, reason).
REFERENCED_CASES = [
    ("blank customer id", "online_retail", "invoice_lines.csv", 3, "missing_customer_id"),
    ("(blank) customer id", "online_retail", "invoice_lines.csv", 15, "missing_customer_id"),
    ("NaN customer id", "online_retail", "invoice_lines.csv", 16, "missing_customer_id"),
    ("blank customer id", "generic", "sales", 4, "missing_customer_id"),
    ("text in a numeric column", "cdnow", "1997-h1.txt", 12, "unparseable_number"),
    ("text in a numeric column", "online_retail", "invoice_lines.csv", 7, "unparseable_number"),
    ("text in a numeric column", "generic", "sales", 7, "unparseable_number"),
    ("infinite price", "generic", "sales", 9, "unparseable_number"),
    ("zero price", "online_retail", "invoice_lines.csv", 10, "zero_or_negative_price"),
    ("zero amount", "cdnow", "1997-h1.txt", 9, "zero_or_negative_price"),
    ("zero quantity", "online_retail", "invoice_lines.csv", 11, "zero_quantity"),
    ("negative price", "generic", "sales", 8, "zero_or_negative_price"),
    ("date in 2031", "online_retail", "invoice_lines.csv", 12, "date_after_as_of"),
    ("date in 1900", "online_retail", "invoice_lines.csv", 13, "date_before_earliest_valid"),
    ("exact duplicate line", "online_retail", "invoice_lines.csv", 9, "duplicate_line"),
    ("a file loaded twice (same line, same row)", "cdnow", "1997-h2.txt", 4, "duplicate_line"),
    ("a CDNOW line with 3 fields", "cdnow", "1997-h1.txt", 11, "malformed_line"),
]
# Cases other tests check: (case, test file, test function).
TESTED_ELSEWHERE = [
    (
        "cancelled invoices, returns larger than purchases (flagged, kept)",
        "test_layouts.py",
        "test_online_retail_customers_and_returns",
    ),
    (
        "a return and nothing bought (CDNOW)",
        "test_layouts.py",
        "test_cdnow_returns_and_sample_format",
    ),
    (
        "no customers with repeat purchases",
        "test_model_fallbacks.py",
        "test_the_baseline_says_it_cannot_fit",
    ),
]


def _lines_of_many_rows(extra_line: str, rows: int = 30_000) -> bytes:
    lines = ["customer_id,order_id,ordered_at,amount"]
    lines += [f"c{i},o{i},2021-01-01,1.00" for i in range(rows)]
    return ("\n".join([*lines, extra_line, *lines[1:100]]) + "\n").encode()


GENERIC_HEADER = "customer_id,order_id,ordered_at,amount"
GOOD_GENERIC_LINES = ["c1,o1,2021-01-01,10.00", "c2,o2,2021-01-02,20.50", "c3,o3,2021-01-03,5.00"]

FILE_CASES = [
    FileCase(
        "no file matches the path",
        "online_retail",
        None,
        error=("Input file not found: no file matches", "{path}", "CLV_INPUT_PATH"),
    ),
    FileCase(
        "empty file (0 bytes)",
        "online_retail",
        b"",
        error=("Input file {path} is empty (0 bytes)", "Remove it or point input_path elsewhere"),
    ),
    FileCase(
        "header only",
        "generic",
        (GENERIC_HEADER + "\n").encode(),
        error=(
            "Input {path} (layout generic) has no data rows",
            "Point input_path at the export that holds the transactions",
        ),
    ),
    FileCase(
        "header and blank lines only (CDNOW)",
        "cdnow",
        b" customer_id  date number_of_cds  dollar_value\n\n\n",
        error=("Input {path} (layout cdnow) has no data rows",),
    ),
    FileCase(
        "missing required column",
        "online_retail",
        (
            b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n"
            b"536365,85123A,WHITE HANGING HEART,6,12/1/2010 8:26,17850,United Kingdom\n"
        ),
        error=(
            "Input file {path} (layout online_retail) lacks required column(s): unit_price",
            "Columns found: InvoiceNo, StockCode",
            "Check the delimiter and header line",
        ),
    ),
    FileCase(
        "a delimiter DuckDB does not detect (~): one column",
        "generic",
        "\n".join([GENERIC_HEADER, *GOOD_GENERIC_LINES]).replace(",", "~").encode(),
        error=(
            "Input file {path} (layout generic) lacks required column(s): customer_id",
            "Columns found: customer_id~order_id~ordered_at~amount",
            "Check the delimiter",
        ),
    ),
    FileCase(
        "semicolon delimiter",
        "generic",
        ("\n".join([GENERIC_HEADER, *GOOD_GENERIC_LINES]).replace(",", ";") + "\n").encode(),
        rows=3,
        revenue="35.5000",
    ),
    FileCase(
        "tab delimiter",
        "generic",
        ("\n".join([GENERIC_HEADER, *GOOD_GENERIC_LINES]).replace(",", "\t") + "\n").encode(),
        rows=3,
        revenue="35.5000",
    ),
    FileCase(
        "Excel's CSV UTF-8: byte order mark and CRLF line ends",
        "generic",
        ("\ufeff" + "\r\n".join([GENERIC_HEADER, *GOOD_GENERIC_LINES]) + "\r\n").encode(),
        rows=3,
        revenue="35.5000",
    ),
    FileCase(
        "non-UTF-8 bytes (Latin-1 text)",
        "generic",
        "\n".join([GENERIC_HEADER, "c1,o1,2021-01-01,10.00", "Müller,o2,2021-01-02,20.50"]).encode(
            "latin-1"
        ),
        error=(
            "Input file {path}, line 3 (the header is line 1): the file is not utf-8 text",
            "Re-encode it as UTF-8",
            "set the var input_encoding (or CLV_INPUT_ENCODING)",
        ),
    ),
    FileCase(
        "Latin-1 text with input_encoding: latin-1",
        "generic",
        "\n".join([GENERIC_HEADER, "c1,o1,2021-01-01,10.00", "Müller,o2,2021-01-02,20.50"]).encode(
            "latin-1"
        ),
        rows=2,
        revenue="30.5000",
        variables={"input_encoding": "latin-1"},
    ),
    FileCase(
        "a line with more fields than the header, after the rows DuckDB samples",
        "generic",
        _lines_of_many_rows("c9,o9,2021-01-01,1.00,surplus"),
        error=(
            "Input file {path}, line 30002 (the header is line 1):"
            " the line has more fields than the header",
            "quote or fix that line",
        ),
        models="+int_transaction_lines_audited",
    ),
    FileCase(
        "mixed CRLF and LF line ends",
        "generic",
        (
            GENERIC_HEADER
            + "\r\n"
            + GOOD_GENERIC_LINES[0]
            + "\n"
            + GOOD_GENERIC_LINES[1]
            + "\r\n"
            + GOOD_GENERIC_LINES[2]
            + "\n"
        ).encode(),
        error=(
            "Input file {path} mixes line ends: 2 line(s) end in CRLF (Windows) and 2 in LF alone",
            "sed -i 's/\\r$//' file.csv (or dos2unix file.csv)",
        ),
    ),
    FileCase(
        "mixed CRLF and LF line ends (CDNOW)",
        "cdnow",
        b" 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\n 00003 19970102  2   20.76\r\n",
        rows=3,
        revenue="44.5300",
    ),
    FileCase(
        "a 3 MB line (line 3): DuckDB names line 1",
        "generic",
        "\n".join(
            [
                GENERIC_HEADER,
                GOOD_GENERIC_LINES[0],
                "c2,o2,2021-01-02," + "9" * 3_000_000,
                GOOD_GENERIC_LINES[2],
            ]
        ).encode(),
        error=(
            "Input file {path}, line 3 (the header is line 1): the line is 3,000,017 bytes long,"
            " more than the 2,000,000 the CSV reader accepts",
            "fix or remove that line",
        ),
        models="+int_transaction_lines_audited",
    ),
]


# --- row cases: one build per layout ------------------------------------------------------------


def _case_id(case) -> str:
    return f"{case.layout}: {case.name}"


@pytest.fixture(scope="module")
def batch_of(tmp_path_factory):
    """batch_of(layout): (build, {case name: {line index: (file, row)}}), once per module."""
    batches = {}

    def batch(layout):
        if layout not in batches:
            work_dir = tmp_path_factory.mktemp(f"bad_{layout}")
            header = [BATCH_HEADERS[layout]] if BATCH_HEADERS[layout] else []
            first, second, positions = [], [], {}
            for case in (c for c in ROW_CASES if c.layout == layout):
                positions[case.name] = {}
                for index, (line, _) in enumerate(case.lines):
                    first.append(line)
                    places = [("batch-1", len(first))]
                    if case.loaded_twice:
                        second.append(line)
                        places.append(("batch-2", len(second)))
                    positions[case.name][index] = places
            # the last line of the first file is the cut-off one: no line break after it
            (work_dir / "batch-1.txt").write_text("\n".join(header + first))
            if second:
                (work_dir / "batch-2.txt").write_text("\n".join(header + second) + "\n")
            build = build_warehouse(
                work_dir / "build",
                layout,
                work_dir / "batch-*.txt",
                as_of_date=BATCH_AS_OF[layout],
                variables=BATCH_VARIABLES.get(layout),
                dbt_args=(
                    "build",
                    "--select",
                    "+transactions",
                    "+transaction_rejections",
                    "+ingestion_reconciliation",
                    "+rejection_reason_counts",
                    "+customers",
                    "--indirect-selection",
                    "cautious",
                ),
            ).assert_succeeded()
            batches[layout] = (build, positions, len(first) + len(second))
        return batches[layout]

    return batch


@pytest.mark.parametrize("case", ROW_CASES, ids=_case_id)
def test_every_line_of_the_case_is_rejected_with_its_reason_or_kept(batch_of, case):
    build, positions, _ = batch_of(case.layout)
    rejected = {
        (Path(file).stem, row): reason
        for file, row, reason in build.rows(
            "select source_file, source_row_number, rejection_reason"
            " from marts.transaction_rejections"
        )
    }
    kept = {
        (Path(file).stem, row): Kept(customer, str(day), f"{revenue:.4f}")
        for file, row, customer, day, revenue in build.rows(
            "select source_file, source_row_number, customer_id, order_date, line_revenue"
            " from marts.transactions"
        )
    }
    for index, (line, expected) in enumerate(case.lines):
        for place_number, place in enumerate(positions[case.name][index]):
            if place_number > 0 and isinstance(expected, Kept):
                expected = "duplicate_line"  # the second copy of a kept line
            actual = kept.get(place) or rejected.get(place)
            assert actual == expected, f"{line!r} at {place}"
            assert not (place in kept and place in rejected)


@pytest.mark.parametrize("layout", sorted(BATCH_HEADERS))
def test_every_raw_line_of_the_batch_is_kept_or_rejected(batch_of, layout):
    build, _, lines = batch_of(layout)
    raw_rows, kept_rows, rejected_rows, raw_revenue, kept_revenue, rejected_revenue, ok = (
        build.rows(
            "select raw_rows, kept_rows, rejected_rows, raw_revenue, kept_revenue,"
            " rejected_revenue, is_reconciled from marts.ingestion_reconciliation"
        )[0]
    )
    assert raw_rows == lines  # the cut-off last line too
    assert raw_rows == kept_rows + rejected_rows
    assert raw_revenue == kept_revenue + rejected_revenue
    assert ok


def test_large_amounts_add_up_without_overflow(batch_of):
    """Two lines of 9e13 fit decimal(18, 4) each; their sum does not, yet totals hold it."""
    build, _, _ = batch_of("generic")
    assert build.rows("select gross_revenue from marts.customers where customer_id = 'G40'") == [
        (Decimal("180000000000000.0000"),)
    ]


@pytest.mark.parametrize(
    ("case", "layout", "file", "row", "reason"), REFERENCED_CASES, ids=lambda v: str(v)
)
def test_referenced_cases_are_in_the_layout_fixtures(case, layout, file, row, reason):
    assert (file, row, reason) in expected_rejections(layout), case


@pytest.mark.parametrize(("case", "test_file", "test_name"), TESTED_ELSEWHERE)
def test_cases_tested_elsewhere_still_are(case, test_file, test_name):
    source = (PROJECT_DIR / "tests" / "integration" / test_file).read_text()
    assert f"def {test_name}(" in source, case


# --- file cases: staging models only -------------------------------------------------------------


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory):
    """case_dir(case): one folder per layout and vars, reused by the cases that share them.
    Same input path, same warehouse path, same dbt target: every setting dbt parses with is
    the same, so dbt re-uses its parse of the project (partial parsing) from the previous
    case instead of parsing it again (3 s a case). The case's file and warehouse are new."""
    root = tmp_path_factory.mktemp("file_cases")

    def folder(case: FileCase) -> Path:
        key = case.layout + "-" + json.dumps(case.variables or {}, sort_keys=True)
        directory = root / hashlib.sha1(key.encode()).hexdigest()[:12]
        (directory / "build").mkdir(parents=True, exist_ok=True)
        (directory / "input.csv").unlink(missing_ok=True)
        (directory / "build" / "warehouse.duckdb").unlink(missing_ok=True)
        (directory / "build" / "warehouse.duckdb.wal").unlink(missing_ok=True)
        return directory

    return folder


@pytest.mark.parametrize("case", FILE_CASES, ids=_case_id)
def test_file_is_refused_clearly_or_read(case_dir, case):
    directory = case_dir(case)
    path = directory / "input.csv"
    if case.content is not None:
        path.write_bytes(case.content)
    build = build_warehouse(
        directory / "build",
        case.layout,
        path,
        variables=case.variables,
        dbt_args=(
            ("build" if case.models.startswith("+") else "run"),
            "--select",
            *case.models.format(staging=STAGING_MODELS[case.layout]).split(),
        ),
    )
    if case.error:
        assert not build.succeeded, "the build should have failed"
        for fragment in case.error:
            assert fragment.format(path=path) in build.output
    else:
        build.assert_succeeded()
        assert build.rows(
            "select count(*), count(customer_id), sum(line_revenue), count_if(is_malformed_line)"
            " from intermediate.int_transaction_lines_unioned"
        ) == [(case.rows, case.rows, Decimal(case.revenue), 0)]


def test_a_glob_matching_csv_and_parquet_files_is_refused(tmp_path):
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "a.csv").write_text(GENERIC_HEADER + "\n" + GOOD_GENERIC_LINES[0] + "\n")
    duckdb.execute(f"copy (select 1 as a) to '{tmp_path / 'input' / 'b.parquet'}' (format parquet)")
    build = build_warehouse(
        tmp_path / "build",
        "generic",
        tmp_path / "input" / "*",
        dbt_args=("run", "--select", STAGING_MODELS["generic"]),
    )
    assert not build.succeeded
    folder = tmp_path / "input"
    assert (
        f"Input {folder / '*'} matches both Parquet files ({folder / 'b.parquet'})"
        f" and CSV or text files ({folder / 'a.csv'}); one input is read one way."
    ) in build.output


# --- model cases: full builds --------------------------------------------------------------------


def _full_build(work_dir, lines):
    path = work_dir / "sales.csv"
    path.write_text("\n".join(["customer_id,order_id,ordered_at,amount", *lines]) + "\n")
    return build_warehouse(work_dir, "generic", path).assert_succeeded()


def test_a_single_customer(tmp_path):
    """One customer who bought every month for a year: the models say what they cannot fit,
    and the customer still gets a prediction from each model."""
    lines = [f"solo,o{m},2021-{m:02d}-15,{10 + m}.00" for m in range(1, 13)]
    build = _full_build(tmp_path, lines)
    runs = dict(
        build.rows("select model_name, status from marts.model_runs where cutoff_role = 'scoring'")
    )
    assert runs["naive"] == "fitted"
    assert runs["btyd"] == "no_repeat_buyers"
    assert build.rows(
        "select model_name, count(*) from marts.predictions where cutoff_role = 'scoring'"
        " group by 1 order by 1"
    ) == [("btyd", 1), ("naive", 1), ("xgboost", 1)]
    assert "WARNING     btyd at the scoring cutoff: no_repeat_buyers" in format_summary(
        read_summary(build.warehouse)
    )


def test_a_single_day_of_data(tmp_path):
    """Five customers, all on one day (a history shorter than the horizon): only the scoring
    cutoff exists, nothing can be trained or checked, and the summary says so. No model
    claims certainty: a 41-day file once gave every customer a purchase probability of 1."""
    lines = [f"c{i},o{i},2021-05-01,{10 * i}.00" for i in range(1, 6)]
    build = _full_build(tmp_path, lines)
    assert build.rows("select cutoff_role from marts.cutoffs") == [("scoring",)]
    runs = dict(
        build.rows("select model_name, status from marts.model_runs where cutoff_role = 'scoring'")
    )
    # The BG/NBD release is fitted at the training end, the month start 2021-05-01: every
    # purchase is on that day, so nobody had bought before it.
    assert runs == {"naive": "unvalidated", "btyd": "no_customers", "xgboost": "not_trained"}
    assert build.rows(
        "select min(purchase_probability), max(purchase_probability) from marts.predictions"
    ) == [(0.5, 0.5)]
    text = format_summary(read_summary(build.warehouse))
    assert "WARNING     naive at the scoring cutoff: unvalidated" in text
    assert "the history is shorter than horizon_days" in text
    assert "backtest    none: no customer bought before the backtest cutoff" in text
    assert "WARNING     btyd at the scoring cutoff: no_customers" in text
    assert "WARNING     xgboost at the scoring cutoff: not_trained" in text
