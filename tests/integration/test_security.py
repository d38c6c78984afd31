"""File contents and settings are data, never SQL.

A header cell, a path or a setting reaches SQL only through clv_quote
(macros/quoting/clv_quote.sql). Each test builds with hostile text and asserts that nothing
is written outside the work dir, no object appears in the warehouse that the build did not
make, and the build either treats the text as a plain name or value, or stops with an error
naming the culprit. Most cases only compile or run the staging model, where the input
checks are, so they take seconds.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from warehouse_builds import FIXTURES, GENERIC_FIXTURE_COLUMNS, Build, build_warehouse

from clv_warehouse.project import PROJECT_DIR

pytestmark = pytest.mark.integration

STAGING = {
    "online_retail": "stg_online_retail__invoice_lines",
    "generic": "stg_generic__transactions",
}
FIXTURE_FILES = {
    "online_retail": FIXTURES / "online_retail" / "invoice_lines.csv",
    "generic": FIXTURES / "generic" / "sales.csv",
}
# What the payloads below try to write, relative to the directory dbt runs in.
RELATIVE_TARGETS = ("pwned.csv", "evil.duckdb")


@pytest.fixture
def outside(tmp_path: Path):
    """A directory outside the work dir where a payload writes if it runs; files that a
    payload wrote into the project dir (dbt's cwd) are removed after the test."""
    directory = tmp_path / "outside"
    directory.mkdir()
    before = {name: (PROJECT_DIR / name).exists() for name in RELATIVE_TARGETS}
    yield directory
    for name, existed in before.items():
        if not existed:
            (PROJECT_DIR / name).unlink(missing_ok=True)


def written_outside(outside: Path, work_dir: Path) -> list[str]:
    """Files a payload wrote: in the outside dir, the project dir, the cwd or the work dir."""
    places = [PROJECT_DIR, Path.cwd(), work_dir]
    found = [str(path) for path in outside.iterdir()]
    for place in places:
        found += [str(place / name) for name in RELATIVE_TARGETS if (place / name).exists()]
    return found


def unexpected_tables(build: Build, layout: str) -> set[tuple[str, str]]:
    """Tables and views of the warehouse other than the build log and the staging view."""
    if not build.warehouse.exists():
        return set()
    tables = set(build.rows("select table_schema, table_name from information_schema.tables"))
    return tables - {("main", "clv_builds"), ("staging", STAGING[layout])}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def fixture_rows(layout: str) -> tuple[list[str], list[list[str]]]:
    with FIXTURE_FILES[layout].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def injection_header(columns: list[str], outside: Path) -> str:
    """A header cell that, pasted into the staging model's SQL between double quotes without
    doubling its own, closes the view's query and runs COPY, ATTACH and CREATE TABLE: it
    worked against the per-column field check (is_malformed_line) before clv_quote."""
    fake_columns = ", ".join(
        ["1 as q", "1 as file_line_number", "'f' as filename"]
        + [f"""'a' as "{name.replace('"', '""')}\"""" for name in columns]
    )
    return (
        f'{columns[0]}" is null) as m from numbered) select * from renamed); '
        f"copy (select 1 as a) to '{outside / 'pwned.csv'}'; "
        "copy (select 1 as a) to 'pwned.csv'; "
        f"attach '{outside / 'evil.duckdb'}' as evil; create table evil.t as select 1 as a; "
        "create table main.pwned as select 1 as a; "
        f"create table main.pwned_too as (with numbered as (select {fake_columns}), "
        'renamed as (select 1 as source_file, 1 as source_row_number, (select "q'
    )


HOSTILE_NAMES = [
    'semi"; drop table main.clv_builds; --',
    "it's",
    "x' || (select 1) || '",
    "L" * 3000,
    "{{ var('input_path') }} $name %s",
]


@pytest.mark.parametrize(
    ("layout", "with_names"),
    [("online_retail", False), ("generic", False), ("online_retail", True)],
    ids=["online_retail-payload", "generic-payload", "online_retail-names"],
)
def test_hostile_header_cells_are_names(tmp_path, outside, layout, with_names):
    """An extra column whose name is a payload that ran COPY, ATTACH and CREATE TABLE before
    clv_quote; or extra columns named with quotes, semicolons, SQL and 3000 characters. Each
    is read as a column name: the build succeeds, nothing is written, no table appears, and
    the staging view reads every line, none malformed."""
    header, rows = fixture_rows(layout)
    if with_names:
        # and a mapped column with a double quote in its name: found, and its values read
        header = ['Customer"ID' if name == "CustomerID" else name for name in header]
    hostile = HOSTILE_NAMES if with_names else [injection_header(header, outside)]
    path = write_csv(
        tmp_path / "hostile.csv", header + hostile, [row + ["v"] * len(hostile) for row in rows]
    )
    variables = {"generic_columns": GENERIC_FIXTURE_COLUMNS} if layout == "generic" else None
    work_dir = tmp_path / "work"
    build = build_warehouse(
        work_dir,
        layout,
        path,
        variables=variables,
        dbt_args=("run", "--select", STAGING[layout]),
    )
    assert written_outside(outside, work_dir) == []
    assert unexpected_tables(build, layout) == set()
    build.assert_succeeded()
    assert build.rows(
        f"select count(*), count(*) filter (where is_malformed_line), count(customer_id_raw)"
        f" from staging.{STAGING[layout]}"
    ) == [(len(rows), 0, len(rows))]


@pytest.mark.parametrize(("layout", "column", "renamed"), [("generic", "client", 'cli"ent')])
def test_mapped_column_with_a_double_quote_is_read(tmp_path, layout, column, renamed):
    """A column generic_columns maps whose name holds a double quote is found and read."""
    header, rows = fixture_rows(layout)
    path = write_csv(
        tmp_path / "quoted.csv", [renamed if name == column else name for name in header], rows
    )
    variables = None
    if layout == "generic":
        variables = {"generic_columns": {**GENERIC_FIXTURE_COLUMNS, "customer_id": renamed}}
    build = build_warehouse(
        tmp_path / "work",
        layout,
        path,
        variables=variables,
        dbt_args=("run", "--select", STAGING[layout]),
    ).assert_succeeded()
    index = header.index(column)
    assert build.rows(
        f"select count(*), count(distinct customer_id_raw) from staging.{STAGING[layout]}"
    ) == [(len(rows), len({row[index] for row in rows}))]


@pytest.mark.parametrize(
    ("layout", "extra_header", "culprits"),
    [
        # two columns that normalize to the same canonical column (item 4)
        (
            "online_retail",
            ["customer_id"],
            ("Input file {path}", "CustomerID, customer_id", "2 columns for customer_id"),
        ),
        # Online Retail and Online Retail II names for one column in one file
        ("online_retail", ["Price"], ("{path}", "UnitPrice, Price", "2 columns for unit_price")),
        ("generic", ["cli ent"], ("{path}", "client, cli ent", "2 columns for customer_id")),
        # a header cell holding a control character: not a name anyone can map
        ("online_retail", ["tab\there; drop table t"], ("Input file {path}: header column 9",)),
        # a line break in a quoted header cell: DuckDB cannot sniff the file (nothing runs)
        ("online_retail", ["line\nbreak'; copy (select 1) to 'pwned.csv'; --"], ("{path}",)),
    ],
    ids=["customer_id-twice", "unit_price-twice", "generic-client-twice", "tab", "newline"],
)
def test_header_names_that_cannot_be_mapped_are_refused(
    tmp_path, outside, layout, extra_header, culprits
):
    header, rows = fixture_rows(layout)
    path = write_csv(tmp_path / "in.csv", header + extra_header, [[*row, "1"] for row in rows])
    variables = {"generic_columns": GENERIC_FIXTURE_COLUMNS} if layout == "generic" else None
    work_dir = tmp_path / "work"
    build = build_warehouse(
        work_dir,
        layout,
        path,
        variables=variables,
        dbt_args=("compile", "--select", STAGING[layout]),
    )
    assert not build.succeeded
    for culprit in culprits:
        assert culprit.format(path=path) in build.output
    assert written_outside(outside, work_dir) == []
    assert unexpected_tables(build, layout) == set()


def test_online_retail_without_country_or_description(tmp_path):
    """Country and Description are descriptive, so optional (item 9): a file without them
    is read, with null country."""
    header, rows = fixture_rows("online_retail")
    keep = [i for i, name in enumerate(header) if name not in ("Country", "Description")]
    path = write_csv(
        tmp_path / "no_country.csv",
        [header[i] for i in keep],
        [[row[i] for i in keep] for row in rows],
    )
    build = build_warehouse(
        tmp_path / "work",
        "online_retail",
        path,
        dbt_args=("run", "--select", STAGING["online_retail"]),
    ).assert_succeeded()
    assert build.rows(
        "select count(*), count(country), count(product_description), count(customer_id_raw)"
        " from staging.stg_online_retail__invoice_lines"
    ) == [(len(rows), 0, 0, len(rows))]


# --- paths -------------------------------------------------------------------------------------


def test_input_path_with_dollar_quote_and_braces_reads_that_file(tmp_path):
    """The path reaches DuckDB through a string.Template and an SQL literal: `$name`, `'`,
    `"`, spaces, braces and `%` must read the file so named, never another (item 2)."""
    header, rows = fixture_rows("online_retail")
    folder = tmp_path / "in 'q' \"d\" {b} 100%"
    folder.mkdir()
    # the file `$name` silently became before: sales.csv with only the first line
    write_csv(folder / "sales.csv", header, rows[:1])
    path = write_csv(folder / "sales$name.csv", header, rows)
    build = build_warehouse(
        tmp_path / "work",
        "online_retail",
        path,
        dbt_args=("run", "--select", STAGING["online_retail"]),
    ).assert_succeeded()
    assert build.rows(
        "select source_file, count(*) from staging.stg_online_retail__invoice_lines group by 1"
    ) == [(str(path), len(rows))]


def test_input_path_dollar_not_a_template_key(tmp_path):
    """`$x` was a KeyError traceback: a file name like any other now."""
    header, rows = fixture_rows("generic")
    path = write_csv(tmp_path / "$x.csv", header, rows)
    build = build_warehouse(
        tmp_path / "work",
        "generic",
        path,
        variables={"generic_columns": GENERIC_FIXTURE_COLUMNS},
        dbt_args=("run", "--select", STAGING["generic"]),
    )
    assert "KeyError" not in build.output
    build.assert_succeeded()
    assert build.rows("select count(*) from staging.stg_generic__transactions") == [(len(rows),)]


# --- settings ------------------------------------------------------------------------------------

PAYLOAD = "'); copy (select 1) to 'pwned.csv'; create table main.pwned as select 1; --"

SETTING_ERRORS = [
    # (variables, model to compile, fragments of the error)
    ({"as_of_date": "2021-02-30"}, "int_transaction_lines_audited", ("as_of_date", "2021-02-30")),
    ({"as_of_date": "2021-01-01" + PAYLOAD}, "int_transaction_lines_audited", ("as_of_date",)),
    (
        {"earliest_valid_date": "2021-02-30"},
        "int_transaction_lines_audited",
        ("earliest_valid_date", "2021-02-30"),
    ),
    (
        {"earliest_valid_date": "1990-01-01" + PAYLOAD},
        "int_transaction_lines_audited",
        ("earliest_valid_date",),
    ),
    ({"timestamp_formats": ["%Q"]}, None, ("timestamp_formats", "'%Q'")),
    ({"timestamp_formats": "%Y-%m-%d"}, None, ("timestamp_formats", "list of strings")),
    ({"missing_value_markers": ["n/a", None]}, None, ("missing_value_markers", "item 2")),
    ({"missing_value_markers": "n/a"}, None, ("missing_value_markers", "list of strings")),
    ({"input_encoding": "utf-8" + PAYLOAD}, None, ("input_encoding",)),
    (
        {"insiders_top_share": "0.1" + PAYLOAD},
        "insiders",
        ("The var insiders_top_share must be a number",),
    ),
]


@pytest.mark.parametrize(("variables", "model", "fragments"), SETTING_ERRORS)
def test_hostile_or_invalid_setting_is_refused_by_name(
    tmp_path, outside, variables, model, fragments
):
    work_dir = tmp_path / "work"
    build = build_warehouse(
        work_dir,
        "online_retail",
        FIXTURE_FILES["online_retail"],
        variables=variables,
        dbt_args=("compile", "--select", model or STAGING["online_retail"]),
    )
    assert not build.succeeded
    for fragment in fragments:
        assert fragment in build.output
    assert "Traceback" not in build.output
    assert written_outside(outside, work_dir) == []
    assert unexpected_tables(build, "online_retail") == set()


def test_generic_columns_must_be_names(tmp_path, outside, monkeypatch):
    """generic_columns values are column names (text); CLV_GENERIC_COLUMNS must be a JSON
    object; a mapped name holding SQL is a name no column has."""
    work_dir = tmp_path / "work"
    sales = FIXTURE_FILES["generic"]
    compile_staging = ("compile", "--select", STAGING["generic"])

    not_text = build_warehouse(
        work_dir,
        "generic",
        sales,
        variables={"generic_columns": {**GENERIC_FIXTURE_COLUMNS, "amount": 5}},
        dbt_args=compile_staging,
    )
    assert not not_text.succeeded
    assert "generic_columns.amount must be a column name (text) or null; got 5" in not_text.output

    hostile = "client\" is null); copy (select 1) to 'pwned.csv'; --"
    hostile_build = build_warehouse(
        work_dir,
        "generic",
        sales,
        variables={"generic_columns": {**GENERIC_FIXTURE_COLUMNS, "customer_id": hostile}},
        dbt_args=compile_staging,
    )
    assert not hostile_build.succeeded
    assert f"lacks required column(s): customer_id (looked for {hostile})" in hostile_build.output

    monkeypatch.setenv("CLV_GENERIC_COLUMNS", '{"customer_id": "client",')
    malformed = build_warehouse(work_dir, "generic", sales, dbt_args=compile_staging)
    assert not malformed.succeeded
    assert "CLV_GENERIC_COLUMNS must map canonical column names" in malformed.output

    assert written_outside(outside, work_dir) == []
    assert unexpected_tables(hostile_build, "generic") == set()


def test_quoted_settings_are_values(tmp_path, outside):
    """A timestamp format and a missing-value marker that hold SQL are valid values: they are
    quoted, so the staging view runs with them as plain strings and nothing else happens."""
    work_dir = tmp_path / "work"
    build = build_warehouse(
        work_dir,
        "online_retail",
        FIXTURE_FILES["online_retail"],
        variables={
            "timestamp_formats": ["%m/%d/%Y %H:%M", "%Y" + PAYLOAD],
            "missing_value_markers": ["", "x" + PAYLOAD],
        },
        dbt_args=("run", "--select", STAGING["online_retail"]),
    )
    assert written_outside(outside, work_dir) == []
    assert unexpected_tables(build, "online_retail") == set()
    build.assert_succeeded()
    _, rows = fixture_rows("online_retail")
    assert build.rows("select count(*) from staging.stg_online_retail__invoice_lines") == [
        (len(rows),)
    ]


def test_clv_build_refuses_an_impossible_as_of_date(tmp_path):
    """`clv build --as-of 2021-02-30` stops, naming as_of_date, before any model is built."""
    env = {**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target")}
    env["DBT_LOG_PATH"] = str(tmp_path / "logs")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "clv_warehouse",
            "build",
            "--layout",
            "online_retail",
            "--input",
            str(FIXTURE_FILES["online_retail"]),
            "--as-of",
            "2021-02-30",
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--",
            "--select",
            "int_transaction_lines_audited",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "as_of_date must be a date written YYYY-MM-DD; got '2021-02-30'" in output
    assert "Traceback" not in output
