"""Guessing the layout and the generic mapping of a user's file (clv_warehouse/column_guess.py,
input_resolution.py), and reading Excel workbooks (workbooks.py)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest

from clv_warehouse import column_guess
from clv_warehouse.column_guess import GuessError, guess_columns, guess_layout, read_sample
from clv_warehouse.input_resolution import resolve_input
from clv_warehouse.project import cdnow_master_path
from clv_warehouse.synthetic import generate
from clv_warehouse.workbooks import WorkbookError, convert_workbooks, read_sheet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GENERIC_FIXTURE_COLUMNS = json.loads((FIXTURES / "generic" / "columns.json").read_text())


def _csv(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _full(mapping: dict) -> dict:
    return {**dict.fromkeys(column_guess.CANONICAL), **mapping}


@pytest.mark.parametrize(
    ("path", "layout"),
    [
        (FIXTURES / "cdnow" / "1997-h1.txt", "cdnow"),
        (FIXTURES / "cdnow" / "1997-h2.txt", "cdnow"),
        (cdnow_master_path(), "cdnow"),
        (FIXTURES / "online_retail" / "invoice_lines.csv", "online_retail"),
        (FIXTURES / "generic" / "sales.csv", "generic"),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_each_fixture_layout_is_recognised(path, layout):
    assert guess_layout(read_sample(str(path))) == layout


def test_the_generic_fixture_gets_the_mapping_its_tests_pin():
    sample = read_sample(str(FIXTURES / "generic" / "sales.csv"))
    assert guess_columns(sample) == _full(GENERIC_FIXTURE_COLUMNS)


def test_the_synthetic_generic_parquet_gets_the_mapping_its_manifest_names(tmp_path):
    manifest = generate("generic", 2_000, tmp_path / "data", seed=3, customers=100)
    sample = read_sample(str(sorted((tmp_path / "data").glob("lines-*.parquet"))[0]))
    assert guess_layout(sample) == "generic"
    assert guess_columns(sample) == _full(manifest.generic_columns)


def test_complete_journey_columns_are_recognised(tmp_path):
    """The Complete Journey transactions' own column names (tests/complete_journey.py)."""
    path = tmp_path / "cj.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (select 1371 as household_id, 364 as store_id, '31198459' as basket_id,
                     1004906 as product_id, 1 as quantity, 1.39 as sales_value,
                     -0.6 as retail_disc, 0.0 as coupon_disc, 1 as week,
                     timestamp '2017-01-01 11:53:26' as transaction_timestamp)
                to '{path}' (format parquet)"""
        )
    assert guess_columns(read_sample(str(path))) == _full(
        {
            "customer_id": "household_id",
            "order_id": "basket_id",
            "ordered_at": "transaction_timestamp",
            "product_id": "product_id",
            "quantity": "quantity",
            "amount": "sales_value",
            "store_id": "store_id",
        }
    )


def test_names_in_other_cases_and_spacing_are_recognised(tmp_path):
    path = _csv(
        tmp_path / "export.csv",
        "Customer ID,Order Date,Total Amount,Country\nA1,2021-03-01,10.50,FR\nA2,2021-03-02,7,DE\n",
    )
    assert guess_columns(read_sample(path)) == _full(
        {
            "customer_id": "Customer ID",
            "ordered_at": "Order Date",
            "amount": "Total Amount",
            "country": "Country",
        }
    )


def test_unnamed_roles_are_found_by_their_values_when_only_one_column_fits(tmp_path):
    path = _csv(
        tmp_path / "kunden.csv",
        "kunde,wann,betrag_eur\nK1,2021-03-01,10.50\nK1,2021-04-01,3.25\nK2,2021-03-02,7.00\n",
    )
    mapping = guess_columns(read_sample(path))
    assert (mapping["customer_id"], mapping["ordered_at"], mapping["amount"]) == (
        "kunde",
        "wann",
        "betrag_eur",
    )


def test_two_columns_that_fit_one_role_are_refused_naming_both(tmp_path):
    path = _csv(
        tmp_path / "two_clients.csv",
        "client,customer,date,amount\nA,Ann,2021-01-01,1.0\nB,Bob,2021-01-02,2.0\n",
    )
    with pytest.raises(GuessError) as raised:
        guess_columns(read_sample(path))
    message = str(raised.value)
    assert "\n" not in message
    for named in ("'client'", "'customer'", "--columns", "clv_columns.yml"):
        assert named in message


def test_two_unnamed_date_columns_are_refused(tmp_path):
    path = _csv(
        tmp_path / "dates.csv",
        "customer_id,created,shipped,amount\nA,2021-01-01,2021-01-03,1.5\n",
    )
    with pytest.raises(GuessError, match="'created' or 'shipped'"):
        guess_columns(read_sample(path))


def test_a_missing_role_names_the_columns_found(tmp_path):
    path = _csv(tmp_path / "nodate.csv", "customer_id,amount\nA,1.5\n")
    with pytest.raises(GuessError, match=r"ordered_at.*columns: customer_id, amount"):
        guess_columns(read_sample(path))


def test_a_named_column_whose_values_do_not_fit_is_not_taken(tmp_path):
    # "date" holds week numbers here; the only real dates are in "day_of_sale"
    path = _csv(
        tmp_path / "weeks.csv",
        "customer_id,date,day_of_sale,amount\nA,12,2021-01-01,1.5\nB,13,2021-01-08,2.5\n",
    )
    assert guess_columns(read_sample(path))["ordered_at"] == "day_of_sale"


def test_columns_given_override_the_guess_key_by_key(tmp_path):
    path = _csv(
        tmp_path / "two_clients.csv",
        "client,customer,date,amount\nA,Ann,2021-01-01,1.0\nB,Bob,2021-01-02,2.0\n",
    )
    pinned = column_guess.parse_columns_option("customer_id=client")
    mapping = guess_columns(read_sample(path), pinned)
    assert mapping["customer_id"] == "client"
    assert (mapping["ordered_at"], mapping["amount"]) == ("date", "amount")
    with pytest.raises(GuessError, match="no column 'clients'"):
        guess_columns(read_sample(path), {"customer_id": "clients"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer_id=client, ordered_at=sold_at,amount=total", None),
        ('{"customer_id": "client", "ordered_at": "sold_at", "amount": "total"}', None),
    ],
)
def test_the_columns_option_reads_pairs_and_json(text, expected):
    assert column_guess.parse_columns_option(text) == {
        "customer_id": "client",
        "ordered_at": "sold_at",
        "amount": "total",
    }


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("client", "not key=column"),
        ("buyer=client", "unknown key 'buyer'"),
        ('{"customer_id": "client"', "not JSON"),
    ],
)
def test_a_bad_columns_option_is_one_line(text, complaint):
    with pytest.raises(GuessError, match=complaint):
        column_guess.parse_columns_option(text)


def test_a_pin_file_beside_the_data_is_used_as_written(tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    _csv(data / "a.csv", "client,customer,date,amount\nA,Ann,2021-01-01,1.0\n")
    (data / "clv_columns.yml").write_text(
        "layout: generic\ncolumns:\n  customer_id: client\n  ordered_at: date\n  amount: amount\n"
    )
    resolved = resolve_input(
        str(data / "*.csv"),
        [str(data / "a.csv")],
        layout=None,
        columns=None,
        sheet=None,
        warehouse_dir=tmp_path / "warehouse",
        environ={},
    )
    assert resolved.layout == "generic"
    assert resolved.generic_columns == _full(
        {"customer_id": "client", "ordered_at": "date", "amount": "amount"}
    )
    assert any("clv_columns.yml" in line for line in resolved.lines)


def test_a_guess_says_what_it_used_and_how_to_pin_it(tmp_path):
    source = FIXTURES / "generic" / "sales.csv"
    resolved = resolve_input(
        str(source),
        [str(source)],
        layout=None,
        columns=None,
        sheet=None,
        warehouse_dir=tmp_path,
        environ={},
    )
    text = "\n".join(resolved.lines)
    assert resolved.layout == "generic"
    assert "layout      generic (guessed" in text
    assert "customer_id <- client" in text
    assert "--columns 'customer_id=client,ordered_at=sold_at," in text
    # the lines offered as clv_columns.yml are that file, and pin the same mapping
    offered = [line[14:] for line in resolved.lines if line.startswith("              ")]
    pin = tmp_path / "clv_columns.yml"
    pin.write_text("\n".join(offered) + "\n", encoding="utf-8")
    layout, columns = column_guess.read_pin_file(pin)
    assert (layout, _full(columns)) == ("generic", resolved.generic_columns)


def test_a_given_layout_is_never_guessed(tmp_path):
    source = FIXTURES / "generic" / "sales.csv"
    resolved = resolve_input(
        str(source),
        [str(source)],
        layout="online_retail",
        columns=None,
        sheet=None,
        warehouse_dir=tmp_path,
        environ={},
    )
    assert (resolved.layout, resolved.generic_columns, resolved.lines) == (
        "online_retail",
        None,
        (),
    )


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_sheet_becomes_text_parquet_with_the_sheet_rows(tmp_path):
    book = _workbook(
        tmp_path / "sales.xlsx",
        {
            "Sales": [
                ["CustomerID", "InvoiceDate", "Amount", "Flag"],
                [17850.0, dt.datetime(2010, 12, 1, 8, 26), 2.55, True],
                [None, None, None, None],
                ["13047", dt.date(2010, 12, 2), 15, False],
                [None, None, None, None],
                [None, None, None, None],
            ],
            "Notes": [["hello"]],
        },
    )
    conversion = convert_workbooks([str(book)], str(book), tmp_path / "inputs", None)
    with duckdb.connect() as con:
        rows = con.execute(
            f"select * from read_parquet('{conversion.input_path}',"
            " file_row_number = true) order by file_row_number"
        ).fetchall()
        kinds = {
            kind
            for (kind,) in con.execute(
                f"select column_type from (describe select * from '{conversion.input_path}')"
            ).fetchall()
        }
    assert rows == [
        ("17850", "2010-12-01 08:26:00", "2.55", "true", 0),
        (None, None, None, None, 1),  # an empty row between values keeps the row numbers
        ("13047", "2010-12-02 00:00:00", "15", "false", 2),  # Excel dates are date-times
    ]
    assert kinds == {"VARCHAR"}
    assert "2 empty rows after the last value left out" in conversion.notes[0]


def test_a_workbook_is_converted_once(tmp_path):
    book = _workbook(
        tmp_path / "s.xlsx", {"S": [["customer_id", "date", "amount"], ["a", "2021-01-01", 1]]}
    )
    first = convert_workbooks([str(book)], str(book), tmp_path / "inputs", None)
    written = Path(first.input_path).read_bytes()
    mtime = Path(first.input_path).stat().st_mtime_ns
    again = convert_workbooks([str(book)], str(book), tmp_path / "inputs", None)
    assert "unchanged since its conversion" in again.notes[0]
    assert Path(again.input_path).stat().st_mtime_ns == mtime
    assert Path(again.input_path).read_bytes() == written


def test_the_sheet_is_chosen_by_name_or_position_and_an_unknown_one_is_named(tmp_path):
    book = _workbook(
        tmp_path / "s.xlsx", {"Notes": [["x"]], "Sales": [["customer_id", "amount"], ["a", 1]]}
    )
    assert read_sheet(book, "Sales")[0] == "Sales"
    assert read_sheet(book, "2")[0] == "Sales"
    with pytest.raises(WorkbookError, match="no sheet 'Orders'; its sheets: 'Notes', 'Sales'"):
        read_sheet(book, "Orders")


@pytest.mark.parametrize(
    ("rows", "complaint"),
    [
        ([["customer_id", "customer_id"], ["a", "b"]], "two columns named 'customer_id'"),
        ([["customer_id", None, "amount"], ["a", 1, 2]], "column B has no name"),
        ([["customer_id"], ["a", "extra"]], "right of the last named column"),
        ([[None, None], ["a", 1]], "no header in its first row"),
    ],
)
def test_a_sheet_the_build_cannot_read_is_one_line(tmp_path, rows, complaint):
    book = _workbook(tmp_path / "bad.xlsx", {"Sheet": rows})
    with pytest.raises(WorkbookError, match=complaint) as raised:
        read_sheet(book, None)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("content", [b"not a zip file at all", b"PK\x03\x04broken"])
def test_a_broken_workbook_is_one_line(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError, match=r"not a readable \.xlsx workbook") as raised:
        read_sheet(path, None)
    assert "\n" not in str(raised.value)


def test_an_old_excel_file_says_to_save_it_as_xlsx(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(WorkbookError, match=r"save the sheet as \.xlsx"):
        convert_workbooks([str(path)], str(path), tmp_path / "inputs", None)


def test_a_workbook_that_left_the_input_leaves_the_converted_folder(tmp_path):
    for name in ("2024-01.xlsx", "2024-02.xlsx"):
        _workbook(
            tmp_path / name, {"S": [["customer_id", "date", "amount"], ["a", "2021-01-01", 1]]}
        )
    pattern = str(tmp_path / "2024-*.xlsx")
    both = convert_workbooks(
        sorted(str(p) for p in tmp_path.glob("2024-*.xlsx")), pattern, tmp_path / "inputs", None
    )
    folder = Path(both.input_path).parent
    assert sorted(p.name for p in folder.glob("*.parquet")) == [
        "2024-01.parquet",
        "2024-02.parquet",
    ]
    convert_workbooks([str(tmp_path / "2024-02.xlsx")], pattern, tmp_path / "inputs", None)
    assert sorted(p.name for p in folder.glob("*.parquet")) == ["2024-02.parquet"]
