"""bench/evaluate.py (make evaluate) and tests/complete_journey.py, without a build: the
converter on a small Parquet file shaped like the package's, the build command, the defensive
read of backtest_metrics and the seasonal fallback."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys

import duckdb
import pytest
from complete_journey import GENERIC_COLUMNS, write_generic_file

from clv_warehouse.project import PROJECT_DIR

_spec = importlib.util.spec_from_file_location(
    "bench_evaluate", PROJECT_DIR / "bench" / "evaluate.py"
)
evaluate = importlib.util.module_from_spec(_spec)
sys.modules["bench_evaluate"] = evaluate  # dataclasses look their module up there
_spec.loader.exec_module(evaluate)


@pytest.fixture
def source(tmp_path):
    """Six lines of three households, with the package file's columns and types."""
    path = tmp_path / "transactions.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (select * from (values
                (3, 10, 31, 5, 1, 2.5, 0.0, 0.0, 0.0, 1, timestamp '2017-01-02 20:00:00'),
                (1, 10, 11, 5, 2, 4.0, 0.5, 0.0, 0.0, 1, timestamp '2017-01-01 21:00:00'),
                (1, 10, 11, 6, 0, 0.0, 0.0, 0.0, 0.0, 1, timestamp '2017-01-01 21:00:00'),
                (2, 12, 21, 7, 1, 1.25, 0.0, 0.0, 0.0, 2, timestamp '2017-01-09 10:00:00'),
                (2, 12, 22, 7, 1, 1.25, 0.0, 0.0, 0.0, 53, timestamp '2018-01-01 03:00:00'),
                (1, 10, 12, 5, 1, 2.0, 0.0, 0.0, 0.0, 3, timestamp '2017-01-15 22:00:00')
            ) as t(household_id, store_id, basket_id, product_id, quantity, sales_value,
                   retail_disc, coupon_disc, coupon_match_disc, week, transaction_timestamp))
            to '{path}' (format parquet)
            """
        )
    return path


def test_the_converter_keeps_the_mapped_columns_in_time_order(source, tmp_path):
    converted = write_generic_file(tmp_path / "out" / "cj.parquet", source=source)
    assert (converted.lines, converted.households, converted.baskets) == (6, 3, 5)
    assert (converted.zero_value_lines, converted.zero_quantity_lines) == (1, 1)
    assert converted.revenue == pytest.approx(11.0)
    assert (converted.first_at, converted.last_at) == ("2017-01-01 21:00:00", "2018-01-01 03:00:00")
    with duckdb.connect() as con:
        relation = con.sql(f"select * from '{converted.path}'")
        columns = set(relation.columns)
        order = [row[0] for row in relation.select("basket_id").fetchall()]
    assert columns == {name for name in GENERIC_COLUMNS.values() if name}
    assert order == [11, 11, 31, 21, 12, 22]


def test_the_sample_takes_the_lowest_household_ids(source, tmp_path):
    converted = write_generic_file(tmp_path / "cj.parquet", households=2, source=source)
    assert (converted.lines, converted.households) == (5, 2)
    with pytest.raises(ValueError, match="households 0"):
        write_generic_file(tmp_path / "x.parquet", households=0, source=source)


def test_the_generic_mapping_names_every_canonical_column():
    defaults = (PROJECT_DIR / "macros" / "inputs" / "generic_columns.sql").read_text()
    assert all(f"'{canonical}'" in defaults for canonical in GENERIC_COLUMNS)
    assert GENERIC_COLUMNS["amount"] == "sales_value"


def test_the_build_command_passes_the_mapping_only_for_the_generic_layout(tmp_path):
    cdnow = evaluate.build_command(evaluate.DatasetInput("cdnow", None, None), tmp_path / "w")
    assert "--vars" not in cdnow
    assert "--as-of" not in cdnow
    generic = evaluate.build_command(
        evaluate.DatasetInput("generic", "in.parquet", "2018-01-01", GENERIC_COLUMNS),
        tmp_path / "w",
    )
    assert generic[generic.index("--as-of") + 1] == "2018-01-01"
    assert json.loads(generic[generic.index("--vars") + 1]) == {"generic_columns": GENERIC_COLUMNS}


def test_metrics_are_read_by_name_and_missing_columns_print_as_na(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.backtest_metrics as select * from (values"
            " ('xgboost', 1.02, 1.1, 0.8, 'nan'::double), ('naive', 0.9, 1.4, 0.7, 0.5))"
            " as t(model_name, revenue_ratio, rmsle, normalized_gini, auc)"
        )
    rows, missing = evaluate.read_metrics(warehouse)
    assert [row["model_name"] for row in rows] == ["naive", "xgboost"]
    assert rows[1]["auc"] is None
    assert {"interval_coverage_80", "normalized_gini_low", "is_reference"} <= set(missing)
    result = {
        "dataset": "d",
        "commit": "c",
        "finished_at": "t",
        "notes": [],
        "facts": {},
        "metrics": rows,
        "missing_columns": missing,
        "model_runs": [],
    }
    markdown = evaluate.format_markdown(result)
    assert "| xgboost | 1.020 | 1.100 | 0.800 | n/a | n/a | n/a | n/a | n/a |" in markdown
    rows[1].update(normalized_gini_low=0.78, normalized_gini_high=0.82)
    assert "0.800 [0.780, 0.820]" in evaluate.format_markdown(result)


def test_the_seasonal_set_says_when_the_generator_cannot_make_a_peak(monkeypatch):
    import clv_warehouse.synthetic as synthetic

    @dataclasses.dataclass(frozen=True)
    class Flat:
        bad_share: float = 0.003

    @dataclasses.dataclass(frozen=True)
    class Seasonal(Flat):
        seasonality: float = 0.0
        growth: float = 0.0

    monkeypatch.setattr(synthetic, "Parameters", Flat)
    parameters, notes = evaluate.seasonal_parameters()
    assert parameters == Flat()
    assert "WARNING" in notes[0]
    assert "seasonality, growth" in notes[0]
    monkeypatch.setattr(synthetic, "Parameters", Seasonal)
    parameters, notes = evaluate.seasonal_parameters()
    assert (parameters.seasonality, parameters.growth) == (0.5, 0.1)
    assert "WARNING" not in notes[0]
