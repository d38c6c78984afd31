"""The Python stage on Spark, run between dbt invocations.

dbt-spark runs Python models only on Databricks clusters, so on the `spark` target the dbt
Python models are disabled and models/python_stage_on_spark/ holds a view of the same name
for each, over a table of the schema ``python_stage``. This runner writes those tables: it
reads each Python model's inputs from Spark, calls the same function the dbt Python model
calls on DuckDB (clv_warehouse.modeling.stage), and writes the frame back.

Frames cross between the engines as Parquet read and written by DuckDB, so the pandas frames
the stage functions see have the dtypes dbt-duckdb gives them (decimals as float64, dates as
datetime64), and the tables they write have the types dbt-duckdb would create.

The order is the manifest's: a Python model runs once every relation it reads is built,
that is, once it is no descendant of a Python model still to run (``ready``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from clv_warehouse.modeling.stage import STAGE, STAGE_INPUTS

STAGE_SCHEMA = "python_stage"
STAND_IN_FOLDER = "python_stage_on_spark"


class RunnerError(RuntimeError):
    """The Python stage cannot go on; the message says why, in one line."""


class TableStore(Protocol):
    """Where the stage reads its inputs and writes its outputs (Spark, or a test's dict)."""

    def read(self, relation: str, where: str | None, order: str | None) -> pd.DataFrame: ...

    def write(self, relation: str, frame: pd.DataFrame) -> None: ...


@dataclass(frozen=True)
class StagePlan:
    """What the manifest of the spark target says about the stage."""

    relations: Mapping[str, str]  # model or seed name -> schema.identifier
    configs: Mapping[str, Mapping[str, object]]  # Python model -> its rendered config
    descendants: Mapping[str, frozenset[str]]  # Python model -> names of nodes downstream

    def ready(self, name: str, done: Iterable[str], unbuilt_after: Iterable[str]) -> bool:
        """True when every input of ``name`` is built: a Python model already run, or a
        relation downstream of none of ``unbuilt_after`` (the Python models still pending,
        and those run since dbt last built, whose descendants dbt has not built yet)."""
        done = set(done)
        blocked = set().union(*(self.descendants.get(other, set()) for other in unbuilt_after))
        return all(
            (source in done) if source in STAGE else (source not in blocked)
            for source in STAGE_INPUTS[name]
        )


def _is_stand_in(node: Mapping) -> bool:
    return (
        node["resource_type"] == "model"
        and node["name"] in STAGE
        and STAND_IN_FOLDER in Path(node["original_file_path"]).parts
    )


def plan_from_manifest(manifest: Mapping) -> StagePlan:
    """The stage plan from a dbt manifest.json of the spark target."""
    nodes = manifest["nodes"]
    relations: dict[str, str] = {}
    configs: dict[str, dict] = {}
    for node in nodes.values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        relations[node["name"]] = f"{node['schema']}.{node.get('alias') or node['name']}"
        if _is_stand_in(node):
            configs[node["name"]] = node["config"]
    missing = sorted(set(STAGE) - set(configs))
    if missing:
        raise RunnerError(
            f"the manifest has no Spark stand-in for the Python model(s) {', '.join(missing)}"
            f" (models/{STAND_IN_FOLDER}/): is the target spark?"
        )
    children = manifest.get("child_map", {})
    by_id = {unique_id: node["name"] for unique_id, node in nodes.items()}
    descendants: dict[str, frozenset[str]] = {}
    for unique_id, node in nodes.items():
        if not _is_stand_in(node):
            continue
        seen: set[str] = set()
        queue = list(children.get(unique_id, []))
        while queue:
            child = queue.pop()
            if child in seen:
                continue
            seen.add(child)
            queue.extend(children.get(child, []))
        descendants[node["name"]] = frozenset(by_id[child] for child in seen if child in by_id)
    return StagePlan(relations=relations, configs=configs, descendants=descendants)


class StageInputs:
    """clv_warehouse.modeling.stage.Inputs over a table store: refs to the Python stage's own
    models read its tables, the others the relations dbt built."""

    def __init__(self, store: TableStore, plan: StagePlan) -> None:
        self._store = store
        self._plan = plan

    def ref(self, name: str, *, where: str | None = None, order: str | None = None) -> pd.DataFrame:
        if name in STAGE:
            relation = f"{STAGE_SCHEMA}.{name}"
        elif name in self._plan.relations:
            relation = self._plan.relations[name]
        else:
            raise RunnerError(f"the Python stage reads {name}, which the manifest does not hold")
        return self._store.read(relation, where, order)

    def source(self, source_name: str, table_name: str) -> pd.DataFrame:
        raise RunnerError(
            f"{source_name}.{table_name} lives in the DuckDB warehouse: `clv score` (applying a"
            " kept release) runs on DuckDB only; on Spark run `clv build --target spark`"
        )

    def previous(self) -> pd.DataFrame | None:
        # Spark builds train and score in one run: every model is computed afresh.
        return None


def run_ready(store: TableStore, plan: StagePlan, done: set[str], pending: set[str]) -> list[str]:
    """Run every pending Python model whose inputs are built, in the stage's order, each
    output written before the next model reads it. Returns the models run."""
    ran: list[str] = []
    inputs = StageInputs(store, plan)
    progress = True
    while progress:
        progress = False
        for name in STAGE:
            if name in pending and plan.ready(name, done, (pending | set(ran)) - {name}):
                config = plan.configs[name]
                frame = STAGE[name](inputs, config.get)
                store.write(f"{STAGE_SCHEMA}.{name}", frame)
                pending.discard(name)
                done.add(name)
                ran.append(name)
                progress = True
    return ran


# --- frames across engines: Parquet through DuckDB ------------------------------------------

# DuckDB types Spark's Parquet reader does not take, and what to write instead.
_PORTABLE_TYPES = {
    "TIMESTAMP_NS": "TIMESTAMP",
    "TIMESTAMP_MS": "TIMESTAMP",
    "TIMESTAMP_S": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "HUGEINT": "DOUBLE",
    "UBIGINT": "DECIMAL(20, 0)",
    "UINTEGER": "BIGINT",
    "USMALLINT": "INTEGER",
    "UTINYINT": "SMALLINT",
    '"NULL"': "VARCHAR",
    "NULL": "VARCHAR",
}


def _identifier(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def write_frame_parquet(frame: pd.DataFrame, path: Path) -> None:
    """The frame as one Parquet file, typed as dbt-duckdb types a Python model's frame."""
    with duckdb.connect() as con:
        con.register("frame", frame)
        columns = con.execute("describe select * from frame").fetchall()
        select = ", ".join(
            f"cast({_identifier(name)} as {_PORTABLE_TYPES[kind]}) as {_identifier(name)}"
            if kind in _PORTABLE_TYPES
            else _identifier(name)
            for name, kind, *_ in columns
        )
        literal = "'" + str(path).replace("'", "''") + "'"
        con.execute(f"copy (select {select} from frame) to {literal} (format parquet)")


def read_parquet_frame(path: Path) -> pd.DataFrame:
    """The Parquet files under ``path`` (a file or a folder), in file order, as dbt-duckdb
    gives a relation to a Python model (``.df()``)."""
    pattern = str(path / "*.parquet") if path.is_dir() else str(path)
    with duckdb.connect() as con:
        con.execute("set preserve_insertion_order = true")
        # Spark writes its timestamps as UTC instants; they are plain UTC timestamps here,
        # as the session's time zone is UTC (profiles.yml)
        con.execute("set TimeZone = 'UTC'")
        scan = con.sql("select * from read_parquet(?)", params=[pattern])
        select = ", ".join(
            f"cast({_identifier(name)} as timestamp) as {_identifier(name)}"
            if str(kind) == "TIMESTAMP WITH TIME ZONE"
            else _identifier(name)
            for name, kind in zip(scan.columns, scan.types, strict=True)
        )
        return con.execute(f"select {select} from read_parquet(?)", [pattern]).df()


class SparkTableStore:
    """Tables of the running Spark session, moved through Parquet files in a scratch folder."""

    def __init__(self, spark, scratch: Path | None = None) -> None:
        self._spark = spark
        self._scratch = Path(scratch or tempfile.mkdtemp(prefix="clv-spark-stage-"))
        self._count = 0

    def _next(self) -> Path:
        self._count += 1
        return self._scratch / f"frame_{self._count}"

    def read(self, relation: str, where: str | None, order: str | None) -> pd.DataFrame:
        query = f"select * from {relation}"
        if where is not None:
            query += f" where {where}"
        if order is not None:
            query += f" order by {order}"
        folder = self._next()
        # one file, in the query's order (coalesce keeps a sort's partitions in order)
        self._spark.sql(query).coalesce(1).write.mode("overwrite").parquet(str(folder))
        try:
            return read_parquet_frame(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def write(self, relation: str, frame: pd.DataFrame) -> None:
        folder = self._next()
        folder.mkdir(parents=True)
        write_frame_parquet(frame, folder / "part-0.parquet")
        schema = relation.split(".")[0]
        self._spark.sql(f"create schema if not exists {schema}")
        self._spark.sql(f"drop table if exists {relation}")
        self._spark.read.parquet(str(folder)).write.format("parquet").saveAsTable(relation)
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
