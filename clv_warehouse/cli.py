"""The ``clv`` command: build the warehouse and report on it.

    clv build [--layout cdnow|online_retail|generic] [--input PATH] [--as-of YYYY-MM-DD]
              [--warehouse PATH] [--target local|spark] [-- extra dbt arguments]
                                  (--target spark, or CLV_TARGET=spark: the same warehouse
                                   on Spark in local mode; docs/spark.md)
    clv train  (the same as build: every model fitted and backtested; keeps a model release)
    clv score [--release ID] [same options as build]
                                  (the daily job: new files, features at the new scoring
                                   cutoff, the latest release applied; no search, no fit)
    clv releases [--warehouse PATH]
    clv summary [--warehouse PATH]
    clv sql "select ..."          (read-only query of the warehouse file, nothing else)
    clv publish [--warehouse PATH] [--to PATH]
                                  (a new read-only versioned copy; the published name links to it)
    clv dashboards [--published PATH] [--definitions PATH]
                                  (create or update the Metabase dashboards; METABASE_* env)
    clv report [--warehouse PATH] [--out reports/clv_report.html]
                                  (the four dashboards as one self-contained HTML file)
    clv generate --lines 10m --layout online_retail|generic --out DIR [--seed 42]
                 [--seasonality 0.5] [--growth 0.1]
                 [--customers N] [--append-day]
                                  (synthetic Parquet and manifest.json: docs/synthetic-data.md)
    clv bench --lines 10m [--layout online_retail] [--work-dir bench/work] [--pandas-max-lines 30m]
                                  (the scale benchmark: bench/README.md)
    clv serve [--published PATH] [--host 127.0.0.1] [--port 8000] [--no-auth]
                                  (HTTP API over the published copy; keys from CLV_API_KEYS)
    clv bench-api [--published PATH] [--requests 2000]
                                  (requests/s and p50/p99 latency of clv serve on loopback)
    clv paths

Defaults come from the CLV_* environment variables (see profiles.yml and docs/data-and-cleaning.md).
Errors are one line on stderr with a non-zero exit; an unexpected one also writes its
traceback to logs/clv.log (the line says where).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from clv_warehouse.build_checks import check_build_environment
from clv_warehouse.connections import WarehouseBusy, check_not_held, connect_read_only
from clv_warehouse.dashboards import DefinitionError, ProvisionError, provision
from clv_warehouse.dashboards.compile import CompileError
from clv_warehouse.dashboards.definitions import DEFINITIONS_PATH
from clv_warehouse.dashboards.report import ReportError, write_report
from clv_warehouse.input_resolution import resolve_input
from clv_warehouse.messages import clip, one_line
from clv_warehouse.project import (
    LAYOUTS,
    PROJECT_DIR,
    BuildSettings,
    cdnow_master_path,
    files_of_another_input,
    input_files,
    missing_input_message,
    run_dbt,
)
from clv_warehouse.publish import (
    PublishError,
    default_published_path,
    publish,
    published_name,
)
from clv_warehouse.release_store import (
    ReleaseError,
    find_release,
    keep_release,
    list_releases,
    score_build_arguments,
    score_environment,
)
from clv_warehouse.summary import format_summary, read_summary
from clv_warehouse.synthetic import SYNTHETIC_LAYOUTS, Parameters, append_day, generate

TARGETS = ("local", "spark")
# Where an unexpected error's traceback goes; the one line on stderr names the file.
ERROR_LOG = PROJECT_DIR / "logs" / "clv.log"
REPORT_PATH = PROJECT_DIR / "reports" / "clv_report.html"
# DuckDB's words for a statement the locked-down connection refuses (connections.py).
REFUSALS = (
    "disabled by configuration",
    "disabled through configuration",
    "has been locked",
    "read-only mode",
)


def _settings(args: argparse.Namespace) -> BuildSettings:
    base = BuildSettings.from_environment()
    return BuildSettings(
        layout=args.layout or base.layout,
        input_path=Path(args.input) if getattr(args, "input", None) else base.input_path,
        warehouse_path=Path(args.warehouse) if args.warehouse else base.warehouse_path,
        as_of_date=getattr(args, "as_of", None) or base.as_of_date,
    )


def _input_settings(args: argparse.Namespace) -> BuildSettings:
    """The settings of a build: with --input, the layout and the generic mapping come from
    the options, the environment, clv_columns.yml beside the data or a guess from the file
    (clv_warehouse/input_resolution.py), and what was guessed is printed."""
    settings = _settings(args)
    if not getattr(args, "input", None):
        if args.columns or args.sheet:
            raise ValueError("--columns and --sheet describe an --input file: give --input too")
        return settings
    resolved = resolve_input(
        args.input,
        input_files(args.input),
        layout=args.layout,
        columns=args.columns,
        sheet=args.sheet,
        warehouse_dir=settings.absolute_warehouse_path().parent,
    )
    for line in resolved.lines:
        print(f"  {line}", flush=True)
    return dataclasses.replace(
        settings,
        layout=resolved.layout,
        input_path=resolved.input_path,
        generic_columns=None
        if resolved.generic_columns is None
        else json.dumps(resolved.generic_columns),
    )


def _target(args: argparse.Namespace) -> str:
    target = getattr(args, "target", None) or os.environ.get("CLV_TARGET", "local").strip()
    if target not in TARGETS:
        raise ValueError(f"CLV_TARGET={target!r}: use one of {', '.join(TARGETS)}")
    return target


def _build_on_spark(args: argparse.Namespace, settings: BuildSettings) -> int:
    """clv build --target spark: dbt and the Python stage in rounds (clv_warehouse/spark/)."""
    from clv_warehouse.spark.build import SparkSetupError, build_on_spark
    from clv_warehouse.spark.runner import RunnerError

    input_path = settings.resolved_input_path()
    check_build_environment(settings.layout)
    if not input_files(input_path):
        # Spark's own "[PATH_NOT_FOUND]" comes from deep in the first dbt round; say it as the
        # DuckDB target's input check does, before a Spark session is started.
        raise ValueError(missing_input_message(input_path, settings.layout))
    env = settings.environment()
    env["CLV_TARGET"] = "spark"
    spark_dir = Path(env.get("CLV_SPARK_DIR") or PROJECT_DIR / "warehouse" / "spark")
    env["CLV_SPARK_DIR"] = str(spark_dir if spark_dir.is_absolute() else PROJECT_DIR / spark_dir)
    print(
        f"Building the warehouse on Spark from {input_path} ({settings.layout} layout;"
        f" tables in {env['CLV_SPARK_DIR']})",
        flush=True,
    )
    started = time.perf_counter()
    try:
        steps = build_on_spark(
            env, list(args.dbt_args), PROJECT_DIR, Path(env["CLV_SPARK_DIR"]) / "stage_scratch"
        )
    except (SparkSetupError, RunnerError) as error:
        elapsed = time.perf_counter() - started
        print(f"clv build --target spark: {one_line(error)} ({elapsed:.0f} s)", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    ran = ", ".join(" + ".join(step) for step in steps)
    print(f"\nBuilt on Spark in {elapsed:.1f} s; the Python stage ran between dbt rounds: {ran}")
    return 0


def _build(args: argparse.Namespace) -> int:
    """clv build / clv train: the full build, then keep the release it made."""
    settings = _input_settings(args)
    if _target(args) == "spark":
        return _build_on_spark(args, settings)
    input_path = settings.resolved_input_path()
    check_build_environment(settings.layout)
    # dbt would die with a traceback on DuckDB's lock; say who holds it instead.
    check_not_held(settings.absolute_warehouse_path())
    print(f"Building the warehouse from {input_path} ({settings.layout} layout)", flush=True)
    dbt_args = list(args.dbt_args)
    loaded = files_of_another_input(settings)
    if loaded and "--full-refresh" not in dbt_args:
        # The warehouse holds another input: an incremental build would refuse it.
        print(
            f"The warehouse {settings.absolute_warehouse_path()} holds another input"
            f" ({loaded[0]}{f' and {len(loaded) - 1} more file(s)' if len(loaded) > 1 else ''}):"
            " rebuilding it from this one (--full-refresh). Pass --warehouse to keep both.",
            flush=True,
        )
        dbt_args.append("--full-refresh")
    started = time.perf_counter()
    result = run_dbt(["build", *dbt_args], settings, extra_env={"CLV_JOB": "train"})
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        return _build_failed("train", result.returncode, elapsed)
    warehouse = settings.absolute_warehouse_path()
    summary = read_summary(warehouse)
    print(format_summary(summary, str(input_path)))
    release, is_new = keep_release(warehouse, warehouse.parent / "models")
    print(
        f"  release     {release.release_id} ({'new' if is_new else 'unchanged'}; trained"
        f" through {release.training_end_date}; files in"
        f" {warehouse.parent / 'models' / release.release_id}/)"
    )
    print(f"  built in    {elapsed:.1f} s")
    return 0 if summary.is_reconciled else 1


def _build_failed(job: str, returncode: int, elapsed: float) -> int:
    print(
        f"\ndbt {job} build failed (exit code {returncode}) after {elapsed:.0f} s;"
        " the first error above says which file, row, column or setting to fix.",
        file=sys.stderr,
    )
    return returncode


def _score(args: argparse.Namespace) -> int:
    """clv score: apply the latest (or named) release at the new scoring cutoff."""
    if os.environ.get("CLV_TARGET", "local").strip() == "spark":
        raise ReleaseError(
            "model releases are kept in the DuckDB warehouse, so clv score runs on DuckDB only;"
            " on Spark, clv build --target spark trains and scores in one build"
        )
    settings = _input_settings(args)
    input_path = settings.resolved_input_path()
    check_build_environment(settings.layout)
    warehouse = settings.absolute_warehouse_path()
    check_not_held(warehouse)
    if not warehouse.exists():
        raise ReleaseError(f"no warehouse at {warehouse}: run `clv train` (or `clv build`) first")
    release = find_release(warehouse, args.release)
    loaded = files_of_another_input(settings)
    if loaded:
        raise ReleaseError(
            f"the warehouse {warehouse} holds another input ({loaded[0]}): a release applies"
            " only to the data it was trained on; run `clv train` on this input"
        )
    print(
        f"Scoring {input_path} ({settings.layout} layout) with {release.release_id}"
        f" (trained {release.trained_at} through {release.training_end_date})",
        flush=True,
    )
    started = time.perf_counter()
    result = run_dbt(
        [*score_build_arguments(), *args.dbt_args],
        settings,
        extra_env=score_environment(release),
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        target = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")
        mismatch = release_refusal(target / "run_results.json")
        if mismatch:
            print(f"clv score: {mismatch}", file=sys.stderr)
        return _build_failed("score", result.returncode, elapsed)
    summary = read_summary(warehouse)
    print(format_summary(summary, str(input_path)))
    print(
        f"  release     {release.release_id} (applied; trained through {release.training_end_date})"
    )
    print(f"  scored in   {elapsed:.1f} s")
    return 0 if summary.is_reconciled else 1


def release_refusal(run_results: Path) -> str | None:
    """The release's refusal, one line, when a score build failed on one."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return None
    for result in results:
        message = str(result.get("message") or "")
        if "ReleaseMismatch" in message:
            return one_line(message.split("ReleaseMismatch:", 1)[-1])
    return None


def _releases(args: argparse.Namespace) -> int:
    path = _built_warehouse(args)
    if path is None:
        return 2
    releases = list_releases(path)
    if not releases:
        print(f"No model release in {path}: run `clv train` (or `clv build`).")
        return 0
    for release in releases:
        print(
            f"{release.release_id}  trained {release.trained_at}  through"
            f" {release.training_end_date}  backtest {release.backtest_cutoff_date}"
            f"  {len(release.training_cutoffs)} cutoffs  {len(release.features)} features"
        )
    return 0


def _built_warehouse(args: argparse.Namespace) -> Path | None:
    """The warehouse file the command reads, or None (said on stderr) when it is not built."""
    path = _settings(args).absolute_warehouse_path()
    if path.exists():
        return path
    print(f"No warehouse at {path}: run `clv build` (or `make run`) first.", file=sys.stderr)
    return None


def _summary(args: argparse.Namespace) -> int:
    path = _built_warehouse(args)
    if path is None:
        return 2
    print(format_summary(read_summary(path)))
    return 0


def _sql(args: argparse.Namespace) -> int:
    if not args.query.strip().strip(";").strip():
        print(
            'clv sql: the query is empty: give one, e.g. clv sql "select * from marts.customers'
            ' limit 5"',
            file=sys.stderr,
        )
        return 2
    path = _built_warehouse(args)
    if path is None:
        return 2
    with connect_read_only(path) as con:
        try:
            result = con.sql(args.query)
            if result is None:
                print("(the statement ran; it has no result to show)")
            else:
                result.show(max_rows=args.max_rows, max_width=200)
        except duckdb.Error as error:
            if isinstance(error, duckdb.PermissionException) or any(
                refusal in str(error) for refusal in REFUSALS
            ):
                print(
                    f"clv sql: refused: {str(error).splitlines()[0]}. clv sql reads only the"
                    " warehouse: it cannot write, change settings, load extensions or read"
                    " other files.",
                    file=sys.stderr,
                )
            else:
                print(f"clv sql: {error}", file=sys.stderr)
            return 1
    return 0


def _published_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "published", None)
    if given:
        return published_name(given)
    return default_published_path(_settings(args).absolute_warehouse_path())


def _publish(args: argparse.Namespace) -> int:
    warehouse = _settings(args).absolute_warehouse_path()
    try:
        published = publish(warehouse, _published_path(args))
    except PublishError as error:
        print(f"clv publish: {error}", file=sys.stderr)
        return 1
    print(
        f"Published {published.path} -> {published.version.name}"
        f" ({published.size_bytes / 1e6:.1f} MB, read-only),"
        f" build {published.build_id} finished {published.build_finished_at}."
        " Metabase reads it after `clv dashboards` points it there (make dashboards)."
    )
    return 0


def _dashboards(args: argparse.Namespace) -> int:
    published = _published_path(args)
    print(f"Provisioning the dashboards of {args.definitions} on the published copy {published}")
    try:
        report = provision(published, Path(args.definitions))
    except (ProvisionError, DefinitionError, CompileError) as error:
        print(f"clv dashboards: {error}", file=sys.stderr)
        return 1
    print(report.format())
    return 0


def _report(args: argparse.Namespace) -> int:
    warehouse = _settings(args).absolute_warehouse_path()
    try:
        written = write_report(warehouse, Path(args.out), Path(args.definitions))
    except (ReportError, DefinitionError, CompileError) as error:
        print(f"clv report: {error}", file=sys.stderr)
        return 1
    print(
        f"Wrote {written.path} ({written.cards} cards, {written.size_bytes / 1e3:.0f} kB):"
        " one HTML file, no network needed; open it in any browser or attach it."
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    def say(message: str) -> None:
        print(f"  {message}", flush=True)

    options = {"threads": args.threads, "memory_limit": args.memory_limit, "progress": say}
    if args.append_day:
        print(f"Appending one day to {args.out}", flush=True)
        manifest = append_day(args.out, **options)
        day = manifest.appended_days[-1]
        print(
            f"{day['file']}: {day['lines']:,} lines ({day['late_lines']:,} late,"
            f" {day['duplicate_lines']:,} duplicates), as of {manifest.as_of_date}"
        )
        return 0
    if not args.lines or not args.layout:
        print("clv generate: give --lines and --layout (or --append-day)", file=sys.stderr)
        return 2
    print(f"Generating {args.lines} {args.layout} lines in {args.out}", flush=True)
    manifest = generate(
        args.layout,
        args.lines,
        args.out,
        args.seed,
        customers=args.customers,
        parameters=Parameters(
            bad_share=args.bad_share, seasonality=args.seasonality, growth=args.growth
        ),
        lines_per_file=args.lines_per_file,
        overwrite=args.force,
        **options,
    )
    print(
        f"{manifest.lines:,} lines of {manifest.customers:,} customers in"
        f" {len(manifest.files)} file(s), {manifest.first_date} to {manifest.last_date},"
        f" {manifest.bad_rows:,} bad rows, {manifest.seconds:.1f} s\n"
        f"build it: clv build --layout {manifest.layout} --input '{manifest.input_glob}'"
        f" --as-of {manifest.as_of_date}"
    )
    if manifest.generic_columns:
        print(f"  with CLV_GENERIC_COLUMNS='{json.dumps(manifest.generic_columns)}'")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from clv_warehouse.bench import run

    return run.main(args)


def _serve(args: argparse.Namespace) -> int:
    from clv_warehouse.api.serve import ServeError, serve

    try:
        return serve(_published_path(args), args.host, args.port, args.no_auth, args.access_log)
    except ServeError as error:
        print(f"clv serve: {error}", file=sys.stderr)
        return 2


def _bench_api(args: argparse.Namespace) -> int:
    from clv_warehouse.api.bench import BenchError, run_benchmark

    try:
        report = run_benchmark(
            _published_path(args),
            clients=args.clients,
            requests_per_level=args.requests,
            out=args.out,
            dataset=args.dataset,
        )
    except BenchError as error:
        print(f"clv bench-api: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0


def _paths(args: argparse.Namespace) -> int:
    settings = _settings(args)
    print(f"warehouse     {settings.absolute_warehouse_path()}")
    print(f"published     {_published_path(args)}")
    print(f"cdnow input   {cdnow_master_path()}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="clv", description=__doc__.split("\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="run dbt build, then print the summary")
    train = commands.add_parser(
        "train", help="the same as build: fit and backtest every model, keep a model release"
    )
    score = commands.add_parser(
        "score", help="daily: new files, features at the new scoring cutoff, the latest release"
    )
    score.add_argument("--release", help="the release to apply (default: the latest)")
    for command in (build, train):
        command.add_argument(
            "--target", choices=TARGETS, help="local (DuckDB) or spark (CLV_TARGET; default local)"
        )
    for command, handler in ((build, _build), (train, _build), (score, _score)):
        command.add_argument("--layout", choices=LAYOUTS, help="input layout (CLV_INPUT_LAYOUT)")
        command.add_argument("--input", help="input file or glob (CLV_INPUT_PATH)")
        command.add_argument("--as-of", help="as-of date YYYY-MM-DD (CLV_AS_OF_DATE)")
        command.add_argument("--warehouse", help="DuckDB file to write (CLV_DUCKDB_PATH)")
        command.add_argument(
            "--columns",
            help="the generic layout's mapping, key=column pairs: customer_id=client,"
            "ordered_at=sold_at,amount=total (default: clv_columns.yml beside the data, or a"
            " guess from the file)",
        )
        command.add_argument(
            "--sheet", help="the sheet of an .xlsx input: its name or position from 1 (first)"
        )
        command.add_argument("dbt_args", nargs="*", help="extra dbt build arguments, after --")
        command.set_defaults(handler=handler)

    releases = commands.add_parser("releases", help="list the model releases, newest first")
    releases.add_argument("--warehouse", help="DuckDB file to read (CLV_DUCKDB_PATH)")
    releases.set_defaults(handler=_releases, layout=None)

    summary = commands.add_parser("summary", help="print the summary of a built warehouse")
    summary.add_argument("--warehouse", help="DuckDB file to read (CLV_DUCKDB_PATH)")
    summary.set_defaults(handler=_summary, layout=None)

    sql = commands.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query", help='e.g. "select * from marts.customers limit 5"')
    sql.add_argument("--warehouse", help="DuckDB file to read (CLV_DUCKDB_PATH)")
    sql.add_argument("--max-rows", type=int, default=40, help="rows to show (default 40)")
    sql.set_defaults(handler=_sql, layout=None)

    publish_command = commands.add_parser(
        "publish", help="a new read-only versioned copy of the built warehouse, for dashboards"
    )
    publish_command.add_argument("--warehouse", help="DuckDB file to copy (CLV_DUCKDB_PATH)")
    publish_command.add_argument(
        "--to",
        dest="published",
        help="published copy (CLV_PUBLISHED_PATH; default published/ beside the warehouse)",
    )
    publish_command.set_defaults(handler=_publish, layout=None)

    dashboards = commands.add_parser(
        "dashboards", help="create or update the Metabase dashboards (METABASE_* variables)"
    )
    dashboards.add_argument("--warehouse", help="the warehouse (CLV_DUCKDB_PATH)")
    dashboards.add_argument("--published", help="the published copy (CLV_PUBLISHED_PATH)")
    dashboards.add_argument(
        "--definitions", default=str(DEFINITIONS_PATH), help="dashboards YAML file"
    )
    dashboards.set_defaults(handler=_dashboards, layout=None)

    report = commands.add_parser(
        "report", help="the dashboards as one self-contained HTML file (no Metabase needed)"
    )
    report.add_argument("--warehouse", help="the warehouse to read (CLV_DUCKDB_PATH)")
    report.add_argument(
        "--out", default=str(REPORT_PATH), help=f"HTML file to write (default {REPORT_PATH})"
    )
    report.add_argument("--definitions", default=str(DEFINITIONS_PATH), help="dashboards YAML file")
    report.set_defaults(handler=_report, layout=None)

    generate_command = commands.add_parser(
        "generate", help="write synthetic transactions as Parquet (seeded, deterministic)"
    )
    generate_command.add_argument("--lines", help="line count: 20000, 1m, 10m, 350m ...")
    generate_command.add_argument("--layout", choices=SYNTHETIC_LAYOUTS, help="output layout")
    generate_command.add_argument("--out", type=Path, required=True, help="output directory")
    generate_command.add_argument("--seed", type=int, default=42, help="seed (default 42)")
    generate_command.add_argument(
        "--customers", type=int, help="customers (default: lines / 1170, at least 1000)"
    )
    generate_command.add_argument(
        "--bad-share",
        type=float,
        default=Parameters.bad_share,
        help=f"share of bad lines (default {Parameters.bad_share})",
    )
    generate_command.add_argument(
        "--seasonality",
        type=float,
        default=Parameters.seasonality,
        help="amplitude of a yearly cycle in the purchase rate peaking in December, from 0 (off,"
        " the default) to below 1: 0.5 = December's rate 1.5 times the year's mean",
    )
    generate_command.add_argument(
        "--growth",
        type=float,
        default=Parameters.growth,
        help="yearly growth of the purchase and arrival rates: 0.1 = 10%% more a year (default 0)",
    )
    generate_command.add_argument(
        "--lines-per-file", type=int, default=10_000_000, help="lines per Parquet file"
    )
    generate_command.add_argument(
        "--append-day",
        action="store_true",
        help="add the next day's lines to an existing --out directory",
    )
    generate_command.add_argument("--force", action="store_true", help="replace existing data")
    generate_command.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    generate_command.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit")
    generate_command.set_defaults(handler=_generate)

    bench = commands.add_parser(
        "bench", help="measure generation, scan floor, staged build, pandas route, incremental"
    )
    from clv_warehouse.bench.run import add_arguments as add_bench_arguments

    add_bench_arguments(bench)
    bench.set_defaults(handler=_bench)

    serve_command = commands.add_parser(
        "serve", help="HTTP API over the published copy (keys from CLV_API_KEYS)"
    )
    serve_command.add_argument("--warehouse", help="the warehouse (CLV_DUCKDB_PATH)")
    serve_command.add_argument("--published", help="the published copy (CLV_PUBLISHED_PATH)")
    serve_command.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve_command.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve_command.add_argument(
        "--no-auth", action="store_true", help="serve without API keys (explicitly)"
    )
    serve_command.add_argument("--access-log", action="store_true", help="log every request")
    serve_command.set_defaults(handler=_serve, layout=None)

    bench_api = commands.add_parser(
        "bench-api", help="requests/s and p50/p99 latency of clv serve on loopback"
    )
    bench_api.add_argument("--warehouse", help="the warehouse (CLV_DUCKDB_PATH)")
    bench_api.add_argument("--published", help="the published copy (CLV_PUBLISHED_PATH)")
    bench_api.add_argument(
        "--clients",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 32],
        help="concurrent clients, comma-separated (default 1,32)",
    )
    bench_api.add_argument(
        "--requests", type=int, default=2000, help="timed requests per level (default 2000)"
    )
    bench_api.add_argument("--dataset", default="cdnow", help="name in the results (default cdnow)")
    bench_api.add_argument(
        "--out",
        type=Path,
        help="write <out>.md and <out>.json (e.g. bench/results/api_cdnow)",
    )
    bench_api.set_defaults(handler=_bench_api, layout=None)

    paths = commands.add_parser("paths", help="print where the warehouse and default input are")
    paths.add_argument("--warehouse", help="DuckDB file (CLV_DUCKDB_PATH)")
    paths.set_defaults(handler=_paths, layout=None)
    return root


def _log_traceback(argv: Sequence[str] | None) -> Path | None:
    """Append the current exception's traceback to ERROR_LOG (or one in the temp folder)."""
    command = " ".join(sys.argv[1:] if argv is None else argv)
    entry = (
        f"--- {datetime.now(UTC).isoformat(timespec='seconds')} clv {command}\n"
        f"{traceback.format_exc()}\n"
    )
    for path in (ERROR_LOG, Path(tempfile.gettempdir()) / "clv.log"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as log:
                log.write(entry)
        except OSError:
            continue
        return path
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("clv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (`clv sql ... | head`): nothing to say, and nothing
        # more to print; point stdout at /dev/null so the exit does not fail to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (WarehouseBusy, ReleaseError) as error:
        print(f"clv {args.command}: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"clv: {one_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:  # the last line of defence: one line, never a traceback
        log = _log_traceback(argv)
        where = f"traceback in {log}" if log else "no log could be written"
        print(
            f"clv: {type(error).__name__}: {clip(str(error), see=str(log or 'above'))} ({where})",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
