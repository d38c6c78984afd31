"""``clv bench``: generate once, then measure every step on the same input.

Steps, each a child process measured by ``measure.run_measured`` (wall time, own peak RSS):

  generate      clv generate (skipped when work/<layout>_<size>/data matches: reused)
  scan_floor    one DuckDB aggregate scan of the Parquet, the build's threads and memory
  dbt_parse     dbt parse: writes the manifest the stages are derived from
  full_build    dbt build in six stages (``stages.STAGES``), one invocation each
  pandas_route  the same RFM and features in pandas (``pandas_route``), up to a size limit
  append_day    clv generate --append-day: one more day in its own file
  incremental   dbt build again, same six stages, on the glob that now holds the new day

Results: <results>/<layout>_<size>.json (every number) and .md (tables); rewritten after each
step, so an interrupted run leaves what it measured.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from clv_warehouse.bench.measure import Measured, Say, machine_facts, run_measured
from clv_warehouse.bench.pandas_route import FEATURE_COLUMNS, RFM_COLUMNS
from clv_warehouse.bench.stages import (
    BUILD_RESOURCE_TYPES,
    STAGE_NUMBERS,
    STAGES,
    StageError,
    StagePlan,
    plan_stages,
)
from clv_warehouse.project import PROJECT_DIR, BuildSettings, dbt_executable
from clv_warehouse.release_store import keep_release, score_build_arguments, score_environment
from clv_warehouse.sql_text import sql_literal
from clv_warehouse.synthetic import MANIFEST_NAME, Manifest, parse_line_count

BASE_MANIFEST_NAME = "manifest.base.json"  # the manifest of the first load, before any append
# --quick (tests only): fewer XGBoost candidates and rounds, a smaller SHAP sample.
QUICK_VARS = {"xgboost_search_candidates": 1, "xgboost_max_rounds": 20, "shap_sample_rows": 200}


def format_size(lines: int) -> str:
    """20_000 -> '20k', 10_000_000 -> '10m', 1_500_000 -> '1.5m', 1234 -> '1234'."""
    for unit, size in (("b", 10**9), ("m", 10**6), ("k", 10**3)):
        if lines >= size and (lines * 10) % size == 0:
            return f"{lines / size:g}{unit}"
    return str(lines)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 4)


@dataclass
class Options:
    lines: int
    layout: str = "online_retail"
    seed: int = 42
    work_dir: Path = PROJECT_DIR / "bench" / "work"
    results_dir: Path = PROJECT_DIR / "bench" / "results"
    threads: int = 2
    memory_limit: str = "12GB"
    pandas_max_lines: int = 30_000_000
    incremental: bool = True
    # after the score build, append a second day and retrain (False: the daily job only)
    retrain: bool = True
    # one dbt build invocation per build (what a user runs), or one per stage (peak RSS each)
    staged: bool = False
    quick: bool = False
    heartbeat_seconds: float = 30.0
    dbt_vars: dict = field(default_factory=dict)

    @property
    def size(self) -> str:
        return format_size(self.lines)

    @property
    def run_dir(self) -> Path:
        return self.work_dir / f"{self.layout}_{self.size}"

    @property
    def results_stem(self) -> Path:
        suffix = "_quick" if self.quick else ""
        return self.results_dir / f"{self.layout}_{self.size}{suffix}"

    def variables(self) -> dict:
        return {**(QUICK_VARS if self.quick else {}), **self.dbt_vars}


def _python() -> str:
    return sys.executable


# --- the input --------------------------------------------------------------------------


def reusable_manifest(data_dir: Path, layout: str, lines: int, seed: int) -> Manifest | None:
    """The first-load manifest of data_dir when it holds this layout, size and seed."""
    path = data_dir / BASE_MANIFEST_NAME
    if not path.exists():
        return None
    manifest = Manifest(**json.loads(path.read_text()))
    if (manifest.layout, manifest.lines_requested, manifest.seed) != (layout, lines, seed):
        return None
    if manifest.lines != lines or manifest.appended_days:
        return None
    if not all((data_dir / entry["file"]).exists() for entry in manifest.files):
        return None
    return manifest


def reset_to_first_load(data_dir: Path, manifest: Manifest) -> None:
    """Remove appended days so the build reads the first load only (appends are redone)."""
    first_load = {entry["file"] for entry in manifest.files}
    for path in data_dir.glob("lines-*.parquet"):
        if path.name not in first_load:
            path.unlink()
    manifest.write(data_dir)


# --- dbt ----------------------------------------------------------------------------------


@dataclass
class DbtRunner:
    options: Options
    settings: BuildSettings
    say: Say

    def environment(self) -> dict[str, str]:
        run_dir = self.options.run_dir
        env = self.settings.environment()
        env.update(
            {
                "DBT_TARGET_PATH": str(run_dir / "target"),
                "DBT_LOG_PATH": str(run_dir / "logs" / "dbt"),
                "CLV_DUCKDB_TEMP_DIR": str(run_dir / "duckdb_tmp"),
                "CLV_DUCKDB_MEMORY": self.options.memory_limit,
                "CLV_DUCKDB_THREADS": str(self.options.threads),
                "CLV_DBT_THREADS": env.get("CLV_DBT_THREADS", "2"),
            }
        )
        return env

    def command(self, *arguments: str) -> list[str]:
        command = [dbt_executable(), *arguments]
        command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        if self.options.variables():
            command += ["--vars", json.dumps(self.options.variables())]
        return command

    def run(
        self, label: str, log_name: str, *arguments: str, env: dict[str, str] | None = None
    ) -> Measured:
        # a stale run_results.json must never be read as this invocation's
        (self.options.run_dir / "target" / "run_results.json").unlink(missing_ok=True)
        return run_measured(
            self.command(*arguments),
            log_path=self.options.run_dir / "logs" / log_name,
            label=label,
            env={**self.environment(), **(env or {})},
            cwd=PROJECT_DIR,
            say=self.say,
            heartbeat_seconds=self.options.heartbeat_seconds,
        )

    def run_results(self) -> dict:
        return json.loads((self.options.run_dir / "target" / "run_results.json").read_text())


def _node_window(result: dict) -> tuple[float, float] | None:
    """When a run_results entry's node started and ended (seconds since the epoch)."""
    stamps = [
        (datetime.fromisoformat(t["started_at"]), datetime.fromisoformat(t["completed_at"]))
        for t in result.get("timing", [])
        if t.get("started_at") and t.get("completed_at")
    ]
    if not stamps:
        return None
    return min(s for s, _ in stamps).timestamp(), max(c for _, c in stamps).timestamp()


def stage_split(
    results: Sequence[dict],
    plan: StagePlan,
    started_epoch: float,
    rss_samples: Sequence[tuple[float, int]],
) -> list[dict]:
    """Split one `dbt build` invocation into the benchmark's stages.

    A stage's ``seconds`` is the wall time from the end of the previous stage's last node to
    the end of its own last node (stage 1 from the child's start, so it carries dbt's start-up):
    the stages partition the wall time up to the last node, and stages 1-3 sum to "features
    ready". With two dbt threads a stage's first nodes may run before the previous stage ends;
    ``node_seconds`` (the sum of its nodes' execution times) shows that work. Its peak RSS is
    the highest sample of the process while it was the open stage.
    """
    stage_of = {unique_id: node.stage for unique_id, node in plan.nodes.items()}
    ends: dict[int, float] = {}
    work: dict[int, list[tuple[str, float]]] = {number: [] for number in STAGE_NUMBERS}
    ran: dict[int, dict[str, int]] = {number: {} for number in STAGE_NUMBERS}
    for result in results:
        stage = stage_of.get(result["unique_id"])
        if stage is None:
            continue
        kind = plan.nodes[result["unique_id"]].resource_type
        ran[stage][kind] = ran[stage].get(kind, 0) + 1
        work[stage].append((result["unique_id"].split(".", 1)[-1], result["execution_time"]))
        window = _node_window(result)
        if window is not None:
            ends[stage] = max(ends.get(stage, 0.0), window[1] - started_epoch)
    stages, opened = [], 0.0
    for stage in STAGES:
        closed = max(opened, ends.get(stage.number, opened))
        inside = [rss for t, rss in rss_samples if opened < t <= closed or (t == 0 == opened)]
        nearest = [rss for t, rss in rss_samples if t <= closed][-1:] or [0]
        stages.append(
            {
                "stage": stage.number,
                "name": stage.name,
                "models": stage.description,
                # the nodes this invocation ran (a score build runs a selection)
                "nodes": ran[stage.number],
                "seconds": round(closed - opened, 3),
                "node_seconds": round(sum(seconds for _, seconds in work[stage.number]), 3),
                "peak_rss_bytes": max(inside or nearest),
                "slowest_nodes": [
                    [name, round(seconds, 2)]
                    for name, seconds in sorted(work[stage.number], key=lambda w: -w[1])[:5]
                ],
                "status": "ok",
            }
        )
        opened = closed
    return stages


def _judge(
    runner: DbtRunner,
    label: str,
    entry: dict,
    measured: Measured,
    results: dict,
    expected: set[str] | None,
) -> None:
    """Keep the invocation's run results beside its log, and set the entry's status: failed
    when dbt failed or ran other nodes than ``expected`` (hooks and exposures aside; None:
    a selection, judged by its failures alone)."""
    if results["results"]:
        shutil.copy2(
            runner.options.run_dir / "target" / "run_results.json",
            Path(measured.log).with_suffix(".run_results.json"),
        )
    if results.get("elapsed_time") is not None:
        entry["dbt_elapsed_seconds"] = results["elapsed_time"]
        entry["dbt_overhead_seconds"] = round(measured.seconds - results["elapsed_time"], 3)
    ran = {
        r["unique_id"]
        for r in results["results"]
        if r["unique_id"].split(".")[0] in BUILD_RESOURCE_TYPES
    }
    failures = [r["unique_id"] for r in results["results"] if r["status"] in ("error", "fail")]
    if not measured.succeeded:
        entry["status"] = "failed"
        entry["error"] = f"dbt exit code {measured.returncode}; failed: {failures[:5]}"
    elif expected is not None and ran != expected:
        entry["status"] = "failed"
        entry["error"] = (
            f"dbt ran {len(ran)} nodes, the plan has {len(expected)}: missing"
            f" {sorted(expected - ran)[:5]}, extra {sorted(ran - expected)[:5]}"
        )
    else:
        entry["status"] = "ok"
    runner.say(
        f"  {label}: {entry['status']} in {measured.seconds:,.1f} s,"
        f" peak RSS {measured.peak_rss_bytes / 2**30:.2f} GiB"
        + (f" -- {entry['error']} (log {measured.log})" if entry["status"] != "ok" else "")
    )


def _run_results(runner: DbtRunner) -> dict:
    try:
        return runner.run_results()
    except (OSError, ValueError):
        return {"results": [], "elapsed_time": None}


BUILD_TITLES = {"full": "full build", "incremental": "incremental build", "score": "score build"}


def build_once(
    runner: DbtRunner,
    plan: StagePlan,
    phase: str,
    record: dict,
    save,
    arguments: Sequence[str] = ("build",),
    env: dict[str, str] | None = None,
) -> bool:
    """dbt build as one invocation, what a user runs; the stage split from its run results.
    A score build (``arguments`` a selection) is judged by its failures, not the node set."""
    title = BUILD_TITLES[phase]
    runner.say(f"  {title}: dbt {' '.join(arguments[:1])} (one invocation) ...")
    measured = runner.run(title, f"{phase}_build.log", *arguments, env=env)
    record.update(measured.as_dict())
    record["invocation"] = "single"
    results = _run_results(runner)
    record["stages"] = stage_split(
        results["results"], plan, measured.started_epoch, measured.rss_samples
    )
    record["nodes_run"] = len(results["results"])
    expected = set(plan.nodes) if list(arguments) == ["build"] else None
    _judge(runner, title, record, measured, results, expected)
    save()
    return record["status"] == "ok"


def build_in_stages(runner: DbtRunner, plan: StagePlan, phase: str, record: dict, save) -> bool:
    """dbt build, one invocation per stage; False after the first failing stage."""
    record["stages"] = []
    for stage in STAGES:
        label = f"{phase} stage {stage.number} {stage.name}"
        counts = plan.counts(stage.number)
        runner.say(f"  {label}: {sum(counts.values())} nodes {counts} ...")
        measured = runner.run(
            label,
            f"{phase}_{stage.number}_{stage.name}.log",
            "build",
            "--select",
            *plan.selectors(stage.number),
            "--indirect-selection",
            "empty",
        )
        entry = {
            "stage": stage.number,
            "name": stage.name,
            "models": stage.description,
            "nodes": counts,
            **measured.as_dict(),
        }
        record["stages"].append(entry)
        results = _run_results(runner)
        entry["slowest_nodes"] = [
            [result["unique_id"].split(".", 2)[-1], round(result["execution_time"], 2)]
            for result in sorted(results["results"], key=lambda r: -r["execution_time"])[:5]
        ]
        _judge(runner, label, entry, measured, results, plan.unique_ids(stage.number))
        save()
        if entry["status"] != "ok":
            record["status"] = "failed"
            return False
    record["status"] = "ok"
    record["seconds"] = round(sum(stage["seconds"] for stage in record["stages"]), 3)
    record["peak_rss_bytes"] = max(stage["peak_rss_bytes"] for stage in record["stages"])
    record["peak_rss_gib"] = round(record["peak_rss_bytes"] / 2**30, 3)
    overheads = [s.get("dbt_overhead_seconds") or 0 for s in record["stages"]]
    record["dbt_overhead_seconds"] = round(sum(overheads), 3)
    return True


def reconciliation(warehouse: Path) -> dict:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            "select raw_rows, kept_rows, rejected_rows, raw_revenue, kept_revenue,"
            " rejected_revenue, is_reconciled from marts.ingestion_reconciliation"
        ).fetchone()
    raw, kept, rejected, raw_revenue, kept_revenue, rejected_revenue, flag = row
    return {
        "raw_rows": raw,
        "kept_rows": kept,
        "rejected_rows": rejected,
        "raw_revenue": float(raw_revenue),
        "kept_revenue": float(kept_revenue),
        "rejected_revenue": float(rejected_revenue),
        "is_reconciled": bool(flag)
        and raw == kept + rejected
        and raw_revenue == kept_revenue + rejected_revenue,
    }


# --- the scan floor and the pandas comparison ---------------------------------------------

SCAN_QUERIES = {
    "online_retail": (
        "select count(*) as lines, sum(Quantity * UnitPrice) as revenue,"
        " count(distinct CustomerID) as customers from read_parquet({glob})"
    ),
    "generic": (
        "select count(*) as lines, sum(try_cast(qty as double) * unit_price) as revenue,"
        " count(distinct client) as customers from read_parquet({glob})"
    ),
}


def scan_floor_command(options: Options, glob: str) -> list[str]:
    temp_dir = sql_literal(options.run_dir / "duckdb_tmp")
    scan_query = SCAN_QUERIES[options.layout].format(glob=sql_literal(glob))
    script = (
        "import duckdb, json, sys\n"
        "con = duckdb.connect()\n"
        f'con.execute("set threads = {options.threads}")\n'
        f"con.execute({'set memory_limit = ' + sql_literal(options.memory_limit)!r})\n"
        f"con.execute({'set temp_directory = ' + temp_dir!r})\n"
        f"row = con.execute({scan_query!r}).fetchone()\n"
        "print(json.dumps({'lines': row[0], 'revenue': float(row[1] or 0), 'customers': row[2]}))\n"
    )
    return [_python(), "-c", script]


def compare_with_warehouse(warehouse: Path, pandas_parquet: Path) -> dict:
    """Max abs difference of each RFM and feature column, pandas vs the marts, all customers."""
    columns = [*RFM_COLUMNS, *FEATURE_COLUMNS]
    differences = ", ".join(
        f'max(abs(pandas."{c}" - {"rfm" if c in RFM_COLUMNS else "features"}."{c}"))'
        for c in columns
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(
            f"""
            with
            pandas as (
                select * exclude (cutoff_date) from read_parquet({sql_literal(pandas_parquet)})
                where cutoff_date = (select cutoff_date from marts.cutoffs
                                     where cutoff_role = 'scoring')
            ),
            rfm as (select * from marts.customer_rfm where cutoff_role = 'scoring'),
            features as (select * from marts.customer_features)
            select
                (select count(*) from pandas),
                (select count(*) from rfm),
                (select count(*) from pandas full join rfm using (customer_id)
                 where pandas.customer_id is null or rfm.customer_id is null),
                {differences}
            from pandas
            inner join rfm using (customer_id)
            inner join features using (customer_id)
            """
        ).fetchone()
    pandas_customers, sql_customers, unmatched, *maxima = row
    max_abs = {column: float(value or 0) for column, value in zip(columns, maxima, strict=True)}
    worst = max(max_abs.values(), default=0.0)
    return {
        "customers_pandas": pandas_customers,
        "customers_sql": sql_customers,
        "customers_in_one_only": unmatched,
        "max_abs_difference": max_abs,
        "agrees": unmatched == 0 and worst <= 1e-6,
        "tolerance": 1e-6,
    }


# --- results ------------------------------------------------------------------------------


def _invocations(record: dict) -> str:
    if record.get("invocation") == "single":
        return "one dbt build invocation, start-up included"
    return "one dbt invocation per stage, start-up counted in each"


def compute_ratios(steps: dict) -> dict:
    """The headline ratios, each with what is divided by what."""
    full = steps.get("full_build", {})
    incremental = steps.get("incremental_build", {})
    stage_seconds = {s["stage"]: s["seconds"] for s in full.get("stages", [])}
    stage_peak = {s["stage"]: s["peak_rss_bytes"] for s in full.get("stages", [])}
    to_features = (
        sum(stage_seconds[n] for n in (1, 2, 3))
        if all(n in stage_seconds for n in (1, 2, 3))
        else None
    )
    features_peak = (
        max(stage_peak[n] for n in (1, 2, 3)) if all(n in stage_peak for n in (1, 2, 3)) else None
    )
    pandas = steps.get("pandas_route", {})
    pandas_seconds = pandas.get("seconds") if pandas.get("status") == "ok" else None
    pandas_peak = pandas.get("peak_rss_bytes") if pandas.get("status") == "ok" else None
    pandas_summary = pandas.get("summary", {})
    pandas_cutoffs = pandas_summary.get("cutoffs", 1)
    phases = pandas_summary.get("phase_seconds", {})
    # the same run with features at the scoring cutoff only: what earlier benchmarks compared
    pandas_one_cutoff = (
        pandas_seconds - phases["rfm_and_features"] + phases["rfm_and_features_scoring_cutoff"]
        if pandas_seconds is not None and "rfm_and_features_scoring_cutoff" in phases
        else None
    )
    scan = steps.get("scan_floor", {})
    scan_seconds = scan.get("seconds") if scan.get("status") == "ok" else None
    full_seconds = full.get("seconds") if full.get("status") == "ok" else None
    incremental_seconds = incremental.get("seconds") if incremental.get("status") == "ok" else None
    score = steps.get("score_build", {})
    score_seconds = score.get("seconds") if score.get("status") == "ok" else None
    ratios = {
        "pandas_over_sql_features_time": {
            "value": ratio(pandas_seconds, to_features),
            "numerator": "pandas route wall time (read Parquet, clean, RFM + 11 features at"
            f" {pandas_cutoffs} cutoff{'s' if pandas_cutoffs != 1 else ''}, the grid of stage 3)",
            "denominator": "dbt stages 1+2+3 wall time (staging/audit + daily aggregate +"
            " features at every cutoff, with their tests)",
        },
        "pandas_one_cutoff_over_sql_features_time": {
            "value": ratio(pandas_one_cutoff, to_features),
            "numerator": "pandas route wall time with features at the scoring cutoff only"
            " (the same run, the other cutoffs' feature time taken out): not like for like",
            "denominator": "dbt stages 1+2+3 wall time",
        },
        "pandas_over_sql_features_peak_memory": {
            "value": ratio(pandas_peak, features_peak),
            "numerator": "pandas route peak RSS",
            "denominator": "highest peak RSS of dbt stages 1, 2 and 3",
        },
        "sql_features_over_scan_floor": {
            "value": ratio(to_features, scan_seconds),
            "numerator": "dbt stages 1+2+3 wall time",
            "denominator": "scan floor (one DuckDB aggregate scan of the same Parquet)",
        },
        "feature_stage_over_scan_floor": {
            "value": ratio(stage_seconds.get(3), scan_seconds),
            "numerator": "dbt stage 3 (features) wall time",
            "denominator": "scan floor",
        },
        "full_build_over_scan_floor": {
            "value": ratio(full_seconds, scan_seconds),
            "numerator": f"full build wall time ({_invocations(full)})",
            "denominator": "scan floor",
        },
        "score_over_full_build": {
            "value": ratio(score_seconds, full_seconds),
            "numerator": "`clv score` wall time after appending one day (the daily job: the"
            " release applied at the new scoring cutoff, no search, no fit, no backtest)",
            "denominator": f"full build wall time, a `clv train` ({_invocations(full)});"
            " targets: <= 0.20 at 10M lines, <= 0.10 at 100M",
        },
        "incremental_over_full_build": {
            "value": ratio(incremental_seconds, full_seconds),
            "numerator": "training build wall time after appending one more day, every model"
            f" refitted ({_invocations(incremental)})",
            "denominator": f"full build wall time ({_invocations(full)})",
        },
    }
    for stage in incremental.get("stages", []):
        ratios[f"incremental_over_full_stage_{stage['stage']}"] = {
            "value": ratio(stage["seconds"], stage_seconds.get(stage["stage"])),
            "numerator": f"stage {stage['stage']} ({stage['name']}) wall time after the append",
            "denominator": f"stage {stage['stage']} wall time of the first build",
        }
    return ratios


def _gib(value: int | None) -> str:
    return f"{value / 2**30:.2f}" if value else "-"


def _seconds(value: float | None) -> str:
    return f"{value:,.1f}" if value is not None else "-"


def render_markdown(results: dict) -> str:
    bench, machine, steps = results["benchmark"], results["machine"], results["steps"]
    lines = [
        f"# Benchmark: {bench['layout']} {bench['size']} ({bench['lines']:,} lines)",
        "",
        f"{machine['date']}, commit {str(machine.get('git_commit'))[:10]}"
        f"{' (dirty)' if machine.get('git_dirty') else ''}, status **{results['status']}**."
        f" {machine['cpu_model']}, {machine['cpu_cores']} cores, {machine['memory_gib']} GiB,"
        f" {machine['os']}; Python {machine['python']}, DuckDB {machine['duckdb']},"
        f" dbt-core {machine['dbt_core']}, dbt-duckdb {machine['dbt_duckdb']}, pandas"
        f" {machine['pandas']}. DuckDB threads {bench['threads']}, memory limit"
        f" {bench['memory_limit']}; dbt vars {json.dumps(bench['dbt_vars']) or '{}'}.",
        "",
        "| step | status | wall s | peak RSS GiB | dbt overhead s | notes |",
        "|---|---|---:|---:|---:|---|",
    ]

    def row(name: str, step: dict, notes: str = "") -> None:
        lines.append(
            f"| {name} | {step.get('status', '-')} | {_seconds(step.get('seconds'))} |"
            f" {_gib(step.get('peak_rss_bytes'))} | {_seconds(step.get('dbt_overhead_seconds'))}"
            f" | {notes} |"
        )

    generate = steps.get("generate", {})
    row("generate", generate, "reused from an earlier run" if generate.get("reused") else "")
    scan = steps.get("scan_floor", {})
    row("scan floor", scan, "count, sum(Quantity*UnitPrice), count(distinct CustomerID)")
    row("dbt parse", steps.get("dbt_parse", {}), "parse + startup of one dbt invocation")
    phases = (
        ("full_build", "full build"),
        ("score_build", "score (daily)"),
        ("incremental_build", "incremental train"),
    )
    for phase, title in phases:
        record = steps.get(phase, {})
        for stage in record.get("stages", []):
            work = stage.get("node_seconds")
            row(
                f"{title} {stage['stage']} {stage['name']}",
                stage,
                f"{sum(stage['nodes'].values())} nodes"
                + (f", {work:,.1f} s of node work" if work is not None else ""),
            )
        if record:
            notes = ""
            if "reconciliation" in record:
                rec = record["reconciliation"]
                notes = (
                    f"{rec['raw_rows']:,} raw = {rec['kept_rows']:,} kept +"
                    f" {rec['rejected_rows']:,}"
                    f" rejected: {'reconciled' if rec['is_reconciled'] else 'NOT reconciled'}"
                )
            row(f"**{title} total**", record, notes)
        if phase == "full_build":
            pandas = steps.get("pandas_route", {})
            agreement = pandas.get("agreement", {})
            notes = pandas.get("reason", "")
            if agreement:
                worst = max(agreement["max_abs_difference"].values(), default=0)
                notes = (
                    f"{agreement['customers_pandas']:,} customers; vs marts: max abs diff"
                    f" {worst:.2g}, {agreement['customers_in_one_only']} unmatched"
                )
            row("pandas route", pandas, notes)
        if phase in ("full_build", "score_build"):
            name = "append_day" if phase == "full_build" else "append_second_day"
            append = steps.get(name, {})
            row("append day", append, append.get("file", ""))
    lines += ["", "| ratio | value | = |", "|---|---:|---|"]
    for name, entry in results.get("ratios", {}).items():
        value = "-" if entry["value"] is None else f"{entry['value']:.3g}"
        lines.append(f"| {name} | {value} | {entry['numerator']} / {entry['denominator']} |")
    lines.append("")
    return "\n".join(lines)


class Results:
    def __init__(self, options: Options, say: Say):
        self.options = options
        self.say = say
        self.data = {
            "status": "running",
            "benchmark": {
                "layout": options.layout,
                "lines": options.lines,
                "size": options.size,
                "seed": options.seed,
                "threads": options.threads,
                "memory_limit": options.memory_limit,
                "dbt_threads": int(os.environ.get("CLV_DBT_THREADS", "2")),
                "pandas_max_lines": options.pandas_max_lines,
                "quick": options.quick,
                "dbt_vars": options.variables(),
                "work_dir": str(options.run_dir),
            },
            "machine": machine_facts(PROJECT_DIR),
            "steps": {},
            "ratios": {},
        }

    @property
    def steps(self) -> dict:
        return self.data["steps"]

    def save(self) -> None:
        self.data["ratios"] = compute_ratios(self.steps)
        stem = self.options.results_stem
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(self.data, indent=2) + "\n")
        stem.with_suffix(".md").write_text(render_markdown(self.data))


# --- the run ------------------------------------------------------------------------------


def run_bench(options: Options, say: Say = print) -> dict:
    if options.layout not in SCAN_QUERIES:
        raise ValueError(f"layout {options.layout!r}: the benchmark runs online_retail or generic")
    results = Results(options, say)
    steps = results.steps
    run_dir = options.run_dir
    data_dir = run_dir / "data"
    say(
        f"Benchmark {options.layout} {options.size} ({options.lines:,} lines), work dir {run_dir},"
        f" logs {run_dir / 'logs'}, results {options.results_stem}.json/.md"
    )

    # 1. the input
    manifest = reusable_manifest(data_dir, options.layout, options.lines, options.seed)
    if manifest is not None:
        reset_to_first_load(data_dir, manifest)
        earlier = (
            json.loads((run_dir / "generate.json").read_text())
            if (run_dir / "generate.json").exists()
            else {}
        )
        steps["generate"] = {**earlier, "status": "ok", "reused": True}
        say(f"generate: reusing {data_dir} (manifest matches layout, size and seed)")
    else:
        say(f"generate: {options.lines:,} {options.layout} lines into {data_dir} ...")
        measured = run_measured(
            [
                _python(),
                "-m",
                "clv_warehouse.cli",
                "generate",
                "--lines",
                str(options.lines),
                "--layout",
                options.layout,
                "--out",
                str(data_dir),
                "--seed",
                str(options.seed),
                "--threads",
                str(options.threads),
                "--memory-limit",
                options.memory_limit,
                "--force",
            ],
            log_path=run_dir / "logs" / "generate.log",
            label="generate",
            say=say,
            heartbeat_seconds=options.heartbeat_seconds,
        )
        steps["generate"] = {**measured.as_dict(), "reused": False}
        if not measured.succeeded:
            steps["generate"]["status"] = "failed"
            results.data["status"] = "failed"
            results.save()
            say(f"generate failed: see {measured.log}")
            return results.data
        steps["generate"]["status"] = "ok"
        manifest = Manifest.read(data_dir)
        shutil.copy2(data_dir / MANIFEST_NAME, data_dir / BASE_MANIFEST_NAME)
        (run_dir / "generate.json").write_text(json.dumps(steps["generate"], indent=2) + "\n")
        say(
            f"generate: ok in {measured.seconds:,.1f} s,"
            f" peak RSS {measured.peak_rss_bytes / 2**30:.2f} GiB"
        )
    input_bytes = sum((data_dir / entry["file"]).stat().st_size for entry in manifest.files)
    results.data["input"] = {
        "data_dir": str(data_dir),
        "glob": manifest.input_glob,
        "files": len(manifest.files),
        "parquet_bytes": input_bytes,
        "lines": manifest.lines,
        "customers": manifest.customers,
        "bad_rows": manifest.bad_rows,
        "return_lines": manifest.return_lines,
        "as_of_date": manifest.as_of_date,
    }
    results.save()

    # 2. the scan floor
    say("scan floor: one DuckDB aggregate scan of the Parquet ...")
    measured = run_measured(
        scan_floor_command(options, manifest.input_glob),
        log_path=run_dir / "logs" / "scan_floor.log",
        label="scan floor",
        say=say,
        heartbeat_seconds=options.heartbeat_seconds,
    )
    steps["scan_floor"] = {**measured.as_dict(), "status": "ok" if measured.succeeded else "failed"}
    if measured.succeeded:
        output = Path(measured.log).read_text().strip().splitlines()[-1]
        steps["scan_floor"]["result"] = json.loads(output)
    say(f"scan floor: {steps['scan_floor']['status']} in {measured.seconds:,.2f} s")
    results.save()

    # 3. the full build, in stages
    warehouse = run_dir / "warehouse.duckdb"
    for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    settings = BuildSettings(
        layout=options.layout,
        input_path=Path(manifest.input_glob),
        warehouse_path=warehouse,
        as_of_date=manifest.as_of_date,
    )
    if manifest.generic_columns:
        os.environ["CLV_GENERIC_COLUMNS"] = json.dumps(manifest.generic_columns)
    runner = DbtRunner(options, settings, say)
    say("dbt parse ...")
    measured = runner.run("dbt parse", "dbt_parse.log", "parse")
    steps["dbt_parse"] = {**measured.as_dict(), "status": "ok" if measured.succeeded else "failed"}
    if not measured.succeeded:
        results.data["status"] = "failed"
        results.save()
        say(f"dbt parse failed: see {measured.log}")
        return results.data
    try:
        plan = plan_stages(json.loads((run_dir / "target" / "manifest.json").read_text()))
    except StageError as error:
        steps["dbt_parse"]["status"] = "failed"
        steps["dbt_parse"]["error"] = str(error)
        results.data["status"] = "failed"
        results.save()
        say(f"stage plan: {error}")
        return results.data
    steps["dbt_parse"]["stage_nodes"] = {stage.name: plan.counts(stage.number) for stage in STAGES}
    say(
        f"dbt parse: ok in {measured.seconds:,.1f} s;"
        f" {len(plan.nodes)} nodes in {len(STAGES)} stages"
    )
    results.save()

    say("full build:")
    steps["full_build"] = {"input_glob": manifest.input_glob, "as_of_date": manifest.as_of_date}
    build = build_in_stages if options.staged else build_once
    built = build(runner, plan, "full", steps["full_build"], results.save)
    if built:
        steps["full_build"]["reconciliation"] = reconciliation(warehouse)
        say(
            f"full build: {steps['full_build']['seconds']:,.1f} s, peak RSS"
            f" {steps['full_build']['peak_rss_gib']:.2f} GiB, reconciled:"
            f" {steps['full_build']['reconciliation']['is_reconciled']}"
        )
    results.save()

    # 4. the pandas route
    steps["pandas_route"] = pandas_step(options, manifest, warehouse if built else None, say)
    results.save()

    # 5. the daily job: append a day, score it with the release of the full build; then
    #    append another day and build again with every model refitted (an incremental train)
    if options.incremental and built:
        release, _ = keep_release(warehouse, run_dir / "models")
        steps["full_build"]["release_id"] = release.release_id
        phases = (("score", "append_day"), ("incremental", "append_second_day"))
        for phase, append_name in phases if options.retrain else phases[:1]:
            appended = append_step(options, data_dir, steps, append_name, results, say)
            if appended is None:
                break
            runner.settings = BuildSettings(
                layout=options.layout,
                input_path=Path(appended.input_glob),
                warehouse_path=warehouse,
                as_of_date=appended.as_of_date,
            )
            record = steps[f"{phase}_build"] = {
                "input_glob": appended.input_glob,
                "as_of_date": appended.as_of_date,
            }
            if phase == "score":
                say(f"score build (the daily job: {release.release_id} applied, no fit):")
                rebuilt = build_once(
                    runner,
                    plan,
                    "score",
                    record,
                    results.save,
                    score_build_arguments(),
                    score_environment(release),
                )
                if rebuilt:
                    record["applied"] = applied_release(warehouse)
                    if record["applied"] != [[appended.as_of_date, release.release_id]]:
                        record["status"] = "failed"
                        record["error"] = f"scored {record['applied']}, not the release"
            else:
                say("incremental build (on the glob with the new day, every model refitted):")
                rebuilt = build(runner, plan, "incremental", record, results.save)
            if rebuilt:
                check = reconciliation(warehouse)
                check["expected_raw_rows"] = appended.lines + sum(
                    day["lines"] for day in appended.appended_days
                )
                check["is_reconciled"] = check["is_reconciled"] and (
                    check["raw_rows"] == check["expected_raw_rows"]
                )
                record["reconciliation"] = check
                say(
                    f"{BUILD_TITLES[phase]}: {record['seconds']:,.1f} s,"
                    f" reconciled: {check['is_reconciled']}"
                )
            results.save()
    elif not options.incremental:
        steps["incremental_build"] = {"status": "not attempted", "reason": "--no-incremental"}

    failed = [
        name
        for name, step in steps.items()
        if step.get("status") == "failed"
        or not step.get("reconciliation", {"is_reconciled": True})["is_reconciled"]
        or not step.get("agreement", {"agrees": True})["agrees"]
    ]
    results.data["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    results.data["status"] = "failed" if failed else "complete"
    if failed:
        results.data["failed_steps"] = failed
    results.save()
    say(f"results: {options.results_stem}.json and .md ({results.data['status']})")
    return results.data


def append_step(
    options: Options, data_dir: Path, steps: dict, name: str, results: Results, say: Say
) -> Manifest | None:
    """Append one generated day to the input (steps[name]); the new manifest, or None."""
    say("append day ...")
    measured = run_measured(
        [
            _python(),
            "-m",
            "clv_warehouse.cli",
            "generate",
            "--out",
            str(data_dir),
            "--append-day",
            "--threads",
            str(options.threads),
            "--memory-limit",
            options.memory_limit,
        ],
        log_path=options.run_dir / "logs" / f"{name}.log",
        label="append day",
        say=say,
        heartbeat_seconds=options.heartbeat_seconds,
    )
    steps[name] = {**measured.as_dict(), "status": "ok" if measured.succeeded else "failed"}
    results.save()
    if not measured.succeeded:
        return None
    appended = Manifest.read(data_dir)
    day = appended.appended_days[-1]
    steps[name].update(
        {key: day[key] for key in ("file", "lines", "late_lines", "duplicate_lines")}
    )
    steps[name]["as_of_date"] = appended.as_of_date
    say(f"append day: {day['file']}, {day['lines']:,} lines in {measured.seconds:,.1f} s")
    results.save()
    return appended


def applied_release(warehouse: Path) -> list[list[str]]:
    """[[scoring cutoff, release id]] of the predictions a score build left."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select distinct cast(cutoff_date as varchar), release_id from marts.predictions"
            " where cutoff_role = 'scoring'"
        ).fetchall()
    return [list(row) for row in rows]


def warehouse_cutoffs(warehouse: Path) -> list[str]:
    """Every cutoff of the build's grid (scoring, backtest, training): stage 3's features."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select cast(cutoff_date as varchar) from marts.cutoffs order by 1")
        return [date for (date,) in rows.fetchall()]


def pandas_step(options: Options, manifest: Manifest, warehouse: Path | None, say: Say) -> dict:
    if options.layout != "online_retail":
        return {
            "status": "not attempted",
            "reason": "the pandas route reads the online_retail layout",
        }
    if options.lines > options.pandas_max_lines:
        return {
            "status": "not attempted",
            "reason": f"{options.lines:,} lines > --pandas-max-lines {options.pandas_max_lines:,}",
        }
    out = options.run_dir / "pandas"
    cutoffs = warehouse_cutoffs(warehouse) if warehouse is not None else []
    say(
        "pandas route: read, clean, RFM (lifetimes) and features in pandas at"
        f" {max(len(cutoffs), 1)} cutoffs ..."
    )
    measured = run_measured(
        [
            _python(),
            "-m",
            "clv_warehouse.bench.pandas_route",
            "--input",
            manifest.input_glob,
            "--as-of",
            manifest.as_of_date,
            "--out",
            str(out),
            "--threads",
            str(options.threads),
            "--cutoffs",
            ",".join(cutoffs),
        ],
        log_path=options.run_dir / "logs" / "pandas_route.log",
        label="pandas route",
        say=say,
        heartbeat_seconds=options.heartbeat_seconds,
    )
    step = measured.as_dict()
    if not measured.succeeded:
        tail = Path(measured.log).read_text().strip().splitlines()[-1:]
        killed = measured.returncode < 0
        reason = f"killed by signal {-measured.returncode}" if killed else " ".join(tail)[:300]
        say(f"pandas route: failed ({reason})")
        return {**step, "status": "failed", "reason": reason}
    step["status"] = "ok"
    step["summary"] = json.loads((out / "pandas_route.json").read_text())
    if warehouse is not None:
        step["agreement"] = compare_with_warehouse(warehouse, out / "pandas_features.parquet")
    say(
        f"pandas route: ok in {measured.seconds:,.1f} s, peak RSS"
        f" {measured.peak_rss_bytes / 2**30:.2f} GiB, agrees with the marts:"
        f" {step.get('agreement', {}).get('agrees')}"
    )
    return step


def _memory_text(text: str) -> str:
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip()):
        raise ValueError(f"memory limit {text!r}: write e.g. 12GB")
    return text.strip()


def options_from_args(args) -> Options:
    return Options(
        lines=parse_line_count(args.lines),
        layout=args.layout,
        seed=args.seed,
        work_dir=Path(args.work_dir).resolve(),
        results_dir=Path(args.results_dir).resolve(),
        threads=args.threads,
        memory_limit=_memory_text(args.memory_limit),
        pandas_max_lines=parse_line_count(args.pandas_max_lines),
        incremental=not args.no_incremental,
        retrain=not args.no_retrain,
        staged=args.build == "staged",
        quick=args.quick,
        heartbeat_seconds=args.heartbeat,
    )


def main(args) -> int:
    options = options_from_args(args)
    if options.lines > 1_000_000_000:
        raise ValueError("at most 1b lines")
    results = run_bench(options)
    return 0 if results["status"] == "complete" else 1


def add_arguments(parser) -> None:
    parser.add_argument("--lines", required=True, help="input size: 20k, 1m, 10m, 100m ...")
    parser.add_argument("--layout", default="online_retail", choices=tuple(SCAN_QUERIES))
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument(
        "--work-dir",
        default=os.environ.get("CLV_BENCH_WORK_DIR", str(PROJECT_DIR / "bench" / "work")),
        help="generated data, warehouse, logs (CLV_BENCH_WORK_DIR; default bench/work)",
    )
    parser.add_argument(
        "--results-dir",
        default=str(PROJECT_DIR / "bench" / "results"),
        help="where <layout>_<size>.json and .md go (default bench/results)",
    )
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("CLV_DUCKDB_MEMORY", "12GB"),
        help="DuckDB memory limit for generation, scan and build (default 12GB)",
    )
    parser.add_argument(
        "--pandas-max-lines",
        default="30m",
        help="run the pandas route only up to this size (default 30m)",
    )
    parser.add_argument(
        "--no-incremental", action="store_true", help="skip the appended days and their builds"
    )
    parser.add_argument(
        "--no-retrain",
        action="store_true",
        help="score one appended day, but skip the second day's retraining build",
    )
    parser.add_argument(
        "--build",
        choices=("single", "staged"),
        default="single",
        help="each build as one dbt build invocation, split into stages from its run results"
        " (default), or one invocation per stage (each stage's own peak RSS, start-up 6 times)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"tests only: dbt vars {QUICK_VARS} (results file gets a _quick suffix)",
    )
    parser.add_argument(
        "--heartbeat", type=float, default=30.0, help="seconds between progress lines (30)"
    )


def cli(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="clv bench", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return main(parser.parse_args(argv))
