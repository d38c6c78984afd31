"""Which layout a file is in, and which of its columns hold what: `clv build --input sales.csv`
without a layout or a mapping.

The guess reads the header and a sample of rows of the first file an input matches:

- a CDNOW-style text file (customer, YYYYMMDD date, count, dollars, separated by spaces) is
  the `cdnow` layout;
- a header with the UCI Online Retail names (InvoiceNo or Invoice, StockCode, Quantity,
  InvoiceDate, UnitPrice or Price, CustomerID or Customer ID) is `online_retail`;
- anything else is `generic`, and each canonical column is matched to a column of the file by
  its name (known synonyms, case, spaces and underscores ignored) and checked against its
  values (a date column must hold dates, an amount numbers). A required column (customer id,
  date, and an amount or both quantity and unit price) that no name gives is looked for by its
  values alone, and taken only when exactly one column fits.

Two columns that fit one role equally well are never chosen between: the guess is refused,
naming both, with how to pin the mapping. A pinned mapping (`--columns`, CLV_GENERIC_COLUMNS or
`clv_columns.yml` beside the data) is used as given and never guessed.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import yaml

from clv_warehouse.messages import one_line

CANONICAL = (
    "customer_id",
    "order_id",
    "ordered_at",
    "product_id",
    "quantity",
    "unit_price",
    "amount",
    "store_id",
    "country",
)
# Names a column of that role is often given in exports (normalized: lower case, no spaces,
# underscores, dashes or dots).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid",
        "customer",
        "customerno",
        "customernumber",
        "custid",
        "cust",
        "clientid",
        "client",
        "clientno",
        "userid",
        "user",
        "memberid",
        "member",
        "accountid",
        "account",
        "householdkey",
        "householdid",
        "household",
        "buyerid",
        "buyer",
        "shopperid",
        "kundennr",
        "kunde",
    ),
    "order_id": (
        "orderid",
        "order",
        "orderno",
        "ordernumber",
        "invoiceno",
        "invoice",
        "invoiceid",
        "invoicenumber",
        "transactionid",
        "transaction",
        "basketid",
        "basket",
        "receiptid",
        "receipt",
        "receiptno",
        "ticketid",
        "ticket",
        "bonnr",
    ),
    "ordered_at": (
        "orderedat",
        "orderdate",
        "ordertime",
        "invoicedate",
        "purchasedate",
        "purchasedat",
        "transactiondate",
        "transactiontime",
        "transactiontimestamp",
        "ordertimestamp",
        "purchasetimestamp",
        "solddate",
        "soldat",
        "saledate",
        "date",
        "datetime",
        "timestamp",
        "createdat",
        "day",
        "datum",
    ),
    "product_id": (
        "productid",
        "product",
        "productcode",
        "sku",
        "stockcode",
        "itemid",
        "item",
        "itemcode",
        "articleid",
        "article",
        "ean",
        "upc",
        "artikel",
    ),
    "quantity": ("quantity", "qty", "units", "unitcount", "quantitysold", "pieces", "menge"),
    "unit_price": (
        "unitprice",
        "price",
        "priceeach",
        "itemprice",
        "unitcost",
        "listprice",
        "preis",
    ),
    "amount": (
        "amount",
        "salesvalue",
        "sales",
        "revenue",
        "total",
        "totalamount",
        "linetotal",
        "lineamount",
        "netamount",
        "netsales",
        "grossamount",
        "value",
        "dollarvalue",
        "spend",
        "turnover",
        "umsatz",
        "betrag",
    ),
    "store_id": ("storeid", "store", "shopid", "shop", "branchid", "branch", "location", "outlet"),
    "country": ("country", "countrycode", "countryname", "land"),
}
REQUIRED_TEXT = "customer_id, ordered_at, and amount (or quantity and unit_price)"
ONLINE_RETAIL_NAMES = (
    ("invoiceno", "invoice"),
    ("stockcode",),
    ("quantity",),
    ("invoicedate",),
    ("unitprice", "price"),
    ("customerid",),
)
CDNOW_LINE = re.compile(r"^\s*\S+(\s+\S+)?\s+(19|20)\d{6}\s+-?\d+\s+-?\d+(\.\d+)?\s*$")
DATE_VALUE = re.compile(
    r"^\s*("
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
    r"|\d{1,2}/\d{1,2}/\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}\.\d{1,2}\.\d{4}( \d{1,2}:\d{2}(:\d{2})?)?"
    r")\s*$"
)
NUMBER_VALUE = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$")
SAMPLE_ROWS = 2000
PIN_FILE = "clv_columns.yml"


class GuessError(ValueError):
    """The layout or a column cannot be told apart; one line naming the candidates and how to
    pin the mapping."""


@dataclass(frozen=True)
class Sample:
    """The header and the first rows of one file, every value as text (None when empty)."""

    path: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    typed: Mapping[str, str] = field(default_factory=dict)  # Parquet column -> its type

    def values(self, column: str) -> list[str]:
        index = self.columns.index(column)
        return [row[index] for row in self.rows if row[index] not in (None, "")]


@dataclass(frozen=True)
class InputGuess:
    """The layout to read a file in, and for the generic layout its column mapping."""

    layout: str
    columns: dict[str, str | None] | None
    source: str  # "guessed", "--columns", "CLV_GENERIC_COLUMNS" or the pin file's path
    notes: tuple[str, ...] = ()

    def mapping_text(self) -> str:
        if not self.columns:
            return ""
        return ", ".join(
            f"{key} <- {column}" for key, column in self.columns.items() if column is not None
        )


def normalized(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name).lower()


def read_sample(path: str, encoding: str = "utf-8") -> Sample:
    """The header and first rows of a CSV, text or Parquet file, as text."""
    if path.lower().endswith(".parquet"):
        with duckdb.connect() as con:
            relation = con.sql("select * from read_parquet(?)", params=[path])
            columns = tuple(relation.columns)
            typed = dict(zip(columns, (str(kind) for kind in relation.types), strict=True))
            rows = relation.limit(SAMPLE_ROWS).fetchall()
        return Sample(
            path,
            columns,
            tuple(tuple(None if value is None else str(value) for value in row) for row in rows),
            typed,
        )
    lines = _first_lines(path, encoding)
    if lines and _looks_like_cdnow(lines):
        return Sample(path, ("cdnow",), ())
    with duckdb.connect() as con:
        relation = con.sql(
            "select * from read_csv(?, header = true, all_varchar = true, sample_size = 20480,"
            " encoding = ?)",
            params=[path, encoding],
        )
        columns = tuple(relation.columns)
        rows = relation.limit(SAMPLE_ROWS).fetchall()
    return Sample(path, columns, tuple(tuple(row) for row in rows))


def _first_lines(path: str, encoding: str, count: int = 50) -> list[str]:
    opener = gzip.open if path.lower().endswith(".gz") else open
    lines: list[str] = []
    try:
        with opener(path, "rt", encoding=encoding, errors="replace") as handle:
            for line in handle:
                if line.strip():
                    lines.append(line.rstrip("\r\n"))
                if len(lines) >= count:
                    break
    except (OSError, EOFError):
        return []
    return lines


def _looks_like_cdnow(lines: Sequence[str]) -> bool:
    """Space-separated customer, YYYYMMDD, count, dollars (an optional header line first)."""
    body = lines[1:] if lines and not CDNOW_LINE.match(lines[0]) else lines
    if not body or "," in body[0] or ";" in body[0] or "\t" in body[0].strip():
        return False
    return sum(bool(CDNOW_LINE.match(line)) for line in body) >= 0.8 * len(body)


def is_online_retail(columns: Sequence[str]) -> bool:
    names = {normalized(column) for column in columns}
    return all(any(option in names for option in options) for options in ONLINE_RETAIL_NAMES)


def _share(values: Sequence[str], pattern: re.Pattern[str]) -> float:
    return sum(bool(pattern.match(value)) for value in values) / len(values) if values else 0.0


def _is_date_column(sample: Sample, column: str) -> bool:
    kind = sample.typed.get(column, "").upper()
    if kind:
        if kind.startswith(("DATE", "TIMESTAMP")):
            return True
        if kind != "VARCHAR":
            return False
    return _share(sample.values(column), DATE_VALUE) >= 0.9


def _is_number_column(sample: Sample, column: str) -> bool:
    kind = sample.typed.get(column, "").upper()
    if kind and kind != "VARCHAR":
        return kind.startswith(
            (
                "DECIMAL",
                "DOUBLE",
                "FLOAT",
                "REAL",
                "INT",
                "BIGINT",
                "HUGEINT",
                "SMALLINT",
                "TINYINT",
                "UBIGINT",
                "UINTEGER",
            )
        )
    values = sample.values(column)
    return (
        bool(values) and _share(values, NUMBER_VALUE) >= 0.9 and not _is_date_column(sample, column)
    )


def _fits(sample: Sample, role: str, column: str) -> bool:
    """Whether a column's values can hold that role."""
    if not sample.values(column):
        return role not in ("customer_id", "ordered_at", "amount", "quantity", "unit_price")
    if role == "ordered_at":
        return _is_date_column(sample, column)
    if role in ("amount", "quantity", "unit_price"):
        return _is_number_column(sample, column)
    # ids, products, stores and countries are text or whole numbers, never dates
    return not _is_date_column(sample, column)


def _name_tier(role: str, column: str) -> int | None:
    """0 for the role's own name (customer_id, Customer ID), 1 for another of its synonyms
    (client, household_key), None for neither. Two synonyms of one tier are a tie."""
    name = normalized(column)
    if name == normalized(role):
        return 0
    return 1 if name in SYNONYMS[role] else None


def _pin_hint(path: str) -> str:
    return (
        f"pin the mapping with --columns 'customer_id=<column>,ordered_at=<column>,"
        f"amount=<column>' or in {Path(path).parent / PIN_FILE}"
    )


def guess_columns(
    sample: Sample, pinned: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """The generic mapping for a sample, or GuessError naming what cannot be told apart.
    Roles in ``pinned`` (``--columns``) are taken as given; the others are guessed."""
    pinned = dict(pinned or {})
    columns = list(sample.columns)
    unknown = sorted(str(c) for c in pinned.values() if c is not None and c not in columns)
    if unknown:
        raise GuessError(
            f"{sample.path} has no column {unknown[0]!r} (--columns); its columns:"
            f" {', '.join(columns[:20])}{' ...' if len(columns) > 20 else ''}"
        )
    names = [normalized(column) for column in columns]
    duplicates = sorted({column for column in columns if names.count(normalized(column)) > 1})
    if duplicates:
        raise GuessError(
            f"{sample.path}: columns {', '.join(repr(c) for c in duplicates)} have the same name"
            " once case, spaces and underscores are ignored: rename one, or "
            + _pin_hint(sample.path)
        )
    mapping: dict[str, str | None] = dict.fromkeys(CANONICAL)
    mapping.update(pinned)
    taken: set[str] = {column for column in pinned.values() if column is not None}
    for role in CANONICAL:
        if role in pinned:
            continue
        ranked = sorted(
            (tier, column)
            for column in columns
            if column not in taken
            and (tier := _name_tier(role, column)) is not None
            and _fits(sample, role, column)
        )
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            raise GuessError(
                f"{sample.path}: cannot tell which column holds {role}:"
                f" {' or '.join(repr(column) for _, column in ranked[:4])};"
                f" {_pin_hint(sample.path)}"
            )
        if ranked:
            mapping[role] = ranked[0][1]
            taken.add(ranked[0][1])
    _fill_required_from_values(sample, columns, mapping, taken, set(pinned))
    missing = _missing_required(mapping)
    if missing:
        raise GuessError(
            f"{sample.path}: no column could be told to hold {', '.join(missing)} (columns:"
            f" {', '.join(columns[:20])}{' ...' if len(columns) > 20 else ''});"
            f" {_pin_hint(sample.path)}"
        )
    return mapping


def _missing_required(mapping: Mapping[str, str | None]) -> list[str]:
    missing = [role for role in ("customer_id", "ordered_at") if mapping.get(role) is None]
    if mapping.get("amount") is None and (
        mapping.get("quantity") is None or mapping.get("unit_price") is None
    ):
        missing.append("amount (or quantity and unit_price)")
    return missing


def _fill_required_from_values(
    sample: Sample,
    columns: Sequence[str],
    mapping: dict[str, str | None],
    taken: set[str],
    pinned: set[str],
) -> None:
    """A required role no name gave, found by values alone when exactly one column fits."""
    free = [column for column in columns if column not in taken]
    if mapping["ordered_at"] is None and "ordered_at" not in pinned:
        dates = [
            column for column in free if sample.values(column) and _is_date_column(sample, column)
        ]
        _take_only(sample, "ordered_at", dates, mapping, taken)
    if (
        mapping["amount"] is None
        and "amount" not in pinned
        and (mapping["quantity"] is None or mapping["unit_price"] is None)
    ):
        decimals = [
            column
            for column in columns
            if column not in taken
            and _is_number_column(sample, column)
            and any("." in value for value in sample.values(column))
        ]
        _take_only(sample, "amount", decimals, mapping, taken)


def _take_only(
    sample: Sample,
    role: str,
    candidates: Sequence[str],
    mapping: dict[str, str | None],
    taken: set[str],
) -> None:
    if len(candidates) == 1:
        mapping[role] = candidates[0]
        taken.add(candidates[0])
    elif len(candidates) > 1:
        raise GuessError(
            f"{sample.path}: cannot tell which column holds {role}:"
            f" {' or '.join(repr(c) for c in candidates[:4])}; {_pin_hint(sample.path)}"
        )


def guess_layout(sample: Sample) -> str:
    if sample.columns == ("cdnow",) and not sample.rows:
        return "cdnow"
    if is_online_retail(sample.columns):
        return "online_retail"
    return "generic"


def parse_columns_option(text: str) -> dict[str, str | None]:
    """`--columns customer_id=client,ordered_at=sold_at,amount=total` (or a JSON object)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            given = json.loads(text)
        except ValueError as error:
            raise GuessError(f"--columns is not JSON ({error})") from None
        if not isinstance(given, dict):
            raise GuessError("--columns must be a JSON object or key=column pairs")
        return _checked_mapping(given, "--columns")
    pairs: dict[str, str | None] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise GuessError(
                f"--columns: {part!r} is not key=column (e.g. customer_id=client,ordered_at=date)"
            )
        pairs[key.strip()] = value.strip() or None
    return _checked_mapping(pairs, "--columns")


def _checked_mapping(given: Mapping[str, object], setting: str) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for key, value in given.items():
        if key not in CANONICAL:
            raise GuessError(
                f"{setting}: unknown key {str(key)[:60]!r}; known keys: {', '.join(CANONICAL)}"
            )
        if value is not None and not isinstance(value, str):
            raise GuessError(f"{setting}: {key} must name a column or be null, not {value!r}")
        mapping[key] = value or None
    return mapping


def read_pin_file(path: Path) -> tuple[str | None, dict[str, str | None] | None]:
    """`clv_columns.yml`: `layout:` (optional) and `columns:` (the generic mapping)."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise GuessError(f"{path}: cannot be read as YAML ({one_line(error)})") from None
    if not isinstance(content, dict) or not set(content) <= {"layout", "columns"}:
        raise GuessError(
            f"{path}: give `layout:` and/or `columns:` (a mapping such as customer_id: client)"
        )
    layout = content.get("layout")
    columns = content.get("columns")
    if columns is not None and not isinstance(columns, dict):
        raise GuessError(f"{path}: `columns:` must map canonical names to your column names")
    return layout, (_checked_mapping(columns, str(path)) if columns is not None else None)


def pin_file_for(input_pattern: str) -> Path:
    """clv_columns.yml in the folder of the input (the folder of a glob's first part)."""
    head = re.split(r"[*?\[]", input_pattern, maxsplit=1)[0]
    folder = Path(head) if head.endswith(("/", "\\")) else Path(head).parent
    return folder / PIN_FILE


def pin_text(guess: InputGuess) -> str:
    """The clv_columns.yml that pins a guess."""
    content: dict[str, object] = {"layout": guess.layout}
    if guess.columns:
        content["columns"] = {k: v for k, v in guess.columns.items() if v is not None}
    return yaml.safe_dump(content, sort_keys=False)


def columns_option_text(columns: Mapping[str, str | None]) -> str:
    return ",".join(f"{key}={value}" for key, value in columns.items() if value is not None)
