"""Locations and settings shared by the ``clv`` command and the tests.

Every setting is an environment variable that dbt reads too (profiles.yml and
macros/inputs/input_settings.sql), so running ``dbt build`` by hand with the same
variables gives the same warehouse as ``clv build``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = Path("warehouse") / "clv_warehouse.duckdb"
LAYOUTS = ("cdnow", "online_retail", "generic")
# dbt's own default input (macros/inputs/input_settings.sql, _cdnow__sources.yml), relative to
# the project folder. The warehouse records each loaded file under the name DuckDB expands this
# glob to, so every entry point must read the default file through this same glob.
DEFAULT_CDNOW_GLOB = ".venv/lib/python3*/site-packages/lifetimes/datasets/CDNOW_master.txt"


def cdnow_master_path() -> Path:
    """The CDNOW master file shipped inside the ``lifetimes`` package."""
    return Path(str(resources.files("lifetimes") / "datasets" / "CDNOW_master.txt"))


def is_dbt_default_input(path: Path, project_dir: Path = PROJECT_DIR) -> bool:
    """True when ``path`` is the file dbt reads by default (DEFAULT_CDNOW_GLOB)."""
    matches = sorted(project_dir.glob(DEFAULT_CDNOW_GLOB))
    try:
        return len(matches) == 1 and os.path.samefile(path, matches[0])
    except OSError:
        return False


def cdnow_sample_path() -> Path:
    """The 1/10 CDNOW sample (2,357 customers) shipped inside ``lifetimes``."""
    return Path(str(resources.files("lifetimes") / "datasets" / "CDNOW_sample.txt"))


@dataclass(frozen=True)
class BuildSettings:
    """What one build reads and where it writes."""

    layout: str = "cdnow"
    input_path: Path | None = None
    warehouse_path: Path = DEFAULT_WAREHOUSE
    as_of_date: str | None = None
    # the generic layout's mapping as JSON (CLV_GENERIC_COLUMNS); None leaves the caller's
    generic_columns: str | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}: choose one of {', '.join(LAYOUTS)}")

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> BuildSettings:
        environ = os.environ if environ is None else environ
        input_path = environ.get("CLV_INPUT_PATH")
        return cls(
            layout=environ.get("CLV_INPUT_LAYOUT", "cdnow").strip().lower(),
            input_path=Path(input_path) if input_path else None,
            warehouse_path=Path(environ.get("CLV_DUCKDB_PATH", str(DEFAULT_WAREHOUSE))),
            as_of_date=environ.get("CLV_AS_OF_DATE") or None,
        )

    def resolved_input_path(self) -> Path:
        """The input file; for the CDNOW layout it defaults to the file inside lifetimes."""
        if self.input_path is not None:
            return self.input_path
        if self.layout == "cdnow":
            return cdnow_master_path()
        raise ValueError(
            f"the {self.layout} layout needs an input file: pass --input or set CLV_INPUT_PATH"
        )

    def absolute_warehouse_path(self) -> Path:
        path = self.warehouse_path
        return path if path.is_absolute() else PROJECT_DIR / path

    def environment(
        self, base: Mapping[str, str] | None = None, project_dir: Path = PROJECT_DIR
    ) -> dict[str, str]:
        """The environment dbt runs in: the caller's, plus these settings.

        The CDNOW file dbt reads by default is left to dbt's own default path (not passed
        as CLV_INPUT_PATH), so `clv build`, `make run`, plain `dbt build` and `dbt docs
        generate` all load it under the same name and can follow each other.
        """
        env = dict(os.environ if base is None else base)
        env.update(
            {
                "DO_NOT_TRACK": "1",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "CLV_INPUT_LAYOUT": self.layout,
                "CLV_INPUT_PATH": str(self.resolved_input_path()),
                "CLV_DUCKDB_PATH": str(self.absolute_warehouse_path()),
            }
        )
        if self.layout == "cdnow" and is_dbt_default_input(self.resolved_input_path(), project_dir):
            del env["CLV_INPUT_PATH"]
        env.setdefault(
            "CLV_DUCKDB_TEMP_DIR", str(self.absolute_warehouse_path().parent / "duckdb_tmp")
        )
        if self.generic_columns is not None:
            env["CLV_GENERIC_COLUMNS"] = self.generic_columns
        if self.as_of_date:
            env["CLV_AS_OF_DATE"] = self.as_of_date
        else:
            env.pop("CLV_AS_OF_DATE", None)
        return env


def input_files(pattern: str | Path, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The files an input path or glob matches, sorted, as dbt's DuckDB reader expands it
    (DuckDB's glob(); a relative pattern is read from the project folder)."""
    with duckdb.connect() as con:
        return [
            file
            for (file,) in con.execute(
                "select file from glob(?) order by file", [str(project_dir / pattern)]
            ).fetchall()
        ]


def missing_input_message(pattern: str | Path, layout: str) -> str:
    """No file matches the input path: the line macros/inputs/check_input_file.sql gives on a
    dbt build, with the clv options instead of dbt's vars."""
    return (
        f"Input file not found: no file matches '{pattern}' (layout {layout}). Set the file with"
        " --input or CLV_INPUT_PATH (relative paths are read from the project directory; globs"
        " such as data/*.csv are allowed)."
    )


def files_of_another_input(settings: BuildSettings, project_dir: Path = PROJECT_DIR) -> list[str]:
    """The files the warehouse loaded (main.clv_input_files) when none of them is in the
    settings' input: the warehouse holds another input. [] when it holds none, part of this
    input, or no record (dbt's own checks of an incremental load then speak)."""
    warehouse = settings.absolute_warehouse_path()
    if not warehouse.exists():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            loaded = [
                file
                for (file,) in con.execute(
                    "select source_file from main.clv_input_files order by source_file"
                ).fetchall()
            ]
        pattern = settings.environment(project_dir=project_dir).get(
            "CLV_INPUT_PATH", DEFAULT_CDNOW_GLOB
        )
        current = {os.path.realpath(file) for file in input_files(pattern, project_dir)}
    except duckdb.Error:
        return []
    if not loaded or any(os.path.realpath(project_dir / file) in current for file in loaded):
        return []
    return loaded


def dbt_executable() -> str:
    """The dbt of the running interpreter's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    arguments: Sequence[str],
    settings: BuildSettings,
    *,
    project_dir: Path = PROJECT_DIR,
    capture: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one dbt command on the project with the given settings."""
    settings.absolute_warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    env = settings.environment(project_dir=project_dir)
    env.update(extra_env or {})
    command = [
        dbt_executable(),
        *arguments,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    return subprocess.run(
        command,
        cwd=project_dir,
        env=env,
        text=True,
        capture_output=capture,
        check=False,
    )
