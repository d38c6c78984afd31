"""Model releases: what `clv train` fits, and what `clv score` applies every day after.

A release is the production models of one training run: the BG/NBD + Gamma-Gamma fits of
every cutoff of the grid (modeling.btyd_fits), the XGBoost boosters with their calibration
(modeling.xgboost_fits), the feature list they read and the settings that shape those
features (the *feature contract*), the training cutoffs and the backtest metrics. Its id is a
hash of the models and the contract, so the same models give the same id.

A score build does not fit: btyd_fits and xgboost_fits return the release's rows, re-dated
to the new scoring cutoff (``applied_btyd_fits``, ``applied_xgboost_fits``), after checking
that the grid and the features are the ones the release was trained on; every model after
them runs as in a training build. Pandas in, pandas out, like the rest of the package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pandas as pd

from clv_warehouse.modeling import tables

# The settings, besides the feature list, that change what a feature means: a release trained
# under other values would read the inputs wrongly.
CONTRACT_SETTINGS = ("horizon_days", "time_unit_days")
WHAT_TO_DO = (
    "run `clv train` to train a release on the current features and settings,"
    " or score with the settings the release was trained with"
)


class ReleaseMismatch(ValueError):
    """The release cannot be applied to this build; the message says why and what to do."""


def feature_contract(
    features: Sequence[str], catalog: pd.DataFrame, settings: dict
) -> dict[str, object]:
    """What the release's models read: the ordered feature list, a hash of the catalog rows
    that define them and the settings that shape them."""
    rows = catalog.sort_values("feature_name", kind="stable")
    catalog_text = rows.astype(str).to_csv(index=False)
    return {
        "features": list(features),
        "catalog_hash": hashlib.sha256(catalog_text.encode()).hexdigest()[:16],
        **{name: settings.get(name) for name in CONTRACT_SETTINGS},
    }


def release_contract_from_config(
    features: Sequence[str], catalog: pd.DataFrame, settings, time_unit_days
) -> dict[str, object]:
    """The feature contract of xgboost_fits: ``settings`` its BoostingSettings,
    ``time_unit_days`` the rendered btyd_time_unit_days config."""
    return feature_contract(
        features,
        catalog,
        {
            "horizon_days": settings.horizon_days,
            "time_unit_days": tables._required("btyd_time_unit_days", time_unit_days),
        },
    )


def released_fit_table(fits: pd.DataFrame, btyd_fits: pd.DataFrame, contract: dict) -> pd.DataFrame:
    """xgboost_fits of a training build with the id of the release it makes and its contract."""
    return fits.assign(
        release_id=release_id(btyd_fits, fits, contract),
        feature_contract=json.dumps(contract, sort_keys=True),
    ).astype({"release_id": "string", "feature_contract": "string"})


def contract_hash(contract: dict) -> str:
    return hashlib.sha256(json.dumps(contract, sort_keys=True).encode()).hexdigest()[:16]


def release_id(btyd_fits: pd.DataFrame, xgboost_fits: pd.DataFrame, contract: dict) -> str:
    """``release-<hash>`` of the production models (the scoring cutoff's BG/NBD fit and the
    production boosters with their calibration) and the contract."""
    scoring = btyd_fits[btyd_fits["cutoff_role"] == "scoring"]
    production = xgboost_fits[xgboost_fits["phase"] == "production"].sort_values("target")
    parts = {
        "btyd": [None if pd.isna(v) else str(v) for v in scoring["model_version"]],
        "xgboost": [
            [str(t), None if pd.isna(v) else str(v), str(c)]
            for t, v, c in production[["target", "model_version", "calibration"]].itertuples(
                index=False
            )
        ],
        "contract": contract_hash(contract),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"release-{digest[:12]}"


def _cutoff_roles(cutoffs: pd.DataFrame) -> tuple[str, dict[str, str]]:
    """(scoring cutoff 'YYYY-MM-DD', {other cutoff: role}) of the build's grid."""
    keyed = {tables._date_key(d): str(r) for d, r in cutoffs[["cutoff_date", "cutoff_role"]].values}
    scoring = [d for d, r in keyed.items() if r == "scoring"]
    if len(scoring) != 1:
        raise ReleaseMismatch(f"the grid has {len(scoring)} scoring cutoffs, not one")
    return scoring[0], {d: r for d, r in keyed.items() if r != "scoring"}


def applied_btyd_fits(release_rows: pd.DataFrame, cutoffs: pd.DataFrame, name: str) -> pd.DataFrame:
    """The release's BG/NBD fits for this build's grid: every cutoff but the scoring one as
    trained, and the release's scoring fit moved to the new scoring cutoff."""
    scoring, others = _cutoff_roles(cutoffs)
    held = {tables._date_key(d): r for d, r in release_rows[["cutoff_date", "cutoff_role"]].values}
    trained = {d: r for d, r in held.items() if r != "scoring"}
    if trained != others:
        missing = sorted(set(others) - set(trained))
        extra = sorted(set(trained) - set(others))
        raise ReleaseMismatch(
            f"{name} was trained on another cutoff grid (this build has"
            f" {', '.join(missing[:3]) or 'no new cutoff'}"
            f"{' ...' if len(missing) > 3 else ''}; the release has"
            f" {', '.join(extra[:3]) or 'no other cutoff'}{' ...' if len(extra) > 3 else ''}):"
            " horizon_days, the snapshot vars or training_anchor changed since; " + WHAT_TO_DO
        )
    rows = release_rows.assign(cutoff_date=pd.to_datetime(release_rows["cutoff_date"]))
    is_scoring = rows["cutoff_role"] == "scoring"
    if is_scoring.sum() != 1:
        raise ReleaseMismatch(f"{name} holds {int(is_scoring.sum())} scoring fits, not one")
    rows["cutoff_date"] = rows["cutoff_date"].where(~is_scoring, pd.Timestamp(scoring))
    rows = rows.sort_values("cutoff_date", kind="stable", ignore_index=True)
    return tables.typed(rows[list(tables.BTYD_FIT_TYPES)], tables.BTYD_FIT_TYPES)


def applied_xgboost_fits(
    release_rows: pd.DataFrame, cutoffs: pd.DataFrame, contract: dict, name: str
) -> pd.DataFrame:
    """The release's boosters for this build: refused unless the build's feature contract is
    the release's; the production phase then scores the new scoring cutoff."""
    trained = json.loads(str(release_rows["feature_contract"].iloc[0]))
    if trained != json.loads(json.dumps(contract, sort_keys=True)):
        raise ReleaseMismatch(f"{name} {describe_difference(trained, contract)}; {WHAT_TO_DO}")
    scoring, _ = _cutoff_roles(cutoffs)
    rows = release_rows.copy()
    production = rows["phase"] == "production"
    rows["scored_cutoff_date"] = rows["scored_cutoff_date"].where(~production, scoring)
    return tables.typed(rows[list(tables.XGBOOST_FIT_TYPES)], tables.XGBOOST_FIT_TYPES).assign(
        release_id=rows["release_id"].astype("string"),
        feature_contract=rows["feature_contract"].astype("string"),
    )


def describe_difference(trained: dict, current: dict) -> str:
    """One clause: how the build's features differ from the release's."""
    old, new = list(trained.get("features", [])), list(current.get("features", []))
    if old != new:
        dropped = [f for f in old if f not in new]
        added = [f for f in new if f not in old]
        if dropped or added:
            return (
                "was trained on other features (missing now: "
                f"{', '.join(dropped[:5]) or 'none'}; new: {', '.join(added[:5]) or 'none'})"
            )
        return "was trained on the same features in another order"
    if trained.get("catalog_hash") != current.get("catalog_hash"):
        return "was trained with another reference.feature_catalog (its definitions changed)"
    changed = [
        f"{key} {trained.get(key)} -> {current.get(key)}"
        for key in CONTRACT_SETTINGS
        if trained.get(key) != current.get(key)
    ]
    return "was trained with other feature settings (" + ", ".join(changed) + ")"


def release_settings_from_config(rendered) -> tuple[str, str | None]:
    """(job, release id) from the release_settings dbt renders into the fit models' config."""
    values = tables._config_object("release_settings", rendered)
    job = str(values.get("job") or "train").strip().lower()
    if job not in ("train", "score"):
        raise ValueError(f"the var job must be train or score, got {job!r}")
    release = str(values.get("release_id") or "").strip() or None
    if job == "score" and release is None:
        raise ValueError("a score build needs a release: run `clv score`, which names one")
    return job, release


def release_rows(payload: pd.DataFrame, release: str, part: str) -> pd.DataFrame:
    """The rows of one model table (``part``: btyd_fits or xgboost_fits) stored in the
    release ``release`` of modeling.model_releases."""
    match = payload[payload["release_id"] == release]
    if match.empty:
        raise ReleaseMismatch(
            f"no release {release} in modeling.model_releases: run `clv train`, or name one"
            " that `clv releases` lists"
        )
    return pd.DataFrame(json.loads(str(match[part].iloc[0])))
