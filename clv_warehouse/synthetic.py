"""Synthetic transaction data at any scale, generated inside DuckDB.

    generate("online_retail", 10_000_000, Path("data/synthetic/or_10m"), seed=42) -> Manifest
    append_day(Path("data/synthetic/or_10m")) -> Manifest

Writes invoice lines in the online-retail layout or the generic layout as Parquet files
(``lines-00000.parquet`` ...; one more ``lines-day-YYYY-MM-DD.parquet`` per appended day)
and a ``manifest.json`` that says what is in them. Every value is a function of
(seed, customer, purchase, line) through DuckDB's ``hash``, so the same seed, size and
layout give the same rows in the same order, whatever the thread count. Python only
builds the SQL and runs it, one chunk of customers per file.

The statistical model (Fader, Hardie and Lee's BG/NBD, with time in days):

- Customers arrive uniformly over the history; the first purchase is on arrival.
- While alive a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha) (shape r,
  rate alpha), and after each repeat purchase drops out with probability p ~ Beta(a, b).
  Gamma draws use the Wilson-Hilferty cube of a normal for shape + 1 and Marsaglia-Tsang's
  boost U^(1/shape); Beta(a, b) = Ga / (Ga + Gb).
- A purchase is one invoice: a basket of lines of log-normal size, each line a product drawn
  from a Zipf(1) popularity over the catalogue, a log-normal quantity and the product's price.
- Some invoices are cancelled later in part: a return invoice repeats their first lines with
  negative quantities.
- A small share of extra lines are bad in one of the ways the cleaning rules catch.
- Optionally (``seasonality``, ``growth``; both 0 by default, which leaves every row as it was)
  the purchase and arrival rates vary with the calendar: times are drawn in "operational time"
  as above and mapped to calendar days through the cumulative rate (see ``rate_calendar``).

The line count is exact: purchases, returns and bad rows are drawn per invoice first, then
the lines of all purchase invoices are shared out in proportion to their drawn basket sizes
so that the total is exactly the number asked for (see ``_allocation_sql``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from clv_warehouse.sql_text import sql_literal

SYNTHETIC_LAYOUTS = ("online_retail", "generic")
MANIFEST_NAME = "manifest.json"
BASE_FILE_GLOB = "lines-[0-9]*.parquet"  # the first load only
ALL_FILES_GLOB = "lines-*.parquet"  # the first load and every appended day

# The generic layout's column names, as CLV_GENERIC_COLUMNS (JSON) or the var generic_columns.
GENERIC_COLUMNS = {
    "customer_id": "client",
    "order_id": "order_no",
    "ordered_at": "sold_at",
    "product_id": "sku",
    "quantity": "qty",
    "unit_price": "unit_price",
    "amount": None,
    "store_id": "shop",
    "country": "country",
}

# The bad rows, named by the rejection reason each gets (seeds/rejection_reasons.csv), and
# their relative weights. A bad row is a corrupted copy of a good purchase line, written
# right after it.
BAD_ROW_KINDS = {
    "missing_customer_id": 3,
    "missing_order_id": 1,
    "unparseable_number": 1,
    "date_before_earliest_valid": 1,
    "date_after_as_of": 1,
    "non_product_code": 3,
    "zero_or_negative_price": 2,
    "zero_quantity": 1,
    "duplicate_line": 3,
}

# Customers' countries and their shares (about the mix of the UCI online-retail data).
COUNTRIES = {
    "United Kingdom": 0.80,
    "Germany": 0.04,
    "France": 0.035,
    "EIRE": 0.03,
    "Spain": 0.02,
    "Netherlands": 0.02,
    "Belgium": 0.015,
    "Switzerland": 0.015,
    "Portugal": 0.01,
    "Australia": 0.01,
    "Norway": 0.005,
}
_ADJECTIVES = (
    "WHITE", "RED", "BLUE", "PINK", "GREEN", "VINTAGE", "RETRO", "HANGING", "WOODEN", "GLASS",
    "ENAMEL", "SET OF 3", "JUMBO", "MINI", "REGENCY", "PAPER", "FELT", "HEART", "STAR", "SPOTTY",
)  # fmt: skip
_NOUNS = (
    "T-LIGHT HOLDER", "LANTERN", "MUG", "CAKE CASES", "BUNTING", "DOORMAT", "LUNCH BAG",
    "ALARM CLOCK", "TEACUP AND SAUCER", "CUSHION COVER", "PHOTO FRAME", "NAPKINS", "GIFT WRAP",
    "WATER BOTTLE", "CHALKBOARD", "STORAGE TIN", "BIRD ORNAMENT", "HAND WARMER", "COASTER",
)  # fmt: skip
_NON_PRODUCT_CODES = (("POST", "POSTAGE"), ("DOT", "DOTCOM POSTAGE"), ("M", "Manual"),
                      ("C2", "CARRIAGE"), ("BANK CHARGES", "Bank Charges"),
                      ("AMAZONFEE", "AMAZON FEE"), ("ADJUST", "Adjustment"))  # fmt: skip
_MISSING_CUSTOMER_MARKERS = (None, "", "(blank)", "NaN", "null", "N/A")
_UNPARSEABLE_QUANTITIES = ("two", "1,5", "3 pcs", "12 x")  # generic layout: qty is text


@dataclass(frozen=True)
class Parameters:
    """Every knob of the generator; the defaults are the documented model."""

    # history: first day and number of days; the as-of date is the day after the last one
    start_date: str = "2019-01-01"
    history_days: int = 1096
    # customers: lines / lines_per_customer, at least min_customers (but at least 10 lines
    # each); 350M lines -> about 300k customers
    lines_per_customer: float = 1170.0
    min_customers: int = 1000
    # BG/NBD: purchase rate lambda ~ Gamma(r, alpha) per day, dropout p ~ Beta(a, b). At
    # fewer lines per customer than lines_per_customer the rates are scaled down by that
    # ratio, so small files have fewer purchases per customer rather than one-line baskets.
    r: float = 0.9
    alpha: float = 4.0
    a: float = 0.6
    b: float = 30.0
    # basket size: relative weights exp(sigma * z); quantities ceil(exp(mu + sigma * z))
    basket_sigma: float = 0.9
    quantity_mu: float = 1.0
    quantity_sigma: float = 0.9
    # catalogue: Zipf(1) popularity; prices exp(mu + sigma * z) per product
    price_mu: float = 0.8
    price_sigma: float = 0.9
    # returns: share of purchase invoices cancelled in part 1-28 days later; mean lines + 1
    return_share: float = 0.08
    return_lines_mean_extra: float = 1.0
    # stores: share of invoices at the customer's home store
    home_store_share: float = 0.85
    # bad rows: share of all lines
    bad_share: float = 0.003
    # appended days: share of invoices dated 1-3 days early (late arrivals) and lines copied
    # from the last week of the first load (at least one)
    late_share: float = 0.05
    append_duplicate_share: float = 0.005
    # calendar: the purchase rate (and the arrival rate of new customers) on a day is multiplied
    # by 1 + seasonality x cos(2 pi (day of year - 349) / 365.25), a yearly cycle peaking on
    # 15 December, and by (1 + growth) ^ (years since start_date). 0 and 0: a flat calendar.
    seasonality: float = 0.0
    growth: float = 0.0


@dataclass
class Manifest:
    """What a generated directory holds (manifest.json)."""

    layout: str
    seed: int
    lines_requested: int
    lines: int
    customers: int
    products: int
    stores: int
    purchase_lines: int
    return_lines: int
    bad_rows: int
    bad_rows_by_reason: dict[str, int]
    invoices: int
    first_date: str
    last_date: str
    as_of_date: str
    input_glob: str
    base_glob: str
    generic_columns: dict[str, str | None] | None
    files: list[dict]
    parameters: dict
    allocation: dict
    duckdb_version: str
    seconds: float
    appended_days: list[dict] = field(default_factory=list)

    def write(self, out_dir: Path) -> Path:
        path = out_dir / MANIFEST_NAME
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, out_dir: Path) -> Manifest:
        path = Path(out_dir) / MANIFEST_NAME
        if not path.exists():
            raise ValueError(f"no {MANIFEST_NAME} in {out_dir}: generate the data first")
        return cls(**json.loads(path.read_text()))


def parse_line_count(text: str | int) -> int:
    """'1m' -> 1_000_000, '350M' -> 350_000_000, '20k' -> 20_000, '20000' -> 20000."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kmb]?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"line count {text!r}: write a number, optionally with k, m or b")
    number, unit = match.groups()
    return round(float(number) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[unit])


# The day of year the seasonal cycle peaks on: 15 December (349 in a year of 365 days).
SEASONAL_PEAK_DAY_OF_YEAR = 349


def check_calendar(parameters: Parameters) -> None:
    """Seasonality must keep every day's rate positive, growth must not go below -100%."""
    if not (math.isfinite(parameters.seasonality) and 0 <= parameters.seasonality < 1):
        raise ValueError(
            f"seasonality {parameters.seasonality}: give an amplitude from 0 (none) to below 1"
            " (0.5 = December's rate 1.5 times the year's mean)"
        )
    if not (math.isfinite(parameters.growth) and -1 < parameters.growth <= 10):
        raise ValueError(
            f"growth {parameters.growth}: give a yearly growth of the purchase rate above -1 and"
            " at most 10 (0.1 = 10% more purchases a year)"
        )


def rate_multipliers(parameters: Parameters, days: int) -> list[float]:
    """The calendar's factor on the purchase and arrival rates of each day 0 .. days - 1."""
    start = date.fromisoformat(parameters.start_date)
    factors = []
    for index in range(days):
        day_of_year = (start + timedelta(days=index)).timetuple().tm_yday
        season = 1 + parameters.seasonality * math.cos(
            2 * math.pi * (day_of_year - SEASONAL_PEAK_DAY_OF_YEAR) / 365.25
        )
        factors.append(season * (1 + parameters.growth) ** (index / 365.25))
    return factors


def default_customers(lines: int, parameters: Parameters = Parameters()) -> int:
    """lines / lines_per_customer, at least min_customers but never under 10 lines each."""
    scaled = round(lines / parameters.lines_per_customer)
    return max(1, max(scaled, min(parameters.min_customers, lines // 10)))


Progress = Callable[[str], None]


def generate(
    layout: str,
    lines: int | str,
    out_dir: Path | str,
    seed: int = 42,
    *,
    customers: int | None = None,
    parameters: Parameters = Parameters(),
    lines_per_file: int = 10_000_000,
    threads: int = 2,
    memory_limit: str = "4GB",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> Manifest:
    """Write `lines` lines of `layout` as Parquet files in out_dir, and manifest.json."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    if layout not in SYNTHETIC_LAYOUTS:
        raise ValueError(f"layout {layout!r}: choose one of {', '.join(SYNTHETIC_LAYOUTS)}")
    total = parse_line_count(lines)
    if total < 1000:
        raise ValueError(f"ask for at least 1000 lines (got {total})")
    check_calendar(parameters)
    out = Path(out_dir)
    _prepare_directory(out, overwrite)
    plan = _Plan(
        layout=layout,
        seed=seed,
        lines=total,
        customers=customers or default_customers(total, parameters),
        parameters=parameters,
        appended_days=0,
        lines_per_file=lines_per_file,
    )
    with _connect(out, threads, memory_limit) as con:
        plan.build_tables(con, say)
        chunks = con.execute("select max(chunk) + 1 from customer_chunks").fetchone()[0]
        files = []
        written = 0
        for chunk in range(chunks):
            path = out / f"lines-{chunk:05d}.parquet"
            selected = (
                "invoices.customer_index in (select customer_index from customer_chunks"
                f" where chunk = {chunk}) and invoices.day < {parameters.history_days}"
            )
            count = plan.write_lines(con, selected, path)
            written += count
            files.append({"file": path.name, "lines": count})
            say(
                f"chunk {chunk + 1}/{chunks}: {path.name} {count:,} lines"
                f" ({written:,} of {total:,}, {time.perf_counter() - started:.0f} s)"
            )
        manifest = plan.manifest(con, out, files, written, time.perf_counter() - started)
    manifest.write(out)
    return manifest


def append_day(
    out_dir: Path | str,
    *,
    threads: int = 2,
    memory_limit: str = "4GB",
    progress: Progress | None = None,
) -> Manifest:
    """Add the lines of the day after the last one as lines-day-YYYY-MM-DD.parquet.

    The customers still alive keep buying (the same purchase process, run one day further),
    customers acquired that day make their first purchase, and returns fall due. Also in the
    file: the invoices of a share `late_share` of those purchases are dated 1-3 days earlier
    (late arrivals), and `append_duplicate_share` of the day's lines (at least one) are exact
    copies of lines of the last week of the first load, which the warehouse rejects as
    duplicate_line. The manifest records each count and the new as-of date.
    """
    started = time.perf_counter()
    say = progress or (lambda message: None)
    out = Path(out_dir)
    manifest = Manifest.read(out)
    parameters = Parameters(**manifest.parameters)
    day_index = parameters.history_days + len(manifest.appended_days)
    new_date = _day(parameters, day_index)
    plan = _Plan(
        layout=manifest.layout,
        seed=manifest.seed,
        lines=manifest.lines_requested,
        customers=manifest.customers,
        parameters=parameters,
        appended_days=len(manifest.appended_days) + 1,
    )
    path = out / f"lines-day-{new_date.isoformat()}.parquet"
    with _connect(out, threads, memory_limit) as con:
        plan.build_tables(con, say)
        if plan.allocation(con) != manifest.allocation:
            raise ValueError(f"{out} was not generated by this version of the generator")
        new_day = f"invoices.day = {day_index}"
        copied = f"invoices.kind = 'purchase' and invoices.day >= {parameters.history_days - 7}"
        count = plan.write_lines(con, new_day, path, duplicates_from=copied)
        late, duplicates, new_customers = con.execute(
            f"""
            select
                (select count(*) from generated_lines where is_late),
                (select count(*) from generated_lines where variant = 'copy'),
                (select count(*) from customers where acquired_day = {day_index})
            """
        ).fetchone()
    say(f"appended {path.name}: {count:,} lines ({time.perf_counter() - started:.0f} s)")
    manifest.appended_days.append(
        {
            "date": new_date.isoformat(),
            "file": path.name,
            "lines": count,
            "late_lines": late,
            "duplicate_lines": duplicates,
            "new_customers": new_customers,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    manifest.last_date = new_date.isoformat()
    manifest.as_of_date = (new_date + timedelta(days=1)).isoformat()
    manifest.write(out)
    return manifest


def _prepare_directory(out: Path, overwrite: bool) -> None:
    existing = [*out.glob(ALL_FILES_GLOB), *out.glob(MANIFEST_NAME)] if out.exists() else []
    if existing and not overwrite:
        raise ValueError(f"{out} already holds generated data: remove it or pass --force")
    for path in existing:
        path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _connect(out: Path, threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to out/.duckdb_tmp when it exceeds memory_limit."""
    con = duckdb.connect()
    con.execute(f"set threads = {int(threads)}")
    con.execute(f"set memory_limit = {sql_literal(memory_limit)}")
    con.execute(f"set temp_directory = {sql_literal(out / '.duckdb_tmp')}")
    con.execute("set preserve_insertion_order = true")
    return con


def _day(parameters: Parameters, index: int) -> date:
    return date.fromisoformat(parameters.start_date) + timedelta(days=index)


def _sql_text(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _sql_list(values) -> str:
    return "[" + ", ".join(_sql_text(value) for value in values) + "]"


def _weighted_case(draw: str, weights: dict[str, float]) -> str:
    """A CASE that maps a uniform draw in (0, 1) to a key with probability ~ its weight."""
    total = sum(weights.values())
    bounds, cumulative = [], 0.0
    keys = list(weights)
    for key in keys[:-1]:
        cumulative += weights[key] / total
        bounds.append(f"when {draw} < {cumulative!r} then {_sql_text(key)}")
    return f"case {' '.join(bounds)} else {_sql_text(keys[-1])} end"


@dataclass
class _Plan:
    """The SQL of one generation: the tables of customers and invoices, then the lines."""

    layout: str
    seed: int
    lines: int
    customers: int
    parameters: Parameters
    appended_days: int
    lines_per_file: int = 10_000_000

    @property
    def horizon_days(self) -> int:
        return self.parameters.history_days + self.appended_days

    @property
    def new_customers_per_day(self) -> int:
        return max(1, round(self.customers / self.parameters.history_days))

    @property
    def products(self) -> int:
        return max(500, min(20_000, round(4 * math.sqrt(self.lines))))

    @property
    def stores(self) -> int:
        return max(5, min(200, self.customers // 1000))

    @property
    def rate_multiplier(self) -> float:
        per_customer = self.lines / self.customers
        return min(1.0, per_customer / self.parameters.lines_per_customer)

    @property
    def bad_rows(self) -> int:
        return round(self.lines * self.parameters.bad_share)

    @property
    def has_calendar(self) -> bool:
        """Seasonality or growth: purchase times go through the rate calendar."""
        return self.parameters.seasonality != 0 or self.parameters.growth != 0

    def build_tables(self, con: duckdb.DuckDBPyConnection, say: Progress) -> None:
        con.execute(self._macros_sql())
        con.execute(self._customers_sql())
        if self.has_calendar:
            con.execute(self._rate_calendar_sql())
            con.execute(self._calendar_customers_sql())
        con.execute(self._purchases_sql())
        con.execute(self._allocation_sql())
        extra_lines = con.execute("select extra_lines from allocation").fetchone()[0]
        if extra_lines < 0:
            raise ValueError(
                f"{self.lines:,} lines are too few for {self.customers:,} customers' invoices:"
                " ask for more lines or fewer customers"
            )
        con.execute(self._bad_rows_macro_sql(con))
        con.execute(self._invoices_sql())
        con.execute(self._customer_chunks_sql())
        invoices, customers = con.execute(
            "select count(*), count(distinct customer_index) from invoices"
        ).fetchone()
        say(f"planned {invoices:,} invoices of {customers:,} customers")

    def allocation(self, con: duckdb.DuckDBPyConnection) -> dict:
        names = ("purchase_lines", "return_lines", "extra_lines", "weight_total")
        row = con.execute(f"select {', '.join(names)} from allocation").fetchone()
        return {name: int(value) for name, value in zip(names, row, strict=True)}

    # --- SQL ---------------------------------------------------------------------------------

    def _macros_sql(self) -> str:
        return f"""
        -- A uniform draw in (0, 1): the top 53 bits of hash(seed, stream, keys). The same keys
        -- give the same draw in any query, any order and any thread count.
        create or replace macro uniform(stream, k1, k2, k3) as
            ((hash({int(self.seed)}, stream, k1, k2, k3) >> 11)::double + 0.5)
            / 9007199254740992.0;

        -- A standard normal draw (Box-Muller).
        create or replace macro standard_normal(stream, k1, k2, k3) as
            sqrt(-2 * ln(uniform(stream || '/radius', k1, k2, k3)))
            * cos(2 * pi() * uniform(stream || '/angle', k1, k2, k3));

        -- A Gamma(shape, 1) draw: Wilson-Hilferty's cube of a normal gives Gamma(shape + 1)
        -- (accurate for shapes of 1 and more), and the boost U^(1 / shape) of Marsaglia and
        -- Tsang turns it into Gamma(shape), so shapes below 1 work too.
        create or replace macro standard_gamma(shape, stream, k1, k2, k3) as
            (shape + 1) * pow(greatest(
                1 - 1 / (9 * (shape + 1))
                + standard_normal(stream, k1, k2, k3) * sqrt(1 / (9 * (shape + 1))),
                1e-6), 3)
            * pow(uniform(stream || '/boost', k1, k2, k3), 1 / shape);

        -- Zipf(1) popularity: rank k of n with probability ln((k + 1) / k) / ln(n + 1) ~ 1 / k.
        create or replace macro zipf_rank(draw, n) as
            least(n, floor(exp(draw * ln(n + 1))))::bigint;
        """

    def _customers_sql(self) -> str:
        p = self.parameters
        new = self.appended_days * self.new_customers_per_day
        horizon = self.horizon_days
        return f"""
        create or replace table customers as
        with drawn as (
            select
                customer_index,
                -- acquisition: uniform over the history; appended days bring
                -- {self.new_customers_per_day} new customers each
                case
                    when customer_index < {self.customers}
                        then floor(uniform('acquired', customer_index, 0, 0)
                            * {p.history_days} * 1e6)
                    else ({p.history_days} + (customer_index - {self.customers})
                        // {self.new_customers_per_day}) * 1e6
                        + floor(uniform('acquired', customer_index, 0, 0) * 1e6)
                end::bigint as acquired_at_microdays,
                -- BG/NBD heterogeneity: lambda ~ Gamma(r, alpha) purchases per day (scaled by
                -- {self.rate_multiplier:.6f} for this size), p ~ Beta(a, b)
                standard_gamma({p.r}, 'rate', customer_index, 0, 0) / {p.alpha}
                    * {self.rate_multiplier!r} as purchase_rate,
                standard_gamma({p.a}, 'dropout a', customer_index, 0, 0) as dropout_gamma_a,
                standard_gamma({p.b}, 'dropout b', customer_index, 0, 0) as dropout_gamma_b,
                {_weighted_case("uniform('country', customer_index, 0, 0)", COUNTRIES)}
                    as country,
                floor(uniform('home store', customer_index, 0, 0) * {self.stores})::bigint
                    as home_store_index
            from range({self.customers + new}) as ids (customer_index)
        ),

        lifetimes as (
            select
                *,
                acquired_at_microdays // 1000000 as acquired_day,
                least(greatest(dropout_gamma_a / (dropout_gamma_a + dropout_gamma_b), 1e-9),
                    1 - 1e-9) as dropout_probability
            from drawn
        )

        select
            *,
            -- repeat purchases until dropout: geometric, at least 1 (BG/NBD drops out only
            -- after a repeat purchase)
            least(1 + floor(ln(uniform('dropout', customer_index, 0, 0))
                / ln(1 - dropout_probability)), 1e9)::bigint as repeats_before_dropout,
            -- repeat purchases the Poisson process can make before the horizon, with a
            -- margin of 6 standard deviations
            purchase_rate * ({horizon} - acquired_at_microdays / 1e6) as expected_repeats
        from lifetimes
        where acquired_day < {horizon}
        """

    def _purchases_sql(self) -> str:
        p = self.parameters
        horizon_micro = self.horizon_days * 1_000_000
        # with a calendar the gaps run in operational time from the operational arrival, and
        # calendar_timed maps each time back to the calendar
        start = "acquired_operational_microdays" if self.has_calendar else "acquired_at_microdays"
        timed = "calendar_timed" if self.has_calendar else "timed"
        return f"""
        create or replace table purchases as
        with candidates as (
            select
                customer_index,
                acquired_at_microdays,{
            " acquired_operational_microdays," if self.has_calendar else ""
        }
                purchase_rate,
                home_store_index,
                unnest(range(0, least(repeats_before_dropout,
                    ceil(expected_repeats + 6 * sqrt(expected_repeats) + 10))::bigint + 1))
                    as purchase_number
            from customers
        ),

        gaps as (
            select
                *,
                -- purchase 0 on arrival, then exponential gaps of mean 1 / lambda
                case
                    when purchase_number = 0 then {start}
                    else least(round(-ln(uniform('gap', customer_index, purchase_number, 0))
                        / purchase_rate * 1e6), 1e13)::bigint
                end as gap_microdays
            from candidates
        ),

        timed as (
            select
                *,
                sum(gap_microdays) over (
                    partition by customer_index order by purchase_number
                    rows between unbounded preceding and current row
                )::bigint as purchased_at_microdays
            from gaps
        ){self._calendar_timed_sql() if self.has_calendar else ""}

        select
            customer_index,
            purchase_number,
            purchased_at_microdays // 1000000 as day,
            -- shops open 08:00-20:00: the time of day within the day, in minutes
            480 + (purchased_at_microdays % 1000000) * 720 // 1000000 as minute_of_day,
            -- basket size: a log-normal weight, in thousandths
            greatest(1, round(1000 * exp({p.basket_sigma} * standard_normal(
                'basket', customer_index, purchase_number, 0))))::bigint as basket_weight,
            case
                when uniform('store', customer_index, purchase_number, 0) < {p.home_store_share}
                    then home_store_index
                else floor(uniform('other store', customer_index, purchase_number, 0)
                    * {self.stores})::bigint
            end as store_index,
            -- returns: this invoice's first lines are cancelled 1-28 days later
            uniform('return', customer_index, purchase_number, 0) < {p.return_share}
                as is_returned,
            least(10, 1 + floor(-ln(uniform('return lines', customer_index, purchase_number, 0))
                * {p.return_lines_mean_extra}))::bigint as return_line_count,
            purchased_at_microdays // 1000000 + 1
                + floor(uniform('return delay', customer_index, purchase_number, 0) * 28)::bigint
                as return_day
        from {timed}
        where purchased_at_microdays < {horizon_micro}
        """

    def _rate_calendar_sql(self) -> str:
        """One row per day through the horizon: the day's rate factor and the operational
        time (in microdays) at its start, the running sum of the factors before it. Computed
        here in Python, so the sums are the same on every run."""
        factors = rate_multipliers(self.parameters, self.horizon_days + 1)
        rows, elapsed = [], 0.0
        for day, factor in enumerate(factors):
            rows.append(f"({day}, {round(elapsed)}, {factor!r})")
            elapsed += factor * 1e6
        return f"""
        create or replace table rate_calendar as
        select * from (values {", ".join(rows)})
            as calendar (day, operational_start_microdays, rate_factor)
        """

    def _operational_total_microdays(self, days: int) -> int:
        return round(sum(rate_multipliers(self.parameters, days)) * 1e6)

    def _calendar_customers_sql(self) -> str:
        """Arrivals of the first load, drawn uniform over the history, are taken as uniform
        in operational time and mapped to the calendar (more customers arrive when the rate is
        high); appended days keep their arrivals. Every customer gets the operational time of
        their arrival, from which the gaps between purchases run."""
        history = self.parameters.history_days
        history_operational = self._operational_total_microdays(history)
        horizon_operational = self._operational_total_microdays(self.horizon_days)
        return f"""
        create or replace table customers as
        with targets as (
            select
                *,
                case
                    when customer_index < {self.customers}
                        then (acquired_at_microdays::hugeint * {history_operational}
                            // {history * 1_000_000})::bigint
                end as target_operational_microdays
            from customers
        ),

        placed as (
            select
                targets.* exclude (target_operational_microdays) replace (
                    coalesce(
                        rate_calendar.day * 1000000 + floor(
                            (targets.target_operational_microdays
                                - rate_calendar.operational_start_microdays)
                            / rate_calendar.rate_factor)::bigint,
                        targets.acquired_at_microdays
                    ) as acquired_at_microdays
                )
            from targets
            asof left join rate_calendar
                on targets.target_operational_microdays
                    >= rate_calendar.operational_start_microdays
        ),

        operational as (
            select
                placed.*,
                rate_calendar.operational_start_microdays + round(
                    (placed.acquired_at_microdays - rate_calendar.day * 1000000)
                    * rate_calendar.rate_factor)::bigint as acquired_operational_microdays
            from placed
            inner join rate_calendar
                on rate_calendar.day = placed.acquired_at_microdays // 1000000
        )

        select
            * replace (
                acquired_at_microdays // 1000000 as acquired_day,
                purchase_rate * ({horizon_operational}
                    - acquired_operational_microdays) / 1e6 as expected_repeats
            )
        from operational
        order by customer_index
        """

    @staticmethod
    def _calendar_timed_sql() -> str:
        """Operational purchase times back to the calendar: the day whose operational start
        is the last one at or before the time, and the rest of the time at that day's rate.
        Purchase 0 stays on the arrival itself."""
        return """,

        calendar_timed as (
            select
                timed.* replace (
                    case
                        when timed.purchase_number = 0 then timed.acquired_at_microdays
                        else least(rate_calendar.day * 1000000 + floor(
                            (timed.purchased_at_microdays
                                - rate_calendar.operational_start_microdays)
                            / rate_calendar.rate_factor), 1e15)::bigint
                    end as purchased_at_microdays
                )
            from timed
            asof left join rate_calendar
                on timed.purchased_at_microdays >= rate_calendar.operational_start_microdays
        )"""

    def _allocation_sql(self) -> str:
        history = self.parameters.history_days
        return f"""
        -- The first load's line budget: {self.lines} lines = bad rows + return lines +
        -- purchase lines. Each purchase invoice gets at least one line (as many as its
        -- return cancels); the rest, extra_lines, are shared out in proportion to the
        -- basket weights.
        create or replace table allocation as
        with base as (
            select
                count(*) as invoices,
                sum(case when is_returned then return_line_count else 1 end) as minimum_lines,
                sum(case when is_returned and return_day < {history}
                    then return_line_count else 0 end) as return_lines,
                sum(basket_weight) as weight_total
            from purchases
            where day < {history}
        )
        select
            {self.bad_rows}::bigint as bad_rows,
            return_lines::bigint as return_lines,
            ({self.lines} - {self.bad_rows} - return_lines)::bigint as purchase_lines,
            ({self.lines} - {self.bad_rows} - return_lines - minimum_lines)::bigint
                as extra_lines,
            weight_total::bigint as weight_total,
            invoices
        from base
        """

    def _invoices_sql(self) -> str:
        history = self.parameters.history_days
        horizon = self.horizon_days
        return f"""
        create or replace table invoices as
        with budget as (select * from allocation),

        base_purchases as (
            select
                *,
                sum(basket_weight) over (
                    order by customer_index, purchase_number
                    rows between unbounded preceding and current row
                ) as weight_through
            from purchases
            where day < {history}
        ),

        base_lines as (
            -- cumulative rounding: the extra lines through this invoice are
            -- floor(weight through it x extra / total weight), so they add up exactly
            select
                base_purchases.*,
                (case when is_returned then return_line_count else 1 end)
                + (weight_through * budget.extra_lines) // budget.weight_total
                - ((weight_through - basket_weight) * budget.extra_lines) // budget.weight_total
                    as line_count
            from base_purchases
            cross join budget
        ),

        base_offsets as (
            -- line_offset: purchase lines before this invoice, which places the bad rows
            select
                *,
                sum(line_count) over (
                    order by customer_index, purchase_number
                    rows between unbounded preceding and current row
                ) - line_count as line_offset
            from base_lines
        ),

        later_purchases as (
            -- appended days: the same weights at the first load's lines per weight
            select
                purchases.*,
                null::hugeint as weight_through,
                (case when is_returned then return_line_count else 1 end)
                + (basket_weight * budget.extra_lines + budget.weight_total // 2)
                // budget.weight_total as line_count,
                null::hugeint as line_offset
            from purchases
            cross join budget
            where day >= {history}
        ),

        all_purchases as (
            select * from base_offsets
            union all
            select * from later_purchases
        ),

        invoice_rows as (
            select
                customer_index,
                purchase_number,
                'purchase' as kind,
                day,
                minute_of_day,
                store_index,
                line_count::bigint as line_count,
                line_offset::bigint as line_offset
            from all_purchases
            union all
            select
                customer_index,
                purchase_number,
                'return' as kind,
                return_day as day,
                480 + floor(uniform('return time', customer_index, purchase_number, 0)
                    * 720)::bigint as minute_of_day,
                store_index,
                return_line_count as line_count,
                null as line_offset
            from purchases
            where is_returned and return_day < {horizon}
        )

        select
            *,
            -- invoice numbers count up in time, from 536365 as in the UCI data
            536364 + row_number() over (
                order by day, minute_of_day, customer_index, purchase_number, kind
            ) as invoice_number
        from invoice_rows
        """

    def _customer_chunks_sql(self) -> str:
        return f"""
        -- One Parquet file per chunk of customers: a chunk starts at every
        -- {self.lines_per_file} lines of the first load (purchases, returns, bad rows).
        create or replace table customer_chunks as
        with per_customer as (
            select
                customer_index,
                sum(line_count + coalesce(bad_rows_before(line_offset + line_count)
                    - bad_rows_before(line_offset), 0)) as lines
            from invoices
            where day < {self.parameters.history_days}
            group by customer_index
        )
        select
            customer_index,
            ((sum(lines) over (order by customer_index rows between unbounded preceding
                and current row) - lines) // {self.lines_per_file})::bigint as chunk
        from per_customer
        """

    def _bad_rows_macro_sql(self, con: duckdb.DuckDBPyConnection) -> str:
        purchase_lines = con.execute("select purchase_lines from allocation").fetchone()[0]
        return f"""
        -- Bad rows are copies of evenly spaced purchase lines: of the first n purchase
        -- lines (in customer, purchase, line order), floor(n x bad rows / purchase lines)
        -- have one, so line n (0-based) has one when this count steps up after it.
        create or replace macro bad_rows_before(n) as
            (n::hugeint * {self.bad_rows}) // {purchase_lines};
        """

    def _lines_sql(self, selected: str) -> str:
        """Every line of the selected invoices, and the bad rows derived from them."""
        p = self.parameters
        online = self.layout == "online_retail"
        customer = (
            "(12346 + customer_index)::varchar"
            if online
            else "'C' || lpad(customer_index::varchar, 7, '0')"
        )
        order = (
            "case kind when 'return' then 'C' else '' end || invoice_number::varchar"
            if online
            else "case kind when 'return' then 'R' else 'S' end || invoice_number::varchar"
        )
        bad_kind = _weighted_case("uniform('bad kind', bad_index, 0, 0)", BAD_ROW_KINDS)
        # how a bad row breaks its rule: the draw picks among a few realistic variants
        pick = "floor(bad_draw * {n})::int + 1"
        markers = _sql_list(_MISSING_CUSTOMER_MARKERS)
        codes = _sql_list(code for code, _ in _NON_PRODUCT_CODES)
        code_names = _sql_list(name for _, name in _NON_PRODUCT_CODES)
        unparseable_price = "case when bad_draw < 0.5 then 'nan'::double else 'inf'::double end"
        return f"""
        with selected_invoices as (
            select
                *,
                -- appended days: some invoices arrive late, dated 1-3 days before their load
                case
                    when kind = 'purchase' and day >= {p.history_days}
                        and uniform('late', customer_index, purchase_number, 0) < {p.late_share}
                        then 1 + floor(uniform('late days', customer_index, purchase_number, 0)
                            * 3)::bigint
                    else 0
                end as days_late
            from invoices
            where {selected}
        ),

        line_slots as (
            select
                *,
                unnest(range(1, line_count + 1)) as line_number
            from selected_invoices
        ),

        drawn_lines as (
            -- a return repeats the first lines of its purchase: the same draws, same keys
            select
                *,
                zipf_rank(uniform('product', customer_index, purchase_number, line_number),
                    {self.products}) as product_rank,
                ceil(exp({p.quantity_mu} + {p.quantity_sigma} * standard_normal(
                    'quantity', customer_index, purchase_number, line_number)))::bigint
                    as drawn_quantity
            from line_slots
        ),

        distinct_lines as (
            select
                *,
                -- a product drawn again for the same basket gets one more unit each time
                -- than its first line, so no two lines of an invoice are exact copies
                first_value(drawn_quantity) over same_product - 1
                    + row_number() over same_product as line_quantity,
                line_offset + line_number - 1 as purchase_line_index
            from drawn_lines
            window same_product as (
                partition by customer_index, purchase_number, kind, product_rank
                order by line_number
            )
        ),

        good_lines as (
            select
                -- ids and order
                invoice_number,
                line_number,
                'good' as variant,
                days_late > 0 as is_late,
                ('{p.start_date}'::date + (day - days_late)::int)::timestamp
                    + to_minutes(minute_of_day::int) as sorted_at,
                {customer} as customer_text,
                {order} as order_text,
                ('{p.start_date}'::date + (day - days_late)::int)::timestamp
                    + to_minutes(minute_of_day::int) as ordered_at,
                -- product: a 5-digit stock code, some with a letter, a name and a price
                (10000 + product_rank)::varchar
                    || case when hash({self.seed}, 'suffix', product_rank) % 8 = 0
                        then 'A' else '' end as product_code,
                {_sql_list(_ADJECTIVES)}[1 + (hash({self.seed}, 'adjective', product_rank)
                    % {len(_ADJECTIVES)})::bigint]
                    || ' ' || {_sql_list(_NOUNS)}[1 + (hash({self.seed}, 'noun', product_rank)
                    % {len(_NOUNS)})::bigint] as product_description,
                round(greatest(0.1, exp({p.price_mu} + {p.price_sigma}
                    * standard_normal('price', product_rank, 0, 0))), 2) as unit_price,
                -- quantities: negative on returns
                case kind when 'return' then -line_quantity else line_quantity end as quantity,
                'S' || lpad((store_index + 1)::varchar, 3, '0') as store_text,
                {_weighted_case("uniform('country', customer_index, 0, 0)", COUNTRIES)}
                    as country,
                -- the bad row copied from this line, if any
                case
                    when bad_rows_before(purchase_line_index + 1)
                        > bad_rows_before(purchase_line_index)
                        then bad_rows_before(purchase_line_index)
                end as bad_index
            from distinct_lines
        ),

        bad_sources as (
            select
                *,
                {bad_kind} as bad_kind,
                uniform('bad variant', bad_index, 0, 0) as bad_draw
            from good_lines
            where bad_index is not null
        ),

        bad_lines as (
            select
                invoice_number,
                line_number,
                'bad' as variant,
                is_late,
                sorted_at,
                case when bad_kind = 'missing_customer_id'
                    then {markers}[{pick.format(n=len(_MISSING_CUSTOMER_MARKERS))}]
                    else customer_text end as customer_text,
                case when bad_kind = 'missing_order_id'
                    then (case when bad_draw < 0.5 then '' end)
                    else order_text end as order_text,
                case bad_kind
                    when 'date_before_earliest_valid' then '1900-01-01'::timestamp
                    when 'date_after_as_of'
                        then ordered_at + to_years(30 + floor(bad_draw * 50)::int)
                    else ordered_at
                end as ordered_at,
                case when bad_kind = 'non_product_code'
                    then {codes}[{pick.format(n=len(_NON_PRODUCT_CODES))}]
                    else product_code end as product_code,
                case when bad_kind = 'non_product_code'
                    then {code_names}[{pick.format(n=len(_NON_PRODUCT_CODES))}]
                    else product_description end as product_description,
                case bad_kind
                    when 'zero_or_negative_price'
                        then (case when bad_draw < 0.5 then 0 else -unit_price end)
                    when 'non_product_code' then round(1 + bad_draw * 40, 2)
                    {"when 'unparseable_number' then " + unparseable_price if online else ""}
                    else unit_price
                end as unit_price,
                case bad_kind
                    when 'zero_quantity' then 0
                    when 'non_product_code' then 1
                    else quantity
                end as quantity,
                store_text,
                country,
                bad_index,
                bad_kind
            from bad_sources
        )

        select *, null as bad_kind from good_lines
        union all
        select * from bad_lines
        """

    def _layout_columns(self) -> str:
        """The output columns of the layout, from the canonical columns of _lines_sql."""
        if self.layout == "online_retail":
            return """
                order_text as "InvoiceNo",
                product_code as "StockCode",
                product_description as "Description",
                quantity::bigint as "Quantity",
                ordered_at as "InvoiceDate",
                unit_price::double as "UnitPrice",
                customer_text as "CustomerID",
                country as "Country"
            """
        texts = _sql_list(_UNPARSEABLE_QUANTITIES)
        return f"""
                customer_text as client,
                order_text as order_no,
                ordered_at as sold_at,
                product_code as sku,
                -- quantities are text in this export, so some are not numbers
                case when bad_kind = 'unparseable_number'
                    then {texts}[1 + (bad_index % {len(_UNPARSEABLE_QUANTITIES)})::bigint]
                    else quantity::varchar end as qty,
                unit_price::decimal(12, 2) as unit_price,
                store_text as shop,
                country
            """

    def write_lines(
        self,
        con: duckdb.DuckDBPyConnection,
        selected: str,
        path: Path,
        *,
        duplicates_from: str | None = None,
    ) -> int:
        """Write the lines of the selected invoices (plus copies of some lines of the
        duplicates_from invoices) to one Parquet file, in time order; the line count."""
        query = f"select * from ({self._lines_sql(selected)})"
        if duplicates_from is not None:
            lines = con.execute(
                f"select coalesce(sum(line_count), 0) from invoices where {selected}"
            ).fetchone()[0]
            copies = max(1, round(lines * self.parameters.append_duplicate_share))
            query += f"""
            union all
            select * replace ('copy' as variant) from (
                select * from ({self._lines_sql(duplicates_from)})
                where variant = 'good'
                order by hash({self.seed}, 'copy', {self.appended_days}, invoice_number,
                    line_number)
                limit {copies}
            )
            """
        con.execute(f"create or replace temp view generated_lines as {query}")
        variant_order = "case variant when 'good' then 0 when 'bad' then 1 else 2 end"
        # file order: time, invoice, line; a bad row right after the line it copies
        return con.execute(
            f"""
            copy (
                select {self._layout_columns()}
                from generated_lines
                order by sorted_at, invoice_number, line_number, {variant_order}
            ) to {sql_literal(path)} (format parquet, compression zstd)
            """
        ).fetchone()[0]

    def manifest(
        self,
        con: duckdb.DuckDBPyConnection,
        out: Path,
        files: list[dict],
        written: int,
        seconds: float,
    ) -> Manifest:
        history = self.parameters.history_days
        allocation = self.allocation(con)
        by_reason = dict(
            con.execute(
                f"""
                select bad_kind, count(*) from (
                    select {_weighted_case("uniform('bad kind', bad_index, 0, 0)", BAD_ROW_KINDS)}
                        as bad_kind
                    from range({self.bad_rows}) as ids (bad_index)
                )
                group by bad_kind order by bad_kind
                """
            ).fetchall()
        )
        invoices, customers, first_day, last_day = con.execute(
            f"""
            select count(*), count(distinct customer_index), min(day), max(day)
            from invoices where day < {history}
            """
        ).fetchone()
        return Manifest(
            layout=self.layout,
            seed=self.seed,
            lines_requested=self.lines,
            lines=written,
            customers=customers,
            products=self.products,
            stores=self.stores,
            purchase_lines=allocation["purchase_lines"],
            return_lines=allocation["return_lines"],
            bad_rows=self.bad_rows,
            bad_rows_by_reason=by_reason,
            invoices=invoices,
            first_date=_day(self.parameters, first_day).isoformat(),
            last_date=_day(self.parameters, last_day).isoformat(),
            as_of_date=_day(self.parameters, history).isoformat(),
            input_glob=str(out / ALL_FILES_GLOB),
            base_glob=str(out / BASE_FILE_GLOB),
            generic_columns=GENERIC_COLUMNS if self.layout == "generic" else None,
            files=files,
            parameters=asdict(self.parameters),
            allocation=allocation,
            duckdb_version=duckdb.__version__,
            seconds=round(seconds, 1),
        )
