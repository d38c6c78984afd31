"""Where model releases are kept: modeling.model_releases in the warehouse and one folder
per release under ``warehouse/models/``.

`clv train` (and `clv build`, the same job) keeps the release its build made, after the
build: the production models in modeling.btyd_fits and modeling.xgboost_fits, the feature
contract, the training cutoffs and the backtest metrics, as one row. dbt never writes this
table, so `dbt build --full-refresh` keeps the releases. `clv score` reads the latest one (or
the one named) and the score build's fit models return its rows
(clv_warehouse/modeling/releases.py). The folder holds the same release as files: the
boosters as XGBoost JSON, loadable anywhere, and release.json with everything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from clv_warehouse.connections import has_table

TABLE = "modeling.model_releases"
CREATE = f"""
create table if not exists {TABLE} (
    release_id varchar primary key,
    trained_at timestamp not null,
    training_end_date date not null,
    scoring_cutoff_date date not null,
    backtest_cutoff_date date not null,
    training_cutoffs varchar not null,
    feature_contract varchar not null,
    btyd_fits varchar not null,
    xgboost_fits varchar not null,
    backtest_metrics varchar not null
)
"""
LISTED = (
    "release_id, trained_at, training_end_date, scoring_cutoff_date, backtest_cutoff_date,"
    " training_cutoffs, feature_contract"
)


# The models a score build leaves as the release's training build made them: the training
# end's RFM summary, the backtest and the release's feature importance do not change until
# the next `clv train`.
TRAIN_ONLY_MODELS = (
    "int_customer_rfm_at_training_end",
    "int_backtest_outcomes",
    "backtest_metric_values",
    "backtest_metrics",
    "backtest_calibration",
    "backtest_level_accuracy",
    "xgboost_feature_importance",
    "feature_importance",
)


def score_build_arguments() -> list[str]:
    """The dbt build arguments of a score job (`clv score`, `clv bench`): every model but
    the training-only ones; no unit tests, which check the code a training build checked."""
    return [
        "build",
        "--exclude",
        *TRAIN_ONLY_MODELS,
        "--exclude-resource-type",
        "unit_test",
    ]


def score_environment(release: Release) -> dict[str, str]:
    """What tells dbt to apply ``release`` (macros/forecasts/training_calendar.sql)."""
    return {
        "CLV_JOB": "score",
        "CLV_RELEASE_ID": release.release_id,
        "CLV_RELEASE_TRAINING_END_DATE": release.training_end_date,
    }


class ReleaseError(Exception):
    """A release cannot be kept or found; the message says what to do."""


@dataclass(frozen=True)
class Release:
    release_id: str
    trained_at: str
    training_end_date: str
    scoring_cutoff_date: str
    backtest_cutoff_date: str
    training_cutoffs: list[str]
    features: list[str]

    @classmethod
    def from_row(cls, row: tuple) -> Release:
        release, trained, end, scoring, backtest, cutoffs, contract = row
        return cls(
            release_id=release,
            trained_at=str(trained)[:19],
            training_end_date=str(end),
            scoring_cutoff_date=str(scoring),
            backtest_cutoff_date=str(backtest),
            training_cutoffs=json.loads(cutoffs),
            features=json.loads(contract)["features"],
        )


def _records(frame: pd.DataFrame) -> str:
    """The frame as JSON records, dates as ISO text, floats exact: pandas' to_json keeps 10
    decimals, so a stored BG/NBD parameter came back about 1e-10 off the trained one; Python's
    json writes the shortest text that reads back as the same double."""
    records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            for record, value in zip(records, frame[column].tolist(), strict=True):
                exact = not pd.isna(value) and math.isfinite(value)
                record[column] = float(value) if exact else None
    return json.dumps(records)


def keep_release(warehouse: Path, models_dir: Path) -> tuple[Release, bool]:
    """Keep the release of the training build in ``warehouse``; (release, newly kept)."""
    with duckdb.connect(str(warehouse)) as con:
        for schema, name in (("modeling", "xgboost_fits"), ("modeling", "btyd_fits")):
            if not has_table(con, schema, name):
                raise ReleaseError(f"{warehouse} has no {schema}.{name}: run `clv train` first")
        xgboost_fits = con.execute(
            "select * from modeling.xgboost_fits order by phase, target"
        ).df()
        btyd_fits = con.execute("select * from modeling.btyd_fits order by cutoff_date").df()
        cutoffs = con.execute(
            "select cutoff_date, cutoff_role, training_end_date, scoring_cutoff_date,"
            " backtest_cutoff_date from marts.cutoffs order by cutoff_date"
        ).df()
        metrics = con.execute("select * from marts.backtest_metrics order by model_name").df()
        ids = xgboost_fits["release_id"].dropna().unique().tolist()
        if len(ids) != 1:
            raise ReleaseError(
                f"modeling.xgboost_fits names {len(ids)} releases, not one: run `clv train` again"
            )
        release_id = str(ids[0])
        con.execute("create schema if not exists modeling")
        con.execute(CREATE)
        held = con.execute(f"select count(*) from {TABLE} where release_id = ?", [release_id])
        is_new = held.fetchone()[0] == 0
        first = cutoffs.iloc[0]
        training = cutoffs.loc[cutoffs["cutoff_role"] != "scoring", "cutoff_date"]
        if is_new:
            con.execute(
                f"insert into {TABLE} values (?, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    release_id,
                    first["training_end_date"],
                    first["scoring_cutoff_date"],
                    first["backtest_cutoff_date"],
                    json.dumps([str(d)[:10] for d in training]),
                    str(xgboost_fits["feature_contract"].iloc[0]),
                    _records(btyd_fits),
                    _records(xgboost_fits),
                    _records(metrics),
                ],
            )
        kept = con.execute(f"select {LISTED} from {TABLE} where release_id = ?", [release_id])
        release = Release.from_row(kept.fetchone())
    write_release_files(release, xgboost_fits, btyd_fits, metrics, models_dir)
    return release, is_new


def write_release_files(
    release: Release,
    xgboost_fits: pd.DataFrame,
    btyd_fits: pd.DataFrame,
    metrics: pd.DataFrame,
    models_dir: Path,
) -> Path:
    """``<models_dir>/<release_id>/``: each booster as XGBoost JSON and release.json."""
    folder = models_dir / release.release_id
    folder.mkdir(parents=True, exist_ok=True)
    boosters = []
    for row in xgboost_fits.to_dict("records"):
        if row.get("model_json") is None or pd.isna(row.get("model_json")):
            continue
        name = f"xgboost_{row['phase']}_{row['target']}.json"
        (folder / name).write_text(str(row["model_json"]))
        boosters.append({"file": name, "phase": row["phase"], "target": row["target"]})
    described = {
        **release.__dict__,
        "boosters": boosters,
        "feature_contract": json.loads(str(xgboost_fits["feature_contract"].iloc[0])),
        "xgboost_fits": json.loads(_records(xgboost_fits.drop(columns=["model_json"]))),
        "btyd_fits": json.loads(_records(btyd_fits)),
        "backtest_metrics": json.loads(_records(metrics)),
    }
    (folder / "release.json").write_text(json.dumps(described, indent=2, default=str) + "\n")
    return folder


def list_releases(warehouse: Path) -> list[Release]:
    """Every kept release, newest first (none when no training build was kept)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if not has_table(con, "modeling", "model_releases"):
            return []
        rows = con.execute(
            f"select {LISTED} from {TABLE} order by trained_at desc, release_id"
        ).fetchall()
    return [Release.from_row(row) for row in rows]


def find_release(warehouse: Path, release_id: str | None) -> Release:
    """The release named, or the latest; a ReleaseError says what to do when there is none."""
    releases = list_releases(warehouse)
    if not releases:
        raise ReleaseError(
            f"{warehouse} holds no model release: run `clv train` (or `clv build`) first"
        )
    if release_id is None:
        return releases[0]
    for release in releases:
        if release.release_id == release_id:
            return release
    known = ", ".join(r.release_id for r in releases[:5])
    raise ReleaseError(
        f"no release {release_id!r} in {warehouse} (kept: {known}); see `clv releases`"
    )
