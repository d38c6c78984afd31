"""Train on a schedule, score every day (issue: the production loop), through the `clv`
command as a user runs it, on a small generated online-retail file:

    clv train --as-of 2021-12-20   a release, trained through 2021-12-01
    clv train --as-of 2021-12-21   another day of the month: the same release, unchanged
    clv score --as-of 2021-12-22   that release at the new scoring cutoff, no fit
    (one more day of lines)
    clv score                      a new month began, a new file: the release still applies
    clv score with other features  refused, with what to do
    (a marker in yesterday's rows)
    clv score again                the BG/NBD rows of unchanged cutoffs are kept, not predicted
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from clv_warehouse.modeling import tables
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.synthetic import append_day, generate

pytestmark = pytest.mark.integration

# Small models: this test is about the jobs, not the fits.
QUICK = json.dumps({"xgboost_search_candidates": 1, "xgboost_max_rounds": 30})


def clv(work: Path, data: Path, *arguments: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "CLV_INPUT_LAYOUT": "online_retail",
        "CLV_INPUT_PATH": str(data / "lines-*.parquet"),
        "CLV_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "CLV_DUCKDB_TEMP_DIR": str(work / "duckdb_tmp"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    return subprocess.run(
        [sys.executable, "-m", "clv_warehouse.cli", *arguments],
        cwd=PROJECT_DIR,
        env=env,
        text=True,
        capture_output=True,
        timeout=1800,
    )


def succeeded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def rows(work: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


SCORED = """
    select distinct cast(cutoff_date as varchar), release_id from marts.predictions
    where cutoff_role = 'scoring'
"""
MODELS = """
    select phase, target, model_version, cast(scored_cutoff_date as varchar), release_id
    from modeling.xgboost_fits order by phase, target
"""

PREDICTION_KEYS = """
    select distinct cast(p.cutoff_date as varchar), c.cutoff_role, p.prediction_key
    from modeling.btyd_customer_predictions as p
    inner join marts.cutoffs as c on p.cutoff_date = c.cutoff_date
    order by 1
"""


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_and_score")
    data, work = root / "data", root / "work"
    generate("online_retail", 50_000, data, seed=11)
    steps = {}
    steps["train"] = succeeded(
        clv(work, data, "train", "--as-of", "2021-12-20", "--", "--vars", QUICK)
    )
    steps["train_models"] = rows(work, MODELS)
    steps["btyd_first"] = rows(work, "select * exclude (fit_seconds) from modeling.btyd_fits")
    # the data and unit tests passed in the first training build; they write no table
    steps["train_again"] = succeeded(
        clv(
            work,
            data,
            "train",
            "--as-of",
            "2021-12-21",
            "--",
            "--vars",
            QUICK,
            "--exclude-resource-type",
            "test",
            "unit_test",
        )
    )
    steps["train_again_models"] = rows(work, MODELS)
    steps["train_again_keys"] = rows(work, PREDICTION_KEYS)
    steps["btyd_again"] = rows(work, "select * exclude (fit_seconds) from modeling.btyd_fits")
    steps["score"] = succeeded(clv(work, data, "score", "--as-of", "2021-12-22"))
    steps["score_scored"] = rows(work, SCORED)
    steps["score_models"] = rows(work, MODELS)
    steps["score_keys"] = rows(work, PREDICTION_KEYS)
    append_day(data)
    new_as_of = json.loads((data / "manifest.json").read_text())["as_of_date"]
    steps["new_as_of"] = new_as_of
    steps["score_new_month"] = succeeded(clv(work, data, "score", "--as-of", new_as_of))
    steps["new_month_scored"] = rows(work, SCORED)
    steps["refused"] = clv(
        work,
        data,
        "score",
        "--as-of",
        new_as_of,
        "--",
        "--vars",
        json.dumps({"xgboost_use_baseline_features": False}),
    )
    steps["releases"] = succeeded(clv(work, data, "releases"))
    steps["btyd_predictions"] = btyd_predictions(work)
    steps["btyd_recomputed"] = recomputed_btyd_predictions(work)
    # A marker the next score keeps only if it keeps the rows instead of predicting them:
    # clv, which nothing downstream of a training cutoff reads, half a unit up.
    with duckdb.connect(str(work / "warehouse.duckdb")) as con:
        con.execute(f"update {BTYD_PREDICTIONS} set clv = clv + 0.5 where clv is not null")
    steps["score_again"] = succeeded(clv(work, data, "score", "--as-of", new_as_of))
    steps["btyd_after_marker"] = btyd_predictions(work)
    steps["work"] = work
    return steps


BTYD_PREDICTIONS = "modeling.btyd_customer_predictions"


def btyd_predictions(work: Path) -> pd.DataFrame:
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        frame = con.execute(f"select * from {BTYD_PREDICTIONS} order by all").df()
    return tables.typed(frame, tables.BTYD_PREDICTION_TYPES)


def recomputed_btyd_predictions(work: Path) -> pd.DataFrame:
    """What a train job's code predicts from the warehouse's fits and RFM rows now."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    (node,) = [n for n in manifest["nodes"].values() if n["name"] == "btyd_customer_predictions"]
    settings = tables.btyd_settings_from_config(node["config"]["btyd_settings"])
    with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
        fits = con.execute("select * from modeling.btyd_fits").df()
        rfm = con.execute("select * from marts.customer_rfm order by cutoff_date, customer_id").df()
    return tables.btyd_prediction_table(fits, rfm, settings)


def release_of(output: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith("release ")]
    return line.split()[1]


def test_training_on_another_day_of_the_month_gives_the_same_release(loop):
    first = release_of(loop["train"])
    assert "(new;" in loop["train"]
    assert "trained through 2021-12-01" in loop["train"]
    assert release_of(loop["train_again"]) == first
    assert "(unchanged;" in loop["train_again"]
    # the same boosters and BG/NBD fits; only the cutoff production scores moved a day
    assert [m[:3] for m in loop["train_models"]] == [m[:3] for m in loop["train_again_models"]]
    first_fits = [row[2:] for row in loop["btyd_first"]]
    assert first_fits == [row[2:] for row in loop["btyd_again"]]


def test_score_applies_the_release_at_the_new_cutoff_without_fitting(loop):
    release = release_of(loop["train"])
    assert loop["score_scored"] == [("2021-12-22", release)]
    assert [m[:3] for m in loop["score_models"]] == [m[:3] for m in loop["train_models"]]
    production = [m for m in loop["score_models"] if m[0] == "production"]
    assert {m[3] for m in production} == {"2021-12-22"}
    assert f"release     {release} (applied" in loop["score"]


def test_a_new_month_and_a_new_file_are_scored_with_the_same_release(loop):
    release = release_of(loop["train"])
    assert loop["new_month_scored"] == [(loop["new_as_of"], release)]
    history = rows(
        loop["work"],
        "select count(distinct run_id), count(distinct release_id) from marts.prediction_history",
    )
    # two trains and three scores (the refused one wrote nothing), all of one release
    assert history == [(5, 1)]
    grid = rows(
        loop["work"],
        "select count(*), min(cast(training_end_date as varchar)) from marts.cutoffs"
        " where cutoff_role <> 'scoring'",
    )
    assert grid[0][1] == "2021-12-01"
    # features were computed for the new scoring cutoff only; yesterday's are gone
    features = rows(
        loop["work"],
        "select count(distinct cutoff_date) from intermediate.int_customer_features_at_cutoffs",
    )
    assert features == [(grid[0][0] + 1,)]
    reconciled = rows(
        loop["work"], "select bool_and(is_reconciled) from marts.ingestion_reconciliation"
    )
    assert reconciled == [(True,)]


def test_score_refuses_a_release_trained_on_other_features(loop):
    refused = loop["refused"]
    assert refused.returncode != 0
    (said,) = [line for line in refused.stderr.splitlines() if line.startswith("clv score:")]
    assert "was trained on other features" in said
    assert "btyd_p_alive" in said
    assert "run `clv train`" in said


def test_releases_are_listed(loop):
    (line,) = loop["releases"].splitlines()
    assert line.startswith(release_of(loop["train"]))
    assert "through 2021-12-01" in line


def test_a_score_keeps_the_baseline_rows_of_every_unchanged_cutoff(loop):
    """A score predicts BG/NBD afresh only where a cutoff's fit, settings or RFM rows changed:
    the rows it kept equal what the code predicts now, and a marker written into them
    survives the next score (it would be overwritten by a prediction)."""
    kept = loop["btyd_predictions"]
    pd.testing.assert_frame_equal(kept, loop["btyd_recomputed"], check_exact=True)
    after = loop["btyd_after_marker"]
    pd.testing.assert_frame_equal(
        after.drop(columns="clv"), kept.drop(columns="clv"), check_exact=True
    )
    marked = kept["clv"].notna()
    assert marked.sum() > 0
    assert (after.loc[marked, "clv"] == kept.loc[marked, "clv"] + 0.5).all()


def test_the_first_score_after_training_keeps_the_trained_baseline_rows(loop):
    """The release holds the BG/NBD fits exactly, so the first score's keys of the trained
    cutoffs are the training build's and their rows are kept (the release once rounded the
    parameters to 10 decimals, and every cutoff was predicted again)."""
    trained = [row for row in loop["train_again_keys"] if row[1] != "scoring"]
    scored = [row for row in loop["score_keys"] if row[1] != "scoring"]
    assert len(trained) > 2
    assert scored == trained
