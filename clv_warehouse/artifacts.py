"""Export the trained XGBoost boosters from a built warehouse as JSON files.

The warehouse keeps every booster in modeling.xgboost_fits (column model_json); this writes
each one to ``<dir>/xgboost_<phase>_<target>_<model_version>.json`` with a ``manifest.json``
that lists them with their hyperparameters, so a model can be loaded anywhere with
``xgboost.Booster().load_model(path)``. The version in the name is a hash of the booster, so
re-exporting an unchanged model rewrites the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb


def export_models(warehouse_path: Path, out_dir: Path) -> list[Path]:
    """Write every trained booster and a manifest; return the booster paths."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'modeling' and table_name = 'xgboost_fits'"
        ).fetchone()[0]
        if not exists:
            return []
        rows = con.execute(
            """
            select phase, target, model_version, xgboost_version, hyperparameters, rounds,
                   training_rows, training_cutoffs, features, categories, calibration,
                   scored_cutoff_date, model_json
            from modeling.xgboost_fits
            where model_json is not null
            order by phase, target
            """
        ).fetchall()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, manifest = [], []
    for (phase, target, version, library, hyper, rounds, rows_, cutoffs, features, categories,
         calibration, scored, model_json) in rows:  # fmt: skip
        safe_version = version.replace("+", "_")
        path = out_dir / f"xgboost_{phase}_{target}_{safe_version}.json"
        path.write_text(model_json)
        paths.append(path)
        manifest.append(
            {
                "file": path.name,
                "phase": phase,
                "target": target,
                "model_version": version,
                "xgboost_version": library,
                "hyperparameters": json.loads(hyper),
                "rounds": rounds,
                "training_rows": rows_,
                "training_cutoffs": json.loads(cutoffs),
                "features": json.loads(features),
                "categories": json.loads(categories),
                "calibration": json.loads(calibration),
                "scored_cutoff_date": scored,
            }
        )
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return paths
