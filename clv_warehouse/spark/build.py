"""`clv build --target spark`: dbt and the Python stage in rounds, in one process.

1. dbt builds everything that is no descendant of a Python model (their stand-ins in
   models/python_stage_on_spark/ are excluded with everything downstream);
2. the runner (runner.py) runs every Python model whose inputs are now built;
3. dbt builds what those unblock: the stand-ins just written and their descendants, less
   the descendants of the Python models still pending; back to 2 until none is pending.

dbt runs in this process (dbtRunner), so the Spark session dbt-spark starts (JVM and
metastore: 16-47 s) serves every round and the runner too.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from clv_warehouse.modeling.stage import STAGE
from clv_warehouse.spark.runner import (
    RunnerError,
    SparkTableStore,
    plan_from_manifest,
    run_ready,
)

Invoke = Callable[[list[str]], bool]


class SparkSetupError(RuntimeError):
    """Spark cannot start here; the message says what to install or set."""


def check_java() -> None:
    """Spark needs a Java runtime: say which, in one line, before dbt starts a JVM."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise SparkSetupError(
            "Spark needs Java 17 and no `java` is on PATH (nor JAVA_HOME set):"
            " install it (Debian: apt-get install openjdk-17-jre-headless) or use the DuckDB"
            " target (clv build without --target spark)"
        )
    try:
        import pyspark  # noqa: F401
        from dbt.adapters import spark  # noqa: F401
    except ImportError:
        raise SparkSetupError(
            "the Spark target needs dbt-spark and pyspark: make .venv/.spark"
            " (pip install -r requirements-spark.txt)"
        ) from None


def build_rounds(
    invoke: Invoke,
    dbt_args: Sequence[str],
    read_manifest: Callable[[], Mapping],
    run_stage: Callable[[Mapping, set[str], set[str]], list[str]],
) -> list[list[str]]:
    """Run the rounds; returns the Python models each runner step ran. ``invoke`` runs one
    dbt command (True when it succeeded); ``run_stage(manifest, done, pending)`` runs the
    Python models that are ready and returns their names."""
    pending = set(STAGE)
    done: set[str] = set()
    excluded = [f"path:models/python_stage_on_spark/{name}.sql+" for name in sorted(pending)]
    # a full parse first: dbt's partial parsing mixes up the disabled Python models and their
    # enabled stand-ins of the same names when either changed since the last parse
    if not invoke(["build", "--no-partial-parse", "--exclude", *excluded, *dbt_args]):
        raise RunnerError("dbt build failed before the Python stage; the errors above say where")
    manifest = read_manifest()
    steps: list[list[str]] = []
    while pending:
        ran = run_stage(manifest, set(done), set(pending))
        if not ran:
            raise RunnerError(
                f"no Python model can run: {', '.join(sorted(pending))} wait on each other"
            )
        steps.append(ran)
        pending -= set(ran)
        done |= set(ran)
        selected = [f"path:models/python_stage_on_spark/{name}.sql+" for name in ran]
        blocked = [f"path:models/python_stage_on_spark/{name}.sql+" for name in sorted(pending)]
        arguments = ["build", "--select", *selected]
        if blocked:
            arguments += ["--exclude", *blocked]
        if not invoke([*arguments, *dbt_args]):
            raise RunnerError(
                f"dbt build failed after the Python stage ran {', '.join(ran)};"
                " the errors above say where"
            )
    return steps


@contextmanager
def dbt_environment(env: Mapping[str, str]):
    """os.environ set to ``env`` for in-process dbt invocations (dbt reads env_var() there)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def build_on_spark(
    env: Mapping[str, str], dbt_args: Sequence[str], project_dir: Path, scratch: Path
) -> list[list[str]]:
    """The whole build on the spark target, dbt in this process; ``env`` is the build's
    environment (CLV_TARGET=spark among it)."""
    check_java()
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    runner = dbtRunner()
    common = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    target_path = Path(env.get("DBT_TARGET_PATH") or project_dir / "target")

    def invoke(arguments: list[str]) -> bool:
        result = runner.invoke([*arguments, *common])
        return bool(result.success)

    def read_manifest() -> Mapping:
        return json.loads((target_path / "manifest.json").read_text())

    store: SparkTableStore | None = None

    def run_stage(manifest: Mapping, done: set[str], pending: set[str]) -> list[str]:
        nonlocal store
        if store is None:
            store = SparkTableStore(SparkSession.builder.getOrCreate(), scratch)
        ran = run_ready(store, plan_from_manifest(manifest), done, pending)
        for name in ran:
            print(f"Python stage on Spark: {name} written", flush=True)
        return ran

    with dbt_environment(env):
        try:
            return build_rounds(invoke, dbt_args, read_manifest, run_stage)
        finally:
            if store is not None:
                store.close()
