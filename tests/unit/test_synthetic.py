"""The synthetic data generator: deterministic, the size and shape asked for, appendable."""

from __future__ import annotations

import duckdb
import pytest

from clv_warehouse import cli
from clv_warehouse.synthetic import (
    GENERIC_COLUMNS,
    Manifest,
    Parameters,
    append_day,
    generate,
    parse_line_count,
)

LINES = 20_000


def _content_hash(directory, pattern="lines-*.parquet") -> str:
    """A hash of every row in file order, so order changes count as differences."""
    with duckdb.connect() as con:
        return con.execute(
            f"""
            select md5(string_agg(cast(row_value as varchar), '|' order by filename, row_number))
            from (
                select filename, file_row_number as row_number,
                    columns(* exclude (filename, file_row_number)) as row_value
                from read_parquet('{directory}/{pattern}', filename = true,
                    file_row_number = true)
            )
            """
        ).fetchone()[0]


def _rows(sql: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory):
    out = tmp_path_factory.mktemp("online_retail")
    return out, generate("online_retail", LINES, out, seed=7)


def test_line_counts_are_parsed():
    assert parse_line_count("1m") == 1_000_000
    assert parse_line_count("350M") == 350_000_000
    assert parse_line_count("20k") == 20_000
    assert parse_line_count("20000") == 20_000
    with pytest.raises(ValueError, match="optionally with k, m or b"):
        parse_line_count("ten")


def test_same_seed_same_rows_other_seed_other_rows(online_retail, tmp_path):
    out, manifest = online_retail
    again = generate("online_retail", LINES, tmp_path / "again", seed=7)
    other = generate("online_retail", LINES, tmp_path / "other", seed=8)
    assert _content_hash(out) == _content_hash(tmp_path / "again")
    assert _content_hash(out) != _content_hash(tmp_path / "other")
    assert again.bad_rows_by_reason == manifest.bad_rows_by_reason
    assert other.lines == manifest.lines == LINES


def test_online_retail_shape(online_retail):
    out, manifest = online_retail
    glob = f"{out}/lines-*.parquet"
    columns = _rows(f"select column_name, column_type from (describe select * from '{glob}')")
    assert columns == [
        ("InvoiceNo", "VARCHAR"),
        ("StockCode", "VARCHAR"),
        ("Description", "VARCHAR"),
        ("Quantity", "BIGINT"),
        ("InvoiceDate", "TIMESTAMP"),
        ("UnitPrice", "DOUBLE"),
        ("CustomerID", "VARCHAR"),
        ("Country", "VARCHAR"),
    ]
    lines, customers, return_lines, cancelled = _rows(
        f"""
        select count(*), count(distinct CustomerID) filter (where CustomerID similar to '[0-9]+'),
            count(*) filter (where Quantity < 0),
            count(*) filter (where InvoiceNo like 'C%')
        from '{glob}'
        """
    )[0]
    assert lines == manifest.lines == LINES
    assert manifest.customers == 1000
    assert customers == manifest.customers
    assert return_lines == cancelled == manifest.return_lines
    assert 0.002 < return_lines / lines < 0.05
    assert manifest.bad_rows == sum(manifest.bad_rows_by_reason.values()) == LINES * 0.003
    assert manifest.purchase_lines + manifest.return_lines + manifest.bad_rows == LINES
    assert manifest.as_of_date > manifest.last_date


def test_generic_shape_and_cli(tmp_path, capsys):
    out = tmp_path / "generic"
    assert cli.main(["generate", "--lines", "5k", "--layout", "generic", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "5,000 lines of 500 customers" in printed
    assert "CLV_GENERIC_COLUMNS" in printed
    types = dict(
        _rows(f"select column_name, column_type from (describe select * from '{out}/*.parquet')")
    )
    assert types == {
        "client": "VARCHAR",
        "order_no": "VARCHAR",
        "sold_at": "TIMESTAMP",
        "sku": "VARCHAR",
        "qty": "VARCHAR",
        "unit_price": "DECIMAL(12,2)",
        "shop": "VARCHAR",
        "country": "VARCHAR",
    }
    assert set(types) == {column for column in GENERIC_COLUMNS.values() if column}
    # a second run into the same folder needs --force
    assert cli.main(["generate", "--lines", "5k", "--layout", "generic", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_append_day_is_deterministic(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        generate("generic", 10_000, out, seed=3)
        manifest = append_day(out)
    day = manifest.appended_days[0]
    assert day["date"] == "2022-01-01"
    assert manifest.as_of_date == "2022-01-02"
    pattern = "lines-day-*.parquet"
    assert _content_hash(first, pattern) == _content_hash(second, pattern)
    lines, copies = _rows(
        f"""
        with appended as (select * from '{first}/{pattern}'),
        loaded as (select * from '{first}/lines-[0-9]*.parquet')
        select (select count(*) from appended),
            (select count(*) from appended where (client, order_no, sku, qty)
                in (select (client, order_no, sku, qty) from loaded))
        """
    )[0]
    assert lines == day["lines"] > 0
    assert copies == day["duplicate_lines"] >= 1
    dates = _rows(f"select distinct sold_at::date::varchar from '{first}/{pattern}'")
    late_or_copied = {date for (date,) in dates} - {"2022-01-01"}
    assert all(date < "2022-01-01" for date in late_or_copied)
    assert append_day(first).appended_days[1]["date"] == "2022-01-02"


def _calendar_shares(out) -> tuple[float, float]:
    """December's lines over the mean month's, and 2020's lines over 2019's (first load)."""
    return _rows(
        f"""
        with lines as (
            select sold_at from '{out}/lines-[0-9]*.parquet'
            where sold_at >= '2019-01-01' and sold_at < '2022-01-01'
        )
        select
            count(*) filter (month(sold_at) = 12) / (count(*) / 12.0),
            count(*) filter (year(sold_at) = 2020) / count(*) filter (year(sold_at) = 2019)
        from lines
        """
    )[0]


@pytest.fixture(scope="module")
def flat_calendar(tmp_path_factory):
    out = tmp_path_factory.mktemp("flat")
    generate("generic", LINES, out, seed=7)
    return _calendar_shares(out)


def test_seasonality_peaks_in_december_by_about_the_amplitude(tmp_path, flat_calendar):
    out = tmp_path / "seasonal"
    assert cli.main(
        ["generate", "--lines", "20k", "--layout", "generic", "--out", str(out), "--seed", "7",
         "--seasonality", "0.5"]
    ) == 0  # fmt: skip
    december, _ = _calendar_shares(out)
    flat_december, _ = flat_calendar
    # the same seed without seasonality shares the trend of the customer base: the ratio of
    # the two is the calendar's effect, 1 + 0.5 x cos(up to 16 days from the peak) ~ 1.49
    assert 1.3 < december / flat_december < 1.7
    again = tmp_path / "again"
    generate("generic", LINES, again, seed=7, parameters=Parameters(seasonality=0.5))
    assert _content_hash(out) == _content_hash(again)
    assert Manifest.read(out).parameters["seasonality"] == 0.5


def test_growth_raises_the_second_years_lines(tmp_path, flat_calendar):
    out = tmp_path / "growing"
    generate("generic", LINES, out, seed=7, parameters=Parameters(growth=0.5))
    _, growing = _calendar_shares(out)
    _, flat = flat_calendar
    # 50% more purchases a year per customer, and 50% more new customers
    assert growing / flat > 1.3
    # an appended day runs the same calendar one day further
    manifest = append_day(out)
    assert manifest.appended_days[0]["lines"] > 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seasonality", "1", "seasonality 1.0: give an amplitude from 0 (none) to below 1"),
        ("--growth", "-1", "growth -1.0: give a yearly growth of the purchase rate above -1"),
    ],
)
def test_calendar_options_out_of_range_are_refused(tmp_path, capsys, option, value, message):
    out = tmp_path / "refused"
    argv = ["generate", "--lines", "5k", "--layout", "generic", "--out", str(out), option, value]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
