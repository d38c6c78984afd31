"""Comparing a schema's tables between the DuckDB and the Spark build of one input.

Frames reach pandas the same way on both engines: DuckDB's ``.df()``, on Spark through the
Python stage's Parquet hand-over (clv_warehouse/spark/runner.py), so dtypes agree.

compare_tables(expected, actual): None when they agree, else a short description:
- the same columns (the volatile ones left out: run ids and times, wall times);
- the same row count;
- every non-float column equal, exactly, after sorting both by those columns (the keys:
  ids, dates, counts, decimals, flags, texts); JSON texts compared as parsed values (the
  engines space and format them differently, and Spark leaves out null members), their
  numbers within the tolerance;
- every float column within RELATIVE_TOLERANCE (ABSOLUTE_TOLERANCE near zero).
Source files are compared by name: Spark gives every path absolute.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from warehouse_builds import VOLATILE_COLUMNS as BUILD_VOLATILE_COLUMNS

RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-9

# Differ between two builds on one engine by design (tests/warehouse_builds.py), or name the
# engine's own objects: when the build ran, and the model release that scored the rows (a
# digest of the XGBoost boosters among others, so it differs with them, below).
VOLATILE_COLUMNS = {*BUILD_VOLATILE_COLUMNS, "built_at", "invocation_id", "release_id"}


def duckdb_tables(warehouse: Path, schema: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?"
                " order by 1",
                [schema],
            ).fetchall()
        ]
        tables = {}
        for name in names:
            relation = con.sql(f'select * from "{schema}"."{name}"')
            frame = relation.df()
            # decimals become floats in pandas: compare them exactly, as keys
            frame.attrs["exact_columns"] = [
                column
                for column, kind in zip(relation.columns, relation.types, strict=True)
                if str(kind).startswith("DECIMAL")
            ]
            tables[name] = frame
        return tables


def spark_tables(schema: str) -> dict[str, pd.DataFrame]:
    """Every table and view of ``schema`` in the running Spark session."""
    from pyspark.sql import SparkSession

    from clv_warehouse.spark.runner import SparkTableStore

    spark = SparkSession.builder.getOrCreate()
    store = SparkTableStore(spark)
    try:
        # (SHOW TABLES lists the session's temporary views too, such as dbt's __dbt_tmp ones)
        names = sorted(
            row.tableName
            for row in spark.sql(f"show tables in {schema}").collect()
            if not row.isTemporary
        )
        return {name: store.read(f"{schema}.{name}", None, None) for name in names}
    finally:
        store.close()


def _is_json(values: pd.Series) -> bool:
    texts = values.dropna()
    return (
        len(texts) > 0
        and texts.map(lambda text: isinstance(text, str) and text.startswith(("{", "["))).all()
    )


def _same_json(left, right) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        # Spark's to_json leaves out a null member that DuckDB's json_object writes as null
        keys = left.keys() | right.keys()
        return all(_same_json(left.get(k), right.get(k)) for k in keys)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same_json, left, right))
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return math.isclose(left, right, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    return left == right


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS])
    if "source_file" in frame.columns:
        names = frame["source_file"].map(lambda p: Path(p).name if isinstance(p, str) else p)
        frame = frame.assign(source_file=names)
    return frame


# XGBoost does not train bit for bit the same boosters on both engines: its features come
# from SQL aggregates whose last bits differ (Spark and DuckDB add doubles in other orders),
# and a split moved by 1e-15 moves a prediction. So XGBoost's own tables are compared by row
# count, and in tables with a model_name column its rows by count; every other row exactly.
XGBOOST_TABLES = {"feature_importance", "customer_prediction_drivers", "feature_drift"}
XGBOOST_MODEL = "xgboost"


def compare_mart(table: str, expected: pd.DataFrame, actual: pd.DataFrame) -> str | None:
    """compare_tables, with XGBoost's rows compared by count (XGBOOST_TABLES)."""
    if table in XGBOOST_TABLES:
        if sorted(expected.columns) != sorted(actual.columns):
            return f"columns differ: {sorted(set(expected.columns) ^ set(actual.columns))}"
        if len(expected) != len(actual):
            return f"{len(actual)} rows on Spark, {len(expected)} on DuckDB"
        return None
    if "model_name" in expected.columns and "model_name" in actual.columns:
        boosted = expected["model_name"] == XGBOOST_MODEL
        boosted_actual = actual["model_name"] == XGBOOST_MODEL
        if int(boosted.sum()) != int(boosted_actual.sum()):
            return (
                f"{int(boosted_actual.sum())} xgboost rows on Spark, {int(boosted.sum())} on DuckDB"
            )
        others = expected[~boosted].reset_index(drop=True)
        others.attrs = expected.attrs
        return compare_tables(others, actual[~boosted_actual].reset_index(drop=True))
    return compare_tables(expected, actual)


def compare_tables(expected: pd.DataFrame, actual: pd.DataFrame) -> str | None:
    exact = set(expected.attrs.get("exact_columns", []))
    expected, actual = _normalized(expected), _normalized(actual)
    if sorted(expected.columns) != sorted(actual.columns):
        return f"columns differ: {sorted(set(expected.columns) ^ set(actual.columns))}"
    actual = actual[list(expected.columns)]
    if len(expected) != len(actual):
        return f"{len(actual)} rows on Spark, {len(expected)} on DuckDB"
    floats = [
        c for c in expected.columns if pd.api.types.is_float_dtype(expected[c]) and c not in exact
    ]
    json_columns = [c for c in expected.columns if c not in floats and _is_json(expected[c])]
    keys = [c for c in expected.columns if c not in floats and c not in json_columns]

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        text = frame[keys].astype(str) if keys else frame
        order = text.sort_values(list(text.columns), kind="stable").index if keys else frame.index
        return frame.loc[order].reset_index(drop=True)

    expected, actual = ordered(expected), ordered(actual)
    for column in keys:
        left, right = expected[column], actual[column]
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
            same = (left.isna() & right.isna()) | (left == right)
        else:
            same = (left.isna() & right.isna()) | (left.astype(str) == right.astype(str))
        if not same.all():
            row = int(np.flatnonzero(~same.to_numpy())[0])
            return f"{column} differs, e.g. row {row}: {left.iloc[row]!r} vs {right.iloc[row]!r}"
    for column in json_columns:
        for left, right in zip(expected[column], actual[column], strict=True):
            if (left is None or right is None or pd.isna(left) or pd.isna(right)) and not (
                pd.isna(left) and pd.isna(right)
            ):
                return f"{column}: {left!r} vs {right!r}"
            if isinstance(left, str) and not _same_json(json.loads(left), json.loads(right)):
                return f"{column} differs: {left[:120]!r} vs {right[:120]!r}"
    for column in floats:
        left = expected[column].to_numpy(dtype=float)
        right = pd.to_numeric(actual[column]).to_numpy(dtype=float)
        close = np.isclose(
            left, right, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE, equal_nan=True
        )
        if not close.all():
            row = int(np.flatnonzero(~close)[0])
            return (
                f"{column} differs beyond {RELATIVE_TOLERANCE:g}, e.g. {left[row]!r} vs"
                f" {right[row]!r} ({int((~close).sum())} rows)"
            )
    return None
