"""XGBoost as a hurdle model on stacked training snapshots: a purchase classifier, and a
log-normal spend model among the customers who bought, with a modelled spread.

Revenue in the horizon is 0 with chance 1 - p, else a spend S with log S ~ Normal(mu, sigma^2):
p comes from the classifier, mu from a regressor of log spend trained on buyers only, and
sigma from the out-of-time residuals of that regressor, by depth of purchase history
(clv_warehouse.modeling.distributions turns (p, mu, sigma) into the forecast columns).

Pure functions on customer-level frames (one row per customer per cutoff, the columns of
``marts.training_snapshots`` plus the baseline's outputs). Only the native ``xgboost.train``
API is used. Every random step is seeded, so the same frame and settings give the same
models, byte for byte.

Time-based validation: the latest training cutoff is the validation cutoff. Candidates are
trained on the cutoffs whose label windows end by the validation cutoff (so nothing observed
on or after it is used) and stopped early on the validation cutoff; the best candidate is
then refit on every training cutoff with the number of rounds early stopping chose.

Calibration is fitted on the validation cutoff only, on the predictions of the search
booster that never saw it: Platt scaling of the purchase probability (buying declines over
time, so models trained on earlier cutoffs over-predict it), a monotone two-parameter map
of mu (mu' = c0 + c1 mu, c1 > 0) and the spread of log spend around it. Without a usable
validation cutoff the calibration is the identity, sigma comes from the training residuals,
and ``calibration["status"]`` says why.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xgboost as xgb

from clv_warehouse.modeling import metrics
from clv_warehouse.modeling.calibration import (
    apply_purchase_calibration,
    apply_spend_calibration,
    fit_purchase_calibration,
    fit_spend_calibration,
    spread_bucket,
    spreads,
)

SPEND = "spend"
PURCHASE = "purchase"
LOG_SPEND = "log_spend:squarederror"

# The bounded search space; candidates are drawn from it without replacement (seeded). Depth
# stops at 6: exact SHAP values cost grows with leaves x depth^2 per tree and customer.
SPEND_SEARCH_SPACE = {
    "objective": (LOG_SPEND,),
    "max_depth": (3, 4, 6),
    "eta": (0.03, 0.1),
    "min_child_weight": (1, 10, 50),
}
PURCHASE_SEARCH_SPACE = {
    "objective": ("binary:logistic",),
    "max_depth": (3, 4, 6),
    "eta": (0.03, 0.1),
    "min_child_weight": (1, 10, 50),
}
DEFAULT_CANDIDATES = {
    SPEND: {"objective": LOG_SPEND, "max_depth": 4, "eta": 0.1, "min_child_weight": 10},
    PURCHASE: {"objective": "binary:logistic", "max_depth": 4, "eta": 0.1, "min_child_weight": 10},
}


@dataclass(frozen=True)
class BoostingSettings:
    """Search budget and fixed training parameters."""

    horizon_days: int
    seed: int = 20240601
    search_candidates: int = 8
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    # Rounds when there is no validation cutoff to stop on (a single training cutoff).
    fallback_rounds: int = 200
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    threads: int = 2

    def __post_init__(self) -> None:
        if self.search_candidates < 1:
            raise ValueError(f"search_candidates must be >= 1, got {self.search_candidates}")
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days must be positive, got {self.horizon_days}")


@dataclass
class TrainedModel:
    """One trained booster and everything needed to score and explain with it."""

    target: str
    status: str
    message: str
    features: list[str]
    categories: dict[str, list[str]]
    hyperparameters: dict
    rounds: int
    training_rows: int
    training_cutoffs: list[str]
    validation_cutoff: str | None
    validation_metric: str
    validation_score: float | None
    search: list[dict] = field(default_factory=list)
    fit_seconds: float = 0.0
    model_json: str = ""
    # Fitted on the validation cutoff (module docstring): see fit_calibration.
    calibration: dict = field(default_factory=dict)
    _booster: xgb.Booster | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def is_trained(self) -> bool:
        return bool(self.model_json)

    @property
    def model_version(self) -> str:
        digest = hashlib.sha256(self.model_json.encode()).hexdigest()[:12]
        return f"xgboost-{xgb.__version__}+{digest}"

    def booster(self) -> xgb.Booster:
        """The booster, parsed from model_json once."""
        if self._booster is None:
            self._booster = xgb.Booster()
            self._booster.load_model(bytearray(self.model_json.encode()))
        return self._booster

    def as_record(self) -> dict:
        return {
            "target": self.target,
            "status": self.status,
            "message": self.message,
            "features": json.dumps(self.features),
            "categories": json.dumps(self.categories, sort_keys=True),
            "hyperparameters": json.dumps(self.hyperparameters, sort_keys=True),
            "rounds": self.rounds,
            "training_rows": self.training_rows,
            "training_cutoffs": json.dumps(self.training_cutoffs),
            "validation_cutoff": self.validation_cutoff,
            "validation_metric": self.validation_metric,
            "validation_score": self.validation_score,
            "search": json.dumps(self.search, sort_keys=True),
            "calibration": json.dumps(self.calibration, sort_keys=True),
            "calibration_status": self.calibration.get("status"),
            "fit_seconds": self.fit_seconds,
            "xgboost_version": xgb.__version__,
            "model_version": self.model_version if self.is_trained else None,
            "model_json": self.model_json or None,
        }

    @classmethod
    def from_record(cls, record: dict) -> TrainedModel:
        return cls(
            target=record["target"],
            status=record["status"],
            message=record["message"],
            features=json.loads(record["features"]),
            categories=json.loads(record["categories"]),
            hyperparameters=json.loads(record["hyperparameters"]),
            rounds=int(record["rounds"]),
            training_rows=int(record["training_rows"]),
            training_cutoffs=json.loads(record["training_cutoffs"]),
            validation_cutoff=_none_if_nan(record["validation_cutoff"]),
            validation_metric=record["validation_metric"],
            validation_score=_none_if_nan(record["validation_score"]),
            search=json.loads(record["search"]),
            calibration=json.loads(record["calibration"] or "{}"),
            fit_seconds=float(record["fit_seconds"]),
            model_json=_none_if_nan(record["model_json"]) or "",
        )


def _none_if_nan(value):
    """None for a missing value as a table hands it back (None, NaN or pandas NA)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


# --- features ------------------------------------------------------------------------------


def category_levels(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, list[str]]:
    """The sorted levels of every text feature: fixed codes for training and scoring."""
    levels = {}
    for name in features:
        column = frame[name]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            levels[name] = sorted(str(v) for v in column.dropna().unique())
    return levels


def feature_matrix(
    frame: pd.DataFrame, features: Sequence[str], categories: dict[str, list[str]]
) -> pd.DataFrame:
    """Model inputs as floats and fixed-level categoricals; unseen levels become missing.

    A text feature with no level at all in training (the layout has no such column) is an
    all-missing numeric column: XGBoost never splits on it.
    """
    columns = {}
    for name in features:
        if name in categories and not categories[name]:
            columns[name] = np.full(len(frame), np.nan)
        elif name in categories:
            known = set(categories[name])
            values = [
                text if (text := None if pd.isna(v) else str(v)) in known else None
                for v in frame[name].astype("object")
            ]
            columns[name] = pd.Categorical(values, categories=categories[name])
        else:
            columns[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
    return pd.DataFrame(columns, index=frame.index)


def _dmatrix(matrix: pd.DataFrame, label=None) -> xgb.DMatrix:
    return xgb.DMatrix(matrix, label=label, enable_categorical=True, nthread=1)


# --- targets and objectives ------------------------------------------------------------------


def training_rows(target: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows a target learns from: every customer for purchase, buyers for spend."""
    if target == SPEND:
        return frame[frame["label_revenue"].astype(float) > 0]
    return frame


def _training_label(target: str, frame: pd.DataFrame) -> np.ndarray:
    if target == PURCHASE:
        return frame["label_has_purchase"].astype(float).to_numpy()
    return np.log(frame["label_revenue"].astype(float).to_numpy())


def _booster_params(candidate: dict, settings: BoostingSettings) -> dict:
    return {
        "objective": (
            "reg:squarederror" if candidate["objective"] == LOG_SPEND else candidate["objective"]
        ),
        "max_depth": candidate["max_depth"],
        "eta": candidate["eta"],
        "min_child_weight": candidate["min_child_weight"],
        "subsample": settings.subsample,
        "colsample_bytree": settings.colsample_bytree,
        "tree_method": "hist",
        "seed": settings.seed,
        "nthread": settings.threads,
        "max_cat_to_onehot": 8,
    }


def early_stopping_metric(params: dict) -> str:
    """What a booster stops early on: its own objective's loss on the validation cutoff."""
    return {"reg:squarederror": "rmse", "binary:logistic": "logloss"}[params["objective"]]


def validation_metric(target: str) -> str:
    return "rmse_log_spend" if target == SPEND else "log_loss"


def _score(target: str, label: np.ndarray, raw: np.ndarray) -> float:
    if target == PURCHASE:
        return metrics.log_loss(label, raw)
    return float(np.sqrt(np.mean((label - raw) ** 2)))


def search_candidates(target: str, settings: BoostingSettings) -> list[dict]:
    """The default candidate, then a seeded sample of the rest of the grid."""
    space = SPEND_SEARCH_SPACE if target == SPEND else PURCHASE_SEARCH_SPACE
    names = sorted(space)
    grid = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(space[n] for n in names))
    ]
    default = DEFAULT_CANDIDATES[target]
    others = [c for c in grid if c != default]
    rng = np.random.default_rng(settings.seed)
    picked = rng.choice(
        len(others), size=min(settings.search_candidates - 1, len(others)), replace=False
    )
    return [default, *(others[i] for i in sorted(picked))]


# --- training --------------------------------------------------------------------------------


def split_for_validation(cutoffs: Sequence[str], horizon_days: int) -> tuple[list[str], str | None]:
    """(search-training cutoffs, validation cutoff) from the sorted training cutoffs.

    The validation cutoff is the latest; search training uses the cutoffs whose label window
    [C, C + H) ends by it. Without such a cutoff there is no honest validation: (all, None).
    """
    ordered = sorted(cutoffs)
    if len(ordered) < 2:
        return ordered, None
    validation = ordered[-1]
    limit = pd.Timestamp(validation) - pd.Timedelta(days=horizon_days)
    earlier = [c for c in ordered[:-1] if pd.Timestamp(c) <= limit]
    if not earlier:
        return ordered, None
    return earlier, validation


def train_model(
    frame: pd.DataFrame,
    features: Sequence[str],
    target: str,
    settings: BoostingSettings,
    hyperparameters: dict | None = None,
) -> TrainedModel:
    """Search, then refit the best candidate on every cutoff in ``frame`` (labelled rows only),
    and calibrate it on the validation cutoff.

    ``frame`` has cutoff_date, the features and label_revenue / label_has_purchase; the spend
    model keeps the rows with label_revenue > 0. Given ``hyperparameters`` (a candidate
    chosen elsewhere), only the number of rounds is chosen, by early stopping on the
    validation cutoff.
    """
    started = time.perf_counter()
    features = list(features)
    frame = training_rows(target, frame)
    cutoffs = sorted({str(c)[:10] for c in frame["cutoff_date"]})
    categories = category_levels(frame, features)
    model = TrainedModel(
        target=target,
        status="trained",
        message="",
        features=features,
        categories=categories,
        hyperparameters={},
        rounds=0,
        training_rows=len(frame),
        training_cutoffs=cutoffs,
        validation_cutoff=None,
        validation_metric=validation_metric(target),
        validation_score=None,
    )
    if len(frame) == 0:
        model.status = "not_trained"
        model.message = (
            "no labelled training rows"
            + (" with a purchase: nothing to learn" if target == SPEND else "")
            + "; XGBoost falls back to naive predictions"
        )
        return model
    label = _training_label(target, frame)
    if np.unique(label).size < 2:
        model.status = "not_trained"
        model.message = (
            f"every {target} training label is {label[0]:.6g}: nothing to learn;"
            " XGBoost falls back to naive predictions"
        )
        return model

    cutoff_text = frame["cutoff_date"].astype(str).str[:10]
    search_cutoffs, validation = split_for_validation(cutoffs, settings.horizon_days)
    matrix = feature_matrix(frame, features, categories)
    validated = None
    if validation is None:
        best = DEFAULT_CANDIDATES[target]
        rounds = settings.fallback_rounds
        model.message = (
            "no validation cutoff with an earlier, fully observed training cutoff:"
            f" default hyperparameters and {rounds} rounds, no search"
        )
    else:
        fit_rows = cutoff_text.isin(search_cutoffs).to_numpy()
        valid_rows = (cutoff_text == validation).to_numpy()
        candidates = [hyperparameters] if hyperparameters else search_candidates(target, settings)
        best, rounds, validated = _search(
            matrix, label, target, fit_rows, valid_rows, candidates, settings, model
        )
        model.validation_cutoff = validation
        if best is None:
            model.status = "not_trained"
            model.message = (
                f"every candidate predicted non-finite values on the validation cutoff"
                f" {validation}: XGBoost falls back to naive predictions"
            )
            model.fit_seconds = time.perf_counter() - started
            return model

    booster = xgb.train(
        _booster_params(best, settings), _dmatrix(matrix, label), num_boost_round=rounds
    )
    model.hyperparameters = dict(best)
    model.rounds = rounds
    model.model_json = booster.save_raw(raw_format="json").decode()
    model.calibration = _calibrate(target, frame, label, booster, matrix, validated)
    if model.calibration["status"] != "fitted":
        model.message = "; ".join(
            m for m in (model.message, f"calibration {model.calibration['status']}") if m
        )
    model.fit_seconds = time.perf_counter() - started
    return model


def _calibrate(target, frame, label, booster, matrix, validated) -> dict:
    """The calibration of the refitted booster, from the validation cutoff's out-of-time
    predictions (``validated``: (rows, labels, raw predictions)), or the identity."""
    if validated is not None:
        rows, valid_label, valid_raw = validated
        if target == PURCHASE:
            return fit_purchase_calibration(valid_label, valid_raw)
        fitted = fit_spend_calibration(valid_label, valid_raw, spread_bucket(frame[rows]))
        if fitted["status"] == "fitted":
            return fitted
        reason = fitted["status"]
    else:
        reason = "not_fitted: no validation cutoff"
    if target == PURCHASE:
        return {"a": 0.0, "b": 1.0, "status": reason}
    # Identity map; the spread from the training residuals (smaller than out of time).
    residuals = label - _raw(booster, _dmatrix(matrix))
    return {"c0": 0.0, "c1": 1.0, **spreads(residuals, spread_bucket(frame)), "status": reason}


def _search(
    matrix, label, target, fit_rows, valid_rows, candidates, settings, model
) -> tuple[dict | None, int, tuple | None]:
    """Each candidate stops early on its own loss on the validation cutoff; candidates are
    then compared on one metric of what they predict there (validation_metric). Returns
    the best candidate, its rounds and (validation rows, labels, its predictions there)."""
    best, best_rounds, best_score, validated = None, 0, math.inf, None
    train_set = _dmatrix(matrix[fit_rows], label[fit_rows])
    valid_set = _dmatrix(matrix[valid_rows], label[valid_rows])
    for candidate in candidates:
        params = _booster_params(candidate, settings)
        params["eval_metric"] = early_stopping_metric(params)
        booster = xgb.train(
            params,
            train_set,
            num_boost_round=settings.max_rounds,
            evals=[(valid_set, "validation")],
            early_stopping_rounds=settings.early_stopping_rounds,
            verbose_eval=False,
        )
        rounds = booster.best_iteration + 1
        raw_fit, raw_valid = _raw(booster, train_set, rounds), _raw(booster, valid_set, rounds)
        if not (np.isfinite(raw_fit).all() and np.isfinite(raw_valid).all()):
            model.search.append({**candidate, "rounds": rounds, "score": None})
            continue
        score = _score(target, label[valid_rows], raw_valid)
        model.search.append({**candidate, "rounds": rounds, "score": round(score, 6)})
        if score < best_score:
            best, best_rounds, best_score = candidate, rounds, score
            validated = (valid_rows, label[valid_rows], raw_valid)
    model.validation_score = best_score if best is not None else None
    return best, best_rounds, validated


def _raw(booster: xgb.Booster, data: xgb.DMatrix, rounds: int | None = None) -> np.ndarray:
    """Predictions on the response scale: log spend, or a probability."""
    return booster.predict(data, iteration_range=(0, rounds) if rounds else (0, 0))


# --- scoring and explaining -------------------------------------------------------------------


def predict_raw(model: TrainedModel, frame: pd.DataFrame) -> np.ndarray:
    """The booster's own prediction (log spend, or a probability), before calibration."""
    matrix = feature_matrix(frame, model.features, model.categories)
    return model.booster().predict(_dmatrix(matrix))


def predict_purchase(model: TrainedModel, frame: pd.DataFrame) -> np.ndarray:
    """Calibrated purchase probability of each row, inside (0, 1)."""
    return apply_purchase_calibration(model.calibration, predict_raw(model, frame))


def predict_spend(model: TrainedModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of each row's log spend if they buy, calibrated."""
    return apply_spend_calibration(
        model.calibration, predict_raw(model, frame), spread_bucket(frame)
    )


def contributions(model: TrainedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """SHAP values from XGBoost's own ``pred_contribs``: one column per feature, on the
    model's margin scale (log spend for spend, log-odds for purchase); the bias column is
    dropped."""
    matrix = feature_matrix(frame, model.features, model.categories)
    values = model.booster().predict(_dmatrix(matrix), pred_contribs=True)
    return pd.DataFrame(values[:, :-1], columns=model.features, index=frame.index)


def top_drivers(shap: pd.DataFrame, count: int = 3) -> pd.DataFrame:
    """Each row's ``count`` features with the largest |SHAP|, ties broken by feature order."""
    values = shap.to_numpy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :count]
    names = np.asarray(shap.columns)
    out = {}
    for k in range(count):
        out[f"driver_{k + 1}_feature"] = names[order[:, k]]
        out[f"driver_{k + 1}_contribution"] = values[np.arange(len(values)), order[:, k]]
    return pd.DataFrame(out, index=shap.index)


def no_drivers(rows: int, count: int = 3) -> pd.DataFrame:
    """The columns of top_drivers, all missing."""
    out = {}
    for k in range(count):
        out[f"driver_{k + 1}_feature"] = pd.Series([None] * rows, dtype=object)
        out[f"driver_{k + 1}_contribution"] = np.full(rows, np.nan)
    return pd.DataFrame(out)


def mean_absolute_shap(shap: pd.DataFrame) -> pd.DataFrame:
    """Global importance: mean |SHAP| per feature, ranked (1 = most important)."""
    importance = shap.abs().mean(axis=0)
    result = pd.DataFrame({"feature_name": importance.index, "mean_abs_shap": importance.values})
    result = result.sort_values(["mean_abs_shap", "feature_name"], ascending=[False, True])
    result["importance_rank"] = np.arange(1, len(result) + 1)
    total = result["mean_abs_shap"].sum()
    result["importance_share"] = result["mean_abs_shap"] / total if total > 0 else 0.0
    return result.reset_index(drop=True)
