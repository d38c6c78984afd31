"""The pandas route the benchmark compares with: RFM and a few features straight from Parquet.

    python -m clv_warehouse.bench.pandas_route --input 'dir/lines-*.parquet' --as-of 2022-01-01
        --out DIR [--threads 2] [--cutoffs 2021-01-02,2021-02-16,...]

What a data scientist would write without the warehouse, on the online-retail layout:

1. read: every file of the glob into one DataFrame. There is no pyarrow in the pinned stack,
   so DuckDB decodes the Parquet (``duckdb.read_parquet(...).df()``, same thread count);
   everything after that is pandas.
2. clean, as close to the SQL rules as is reasonable (int_transaction_lines_audited): drop
   lines with a missing customer id (the var missing_value_markers) or invoice number, a
   missing or non-finite date, quantity or price, dates before earliest_valid_date or on or
   after the as-of date, non-product stock codes (seeds/non_product_codes.csv), price <= 0,
   quantity 0, and exact duplicates of an earlier line (all raw columns equal). Numeric
   customer ids lose leading zeros and a trailing ".0", as in SQL. Revenue = quantity x
   price rounded to 4 decimals (the SQL keeps decimal(18,4)).
3. customer-days: net revenue per customer and day; a purchase day has net revenue > 0.
4. RFM at each cutoff (the scoring cutoff = as-of date, and every --cutoffs date: the benchmark
   passes the warehouse's grid, so both routes compute features at the same number of cutoffs):
   ``lifetimes.utils.summary_data_from_transaction_data`` on the purchase days before it,
   observation_period_end = cutoff - 1 day (the warehouse convention).
5. features by groupby, at each cutoff: purchase_days, orders, purchase_lines, return_lines,
   revenue, gross_revenue, returned_revenue, net_revenue, revenue_last_90d, orders_last_90d,
   purchase_days_last_90d (definitions of seeds/feature_catalog.csv).

Writes DIR/pandas_features.parquet (one row per customer and cutoff, with cutoff_date) and
DIR/pandas_route.json (rows read and kept, cutoffs, seconds per phase; the features at the
scoring cutoff alone are timed too, the one-cutoff comparison earlier benchmarks made).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.sql_text import sql_literal

FEATURE_COLUMNS = (
    "purchase_days",
    "orders",
    "purchase_lines",
    "return_lines",
    "revenue",
    "gross_revenue",
    "returned_revenue",
    "net_revenue",
    "revenue_last_90d",
    "orders_last_90d",
    "purchase_days_last_90d",
)
RFM_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _project_vars(project_dir: Path) -> dict:
    return yaml.safe_load((project_dir / "dbt_project.yml").read_text())["vars"]


def _clean_text(series: pd.Series, markers: set[str]) -> pd.Series:
    text = series.astype("string").str.strip()
    return text.mask(text.str.lower().isin(markers))


def clean_lines(
    lines: pd.DataFrame, as_of: pd.Timestamp, project_dir: Path = PROJECT_DIR
) -> pd.DataFrame:
    """Kept lines of an online-retail frame: customer_id, order_id, order_date, revenue, ..."""
    variables = _project_vars(project_dir)
    markers = {marker.lower() for marker in variables["missing_value_markers"]}
    non_product = set(
        pd.read_csv(project_dir / "seeds" / "non_product_codes.csv")["product_code"]
        .str.strip()
        .str.upper()
    )
    customer = _clean_text(lines["CustomerID"], markers)
    if variables["normalize_numeric_customer_ids"]:
        numeric = customer.str.fullmatch(r"[0-9]+(\.0+)?").fillna(False).astype(bool)
        normalized = customer.str.replace(r"\.0+$", "", regex=True).str.lstrip("0")
        customer = customer.where(~numeric, normalized.replace("", "0"))
    order = _clean_text(lines["InvoiceNo"], markers)
    ordered_at = pd.to_datetime(lines["InvoiceDate"], errors="coerce")
    quantity = pd.to_numeric(lines["Quantity"], errors="coerce").astype("float64")
    price = pd.to_numeric(lines["UnitPrice"], errors="coerce").astype("float64")
    order_date = ordered_at.dt.normalize()
    code = lines["StockCode"].astype("string").str.strip().str.upper()
    kept = (
        customer.notna()
        & order.notna()
        & ordered_at.notna()
        & np.isfinite(quantity)
        & np.isfinite(price)
        & (order_date >= pd.Timestamp(variables["earliest_valid_date"]))
        & (order_date < as_of)
        & ~code.isin(non_product).fillna(False).astype(bool)
        & (price > 0)
        & (quantity != 0)
        & ~lines.duplicated(keep="first")
    )
    kept = kept.fillna(False).astype(bool)
    revenue = (quantity * price.round(4)).round(4)
    return pd.DataFrame(
        {
            "customer_id": customer[kept].astype(str),
            "order_id": order[kept].astype(str),
            "order_date": order_date[kept],
            "revenue": revenue[kept],
        }
    ).reset_index(drop=True)


def customer_features(kept: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """RFM (lifetimes) and the feature columns at one cutoff, one row per customer."""
    from lifetimes.utils import summary_data_from_transaction_data

    kept = kept[kept["order_date"] < cutoff]
    is_return = kept["revenue"] < 0
    purchases = kept[~is_return]
    days = kept.groupby(["customer_id", "order_date"], sort=False).agg(
        net_revenue=("revenue", "sum")
    )
    days["gross_revenue"] = purchases.groupby(["customer_id", "order_date"])["revenue"].sum()
    days["orders"] = purchases.groupby(["customer_id", "order_date"])["order_id"].nunique()
    days["purchase_lines"] = purchases.groupby(["customer_id", "order_date"]).size()
    days["return_lines"] = kept[is_return].groupby(["customer_id", "order_date"]).size()
    days = days.fillna(0).reset_index()
    days["is_purchase_day"] = days["net_revenue"] > 0
    days["purchase_revenue"] = days["net_revenue"].where(days["is_purchase_day"], 0.0)
    recent = (cutoff - days["order_date"]).dt.days <= 90

    by_customer = days.groupby("customer_id")
    features = pd.DataFrame(
        {
            "purchase_days": by_customer["is_purchase_day"].sum(),
            "orders": by_customer["orders"].sum(),
            "purchase_lines": by_customer["purchase_lines"].sum(),
            "return_lines": by_customer["return_lines"].sum(),
            "revenue": by_customer["purchase_revenue"].sum(),
            "gross_revenue": by_customer["gross_revenue"].sum(),
            "returned_revenue": -(
                by_customer["net_revenue"].sum() - by_customer["gross_revenue"].sum()
            ),
            "net_revenue": by_customer["net_revenue"].sum(),
            "revenue_last_90d": days["purchase_revenue"]
            .where(recent, 0.0)
            .groupby(days["customer_id"])
            .sum(),
            "orders_last_90d": days["orders"].where(recent, 0).groupby(days["customer_id"]).sum(),
            "purchase_days_last_90d": (days["is_purchase_day"] & recent)
            .groupby(days["customer_id"])
            .sum(),
        }
    )
    purchase_days = days[days["is_purchase_day"]]
    rfm = summary_data_from_transaction_data(
        purchase_days,
        "customer_id",
        "order_date",
        monetary_value_col="net_revenue",
        observation_period_end=cutoff - pd.Timedelta(days=1),
    )
    # the warehouse keeps customers with at least one purchase day before the cutoff
    result = rfm.join(features, how="left")
    result.index.name = "customer_id"
    return result.reset_index()


def run(
    input_glob: str,
    as_of: str,
    out_dir: Path,
    threads: int = 2,
    cutoffs: Sequence[str] = (),
) -> dict:
    """Read, clean, then RFM and features at each cutoff (the scoring cutoff ``as_of`` when
    none are given; the benchmark passes the warehouse's cutoff grid, as stage 3 computes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scoring = pd.Timestamp(as_of)
    dates = sorted({pd.Timestamp(c) for c in cutoffs} | {scoring})
    phases: dict[str, float] = {}
    started = time.perf_counter()
    with duckdb.connect() as con:
        con.execute(f"set threads = {int(threads)}")
        lines = con.read_parquet(input_glob).df()
    phases["read_parquet"] = time.perf_counter() - started
    raw_rows = len(lines)

    mark = time.perf_counter()
    kept = clean_lines(lines, scoring)
    del lines
    phases["clean"] = time.perf_counter() - mark

    frames = []
    phases["rfm_and_features"] = 0.0
    for cutoff in dates:
        mark = time.perf_counter()
        features = customer_features(kept, cutoff)
        seconds = time.perf_counter() - mark
        phases["rfm_and_features"] += seconds
        if cutoff == scoring:
            phases["rfm_and_features_scoring_cutoff"] = seconds
        frames.append(features.assign(cutoff_date=cutoff.date()))
    result = pd.concat(frames, ignore_index=True)

    mark = time.perf_counter()
    with duckdb.connect() as con:
        con.register("result", result)
        target = sql_literal(out_dir / "pandas_features.parquet")
        con.execute(f"copy result to {target} (format parquet)")
    phases["write"] = time.perf_counter() - mark
    summary = {
        "raw_rows": raw_rows,
        "kept_rows": len(kept),
        "customers": int((result["cutoff_date"] == scoring.date()).sum()),
        "cutoff": as_of,
        "cutoffs": len(dates),
        "phase_seconds": {key: round(value, 3) for key, value in phases.items()},
        "seconds": round(time.perf_counter() - started, 3),
    }
    (out_dir / "pandas_route.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="Parquet file or glob (online retail)")
    parser.add_argument("--as-of", required=True, help="scoring cutoff YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads for the read")
    parser.add_argument(
        "--cutoffs",
        default="",
        help="comma-separated YYYY-MM-DD cutoffs to compute features at, besides --as-of",
    )
    args = parser.parse_args(argv)
    cutoffs = [c for c in args.cutoffs.split(",") if c]
    summary = run(args.input, args.as_of, args.out, args.threads, cutoffs)
    print(json.dumps(summary))
    return 0 if math.isfinite(summary["seconds"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
