"""What the dbt Python models call: customer-level frames in, the model's table out.

Each function here is one dbt Python model's whole body, so the model files stay thin
(config, ``dbt.ref``, one call). Settings arrive as the strings dbt renders from YAML
``config:`` (vars); ``*_settings`` parse them and refuse a missing value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence

import lifetimes
import numpy as np
import pandas as pd

from clv_warehouse.modeling import boosting, btyd, distributions
from clv_warehouse.modeling import metrics_distribution as judged
from clv_warehouse.modeling.boosting import BoostingSettings, TrainedModel
from clv_warehouse.modeling.btyd import BtydSettings

# Baseline outputs at each cutoff that XGBoost may use as features (int_model_inputs).
BASELINE_FEATURES = (
    "btyd_expected_purchases",
    "btyd_p_alive",
    "btyd_purchase_probability",
    "btyd_predicted_revenue",
)
PHASES = ("backtest", "production")
# The forecast distribution columns beyond purchase_probability and predicted_revenue.
SPREAD_COLUMNS = tuple(
    c
    for c in distributions.DISTRIBUTION_COLUMNS
    if c not in ("purchase_probability", "predicted_revenue")
)
# Cutoffs whose predictions reach marts.predictions get the whole distribution.
DISTRIBUTION_ROLES = ("backtest", "scoring")

# The column types of each output table. An output can be empty (nothing to score) or have a
# column that is all missing (no drivers for the backtest phase); without declared types DuckDB
# would guess INTEGER for those columns and the marts' contracts would fail.
TEXT, FLOAT, COUNT, FLAG, DATE = "string", "float64", "Int64", "boolean", "datetime64[us]"
BTYD_FIT_TYPES = {
    "cutoff_date": DATE,
    "cutoff_role": TEXT,
    "status": TEXT,
    "message": TEXT,
    "customers": COUNT,
    "repeat_buyers": COUNT,
    "time_unit_days": FLOAT,
    **dict.fromkeys(
        ("r", "alpha", "a", "b", "bgnbd_penalizer", "bgnbd_mean_log_likelihood"), FLOAT
    ),
    "bgnbd_attempts": TEXT,
    **dict.fromkeys(("p", "q", "v", "gamma_gamma_penalizer"), FLOAT),
    "gamma_gamma_attempts": TEXT,
    "frequency_monetary_correlation": FLOAT,
    "fit_seconds": FLOAT,
    "horizon_days": COUNT,
    "model_version": TEXT,
    "fitted_at_date": DATE,
}
BTYD_PREDICTION_TYPES = {
    "cutoff_date": DATE,
    "customer_id": TEXT,
    **dict.fromkeys(btyd.PREDICTION_COLUMNS, FLOAT),
    **dict.fromkeys(SPREAD_COLUMNS, FLOAT),
    "is_valid_output": FLAG,
    "prediction_key": TEXT,
}
XGBOOST_FIT_TYPES = {
    "phase": TEXT,
    "scored_cutoff_date": TEXT,
    **dict.fromkeys(("target", "status", "message", "features", "categories"), TEXT),
    "hyperparameters": TEXT,
    "rounds": COUNT,
    "training_rows": COUNT,
    **dict.fromkeys(("training_cutoffs", "validation_cutoff", "validation_metric"), TEXT),
    "validation_score": FLOAT,
    "search": TEXT,
    "calibration": TEXT,
    "calibration_status": TEXT,
    "fit_seconds": FLOAT,
    **dict.fromkeys(("xgboost_version", "model_version", "model_json"), TEXT),
}
XGBOOST_PREDICTION_TYPES = {
    "cutoff_date": DATE,
    "customer_id": TEXT,
    "phase": TEXT,
    "model_version": TEXT,
    "predicted_revenue": FLOAT,
    "purchase_probability": FLOAT,
    **dict.fromkeys(SPREAD_COLUMNS, FLOAT),
    **{
        name: kind
        for k in (1, 2, 3)
        for name, kind in ((f"driver_{k}_feature", TEXT), (f"driver_{k}_contribution", FLOAT))
    },
}
IMPORTANCE_TYPES = {
    "phase": TEXT,
    "cutoff_date": DATE,
    "target": TEXT,
    "feature_name": TEXT,
    "mean_abs_shap": FLOAT,
    "importance_rank": COUNT,
    "importance_share": FLOAT,
    "model_version": TEXT,
}
METRIC_TYPES = {
    "cutoff_date": DATE,
    "model_name": TEXT,
    "is_reference": FLAG,
    "n_customers": COUNT,
    **dict.fromkeys(judged.DISTRIBUTION_METRIC_KEYS[1:], FLOAT),
    "mae_log1p_point": FLOAT,
}
# The two forecasts every metrics table shows beside the models (metrics_distribution).
REFERENCE_MODELS = ("all_zeros", "best_constant")


def typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The frame with exactly these columns, in this order, of these types."""
    return frame.reindex(columns=list(types)).astype(types)


def _required(name: str, value):
    """A config value as dbt renders it (JSON text), parsed; missing or null is an error."""
    parsed = json.loads(value) if isinstance(value, str) and value.strip() else value
    if parsed is None or (isinstance(parsed, str) and not parsed.strip()):
        raise ValueError(f"model config {name!r} is missing: set it in the model's YAML config")
    return parsed


def btyd_settings(
    *, horizon_days, time_unit_days, penalizers, clv_months, monthly_discount_rate
) -> BtydSettings:
    return BtydSettings(
        horizon_days=int(_required("horizon_days", horizon_days)),
        time_unit_days=float(_required("btyd_time_unit_days", time_unit_days)),
        penalizers=tuple(float(p) for p in _required("btyd_penalizers", penalizers)),
        clv_months=int(_required("clv_months", clv_months)),
        monthly_discount_rate=float(_required("monthly_discount_rate", monthly_discount_rate)),
    )


def boosting_settings(
    *, horizon_days, seed, search_candidates, max_rounds, early_stopping_rounds, threads
) -> BoostingSettings:
    return BoostingSettings(
        horizon_days=int(_required("horizon_days", horizon_days)),
        seed=int(_required("xgboost_seed", seed)),
        search_candidates=int(_required("xgboost_search_candidates", search_candidates)),
        max_rounds=int(_required("xgboost_max_rounds", max_rounds)),
        early_stopping_rounds=int(
            _required("xgboost_early_stopping_rounds", early_stopping_rounds)
        ),
        threads=int(_required("xgboost_threads", threads)),
    )


def _config_object(name: str, rendered) -> dict:
    values = _required(name, rendered)
    if not isinstance(values, dict):
        raise ValueError(f"model config {name!r} must be a JSON object, got {rendered!r}")
    return values


def btyd_settings_from_config(rendered) -> BtydSettings:
    """BtydSettings from the one JSON object a model's ``btyd_settings`` config holds."""
    values = _config_object("btyd_settings", rendered)
    names = ("horizon_days", "time_unit_days", "penalizers", "clv_months", "monthly_discount_rate")
    return btyd_settings(**{name: values.get(name) for name in names})


def boosting_settings_from_config(rendered) -> BoostingSettings:
    """BoostingSettings from the JSON object of a model's ``xgboost_settings`` config."""
    values = _config_object("xgboost_settings", rendered)
    names = ("horizon_days", "seed", "search_candidates", "max_rounds", "early_stopping_rounds")
    return boosting_settings(**{name: values.get(name) for name in (*names, "threads")})


# --- BG/NBD + Gamma-Gamma -------------------------------------------------------------------


def btyd_model_version(fit: btyd.BtydFit) -> str | None:
    if not fit.is_fitted:
        return None
    params = [fit.r, fit.alpha, fit.a, fit.b, fit.p, fit.q, fit.v, fit.time_unit_days]
    digest = hashlib.sha256(json.dumps([f"{x:.10g}" for x in params]).encode()).hexdigest()
    return f"lifetimes-{lifetimes.__version__}+{digest[:12]}"


def btyd_fit_table(
    rfm: pd.DataFrame, settings: BtydSettings, scoring_rfm: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per cutoff: both models fitted on that cutoff's RFM summary, with diagnostics.

    ``rfm`` is marts.customer_rfm (cutoff_date, cutoff_role, frequency, recency, T,
    monetary_value in days). ``scoring_rfm``, when given, is the summary the scoring cutoff's
    production fit is fitted on instead: int_customer_rfm_at_training_end, whose
    training_end_date becomes the row's fitted_at_date.
    """
    rows = []
    for (cutoff, role), group in rfm.groupby(["cutoff_date", "cutoff_role"], sort=True):
        fitted_at = cutoff
        if role == "scoring" and scoring_rfm is not None:
            group = scoring_rfm.sort_values("customer_id", kind="stable", ignore_index=True)
            fitted_at = group["training_end_date"].iloc[0] if len(group) else cutoff
        fit = btyd.fit_btyd(group, settings)
        record = fit.as_record()
        record["bgnbd_attempts"] = json.dumps(record["bgnbd_attempts"])
        record["gamma_gamma_attempts"] = json.dumps(record["gamma_gamma_attempts"])
        rows.append(
            {
                "cutoff_date": cutoff,
                "cutoff_role": role,
                **record,
                "horizon_days": settings.horizon_days,
                "model_version": btyd_model_version(fit),
                "fitted_at_date": fitted_at,
            }
        )
    return typed(pd.DataFrame(rows, columns=list(BTYD_FIT_TYPES)), BTYD_FIT_TYPES)


def btyd_prediction_table(
    fits: pd.DataFrame,
    rfm: pd.DataFrame,
    settings: BtydSettings,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer per cutoff: the fitted baseline's predictions for the horizon.

    ``previous`` is this table as the last build left it (a score job passes it): a cutoff
    whose prediction key is unchanged keeps those rows instead of being predicted again.
    """
    fits_by_cutoff = {_date_key(row["cutoff_date"]): row for row in fits.to_dict("records")}
    held = _rows_by_cutoff(previous)
    parts = []
    for cutoff, group in rfm.groupby("cutoff_date", sort=True):
        record = fits_by_cutoff.get(_date_key(cutoff))
        if record is None:
            raise ValueError(f"no BG/NBD fit for cutoff {cutoff}: rebuild btyd_fits first")
        key = btyd_prediction_key(record, settings, group)
        kept = held.get(_date_key(cutoff))
        if kept is not None and len(kept) == len(group) and (kept["prediction_key"] == key).all():
            parts.append(kept[list(BTYD_PREDICTION_TYPES)])
            continue
        fit = btyd.fit_from_record(record)
        predicted = btyd.predict_btyd(fit, group, settings)
        if str(group["cutoff_role"].iloc[0]) in DISTRIBUTION_ROLES:
            # One seed per cutoff: the same draws whatever other cutoffs the run has.
            seed = [settings.seed, pd.Timestamp(cutoff).toordinal()]
            spread = btyd.revenue_distribution(fit, group, predicted, settings, seed)
            predicted = predicted.join(spread[list(SPREAD_COLUMNS)])
        predicted.insert(0, "customer_id", group["customer_id"].to_numpy())
        predicted.insert(0, "cutoff_date", cutoff)
        predicted["prediction_key"] = key
        parts.append(predicted)
    if not parts:
        return typed(pd.DataFrame(), BTYD_PREDICTION_TYPES)
    table = typed(pd.concat(parts, ignore_index=True), BTYD_PREDICTION_TYPES)
    return table.sort_values(["cutoff_date", "customer_id"], kind="stable", ignore_index=True)


# What a cutoff's BG/NBD predictions are computed from, besides its settings.
_FIT_KEY_FIELDS = ("status", "time_unit_days", "r", "alpha", "a", "b", "p", "q", "v")
_RFM_KEY_COLUMNS = ("customer_id", "cutoff_role", "frequency", "recency", "T", "monetary_value")


def btyd_prediction_key(record: dict, settings: BtydSettings, group: pd.DataFrame) -> str:
    """A hash of everything one cutoff's predictions are a function of: the fit's exact
    parameters, the prediction settings and the cutoff's RFM rows (its date seeds the draws).
    Equal keys give equal rows, which is what lets a score job keep them."""
    fit = [
        None if record.get(name) is None or pd.isna(record.get(name)) else record[name]
        for name in _FIT_KEY_FIELDS
    ]
    fit = [float(value).hex() if isinstance(value, float | int) else value for value in fit]
    rows = group.sort_values("customer_id", kind="stable")[list(_RFM_KEY_COLUMNS)]
    digest = hashlib.sha256(
        json.dumps(
            [_date_key(group["cutoff_date"].iloc[0]), fit, dataclasses.asdict(settings)],
            sort_keys=True,
            default=str,
        ).encode()
    )
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:24]


def _rows_by_cutoff(previous: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if previous is None or previous.empty or "prediction_key" not in previous.columns:
        return {}
    return {
        _date_key(cutoff): rows.reset_index(drop=True)
        for cutoff, rows in previous.groupby("cutoff_date", sort=False)
    }


def _date_key(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


# --- XGBoost ------------------------------------------------------------------------------------


def model_features(catalog: pd.DataFrame, use_baseline_features) -> list[str]:
    """The model inputs of reference.feature_catalog, in catalog order, plus the baseline's
    when ``use_baseline_features`` (a bool, or the JSON text dbt renders) is true."""
    use_baseline = _required("xgboost_use_baseline_features", use_baseline_features)
    if not isinstance(use_baseline, bool):
        raise ValueError(
            f"xgboost_use_baseline_features must be true or false, got {use_baseline!r}"
        )
    inputs = catalog.loc[catalog["is_model_input"].astype(bool), "feature_name"].tolist()
    return inputs + (list(BASELINE_FEATURES) if use_baseline else [])


def phase_rows(inputs: pd.DataFrame, phase: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, rows to score) of one phase.

    backtest    train on cutoffs whose label window ends by the backtest cutoff; score it
    production  train on every cutoff with a complete label; score the scoring cutoff
    Only training-eligible rows (complete label, returns not exceeding purchases) train.
    """
    eligible = inputs["is_training_eligible"].astype(bool)
    if phase == "backtest":
        train = inputs[eligible & inputs["is_backtest_training_cutoff"].astype(bool)]
        score = inputs[inputs["cutoff_role"] == "backtest"]
    elif phase == "production":
        train = inputs[eligible & inputs["is_label_complete"].astype(bool)]
        score = inputs[inputs["cutoff_role"] == "scoring"]
    else:
        raise ValueError(f"unknown phase {phase!r}: expected one of {PHASES}")
    return train, score


def xgboost_fit_table(
    inputs: pd.DataFrame, features: Sequence[str], settings: BoostingSettings
) -> pd.DataFrame:
    """One row per phase and target: the trained booster (JSON) and how it was chosen.

    The hyperparameter search runs once, in the backtest phase, so the backtest measures the
    exact configuration production uses; production refits it on every labelled cutoff and
    only re-chooses the number of rounds by early stopping on its own latest cutoff.
    """
    inputs = inputs.sort_values(["cutoff_date", "customer_id"], kind="stable", ignore_index=True)
    rows, chosen = [], {}
    for phase in PHASES:
        train, score = phase_rows(inputs, phase)
        scored_cutoff = _date_key(score["cutoff_date"].iloc[0]) if len(score) else None
        for target in (boosting.SPEND, boosting.PURCHASE):
            model = boosting.train_model(
                train, features, target, settings, hyperparameters=chosen.get(target)
            )
            if phase == "backtest" and model.is_trained and model.validation_cutoff:
                chosen[target] = model.hyperparameters
            rows.append({"phase": phase, "scored_cutoff_date": scored_cutoff, **model.as_record()})
    return typed(pd.DataFrame(rows), XGBOOST_FIT_TYPES)


def _trained(fits: pd.DataFrame, phase: str, target: str) -> TrainedModel | None:
    match = fits[(fits["phase"] == phase) & (fits["target"] == target)]
    if match.empty:
        return None
    model = TrainedModel.from_record(match.iloc[0].to_dict())
    return model if model.is_trained else None


def xgboost_prediction_table(fits: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    """One row per customer at the backtest and scoring cutoffs, for each phase whose two
    boosters trained: the hurdle model's forecast distribution (calibrated purchase
    probability x log-normal spend) and, at the scoring cutoff (the customers marketers act
    on), the three features that move the expected revenue most.

    A driver's contribution is on the log scale of expected revenue, log p + log E[spend]:
    the spend model's SHAP value plus the purchase model's times (1 - p), the slope of log p
    in the log-odds its SHAP values are measured in.
    """
    inputs = inputs.sort_values(["cutoff_date", "customer_id"], kind="stable", ignore_index=True)
    parts = []
    for phase in PHASES:
        spend = _trained(fits, phase, boosting.SPEND)
        purchase = _trained(fits, phase, boosting.PURCHASE)
        _, score = phase_rows(inputs, phase)
        if spend is None or purchase is None or score.empty:
            continue
        probability = boosting.predict_purchase(purchase, score)
        mu, sigma = boosting.predict_spend(spend, score)
        forecast = distributions.forecast_columns(
            probability, distributions.lognormal_spend(mu, sigma)
        )
        if phase == "production":
            shap = boosting.contributions(spend, score) + boosting.contributions(
                purchase, score
            ).mul(1 - probability, axis=0)
            drivers = boosting.top_drivers(shap)
        else:
            drivers = boosting.no_drivers(len(score))
        part = pd.DataFrame(
            {
                "cutoff_date": score["cutoff_date"].to_numpy(),
                "customer_id": score["customer_id"].to_numpy(),
                "phase": phase,
                "model_version": _combined_version(spend, purchase),
            }
        )
        parts.append(pd.concat([part, forecast, drivers.reset_index(drop=True)], axis=1))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return typed(table, XGBOOST_PREDICTION_TYPES)


def _combined_version(spend: TrainedModel, purchase: TrainedModel) -> str:
    calibration = json.dumps([spend.calibration, purchase.calibration], sort_keys=True)
    models = spend.model_json + purchase.model_json + calibration
    digest = hashlib.sha256(models.encode()).hexdigest()
    return f"xgboost-{boosting.xgb.__version__}+{digest[:12]}"


def xgboost_importance_table(
    fits: pd.DataFrame, inputs: pd.DataFrame, sample_rows: int, seed: int
) -> pd.DataFrame:
    """Mean |SHAP| per feature for each phase and target, over the customers it scored (a
    seeded sample of ``sample_rows`` of them when there are more: exact SHAP values cost
    time in proportion to the rows explained)."""
    inputs = inputs.sort_values(["cutoff_date", "customer_id"], kind="stable", ignore_index=True)
    parts = []
    for phase in PHASES:
        _, score = phase_rows(inputs, phase)
        if len(score) > sample_rows:
            score = score.sample(n=sample_rows, random_state=seed).sort_index()
        for target in (boosting.SPEND, boosting.PURCHASE):
            model = _trained(fits, phase, target)
            if model is None or score.empty:
                continue
            importance = boosting.mean_absolute_shap(boosting.contributions(model, score))
            importance.insert(0, "target", target)
            importance.insert(0, "cutoff_date", score["cutoff_date"].iloc[0])
            importance.insert(0, "phase", phase)
            importance["model_version"] = model.model_version
            parts.append(importance)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return typed(table, IMPORTANCE_TYPES)


# --- evaluation ----------------------------------------------------------------------------


def backtest_metric_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per model at the backtest cutoff, each output judged by its own rule
    (clv_warehouse.modeling.metrics_distribution): the expectation by totals, errors, R^2,
    deciles and Gini (with its seeded bootstrap interval); the point by RMSLE; the
    probability by AUC, Brier and log loss; the quantiles by coverage and pinball loss. The
    reference forecasts all_zeros and best_constant get rows of their own (is_reference).

    ``outcomes`` is int_backtest_outcomes: model_name, customer_id, the forecast columns,
    actual_revenue, actual_has_purchase. Naive has no spend law for customers who did not buy
    in the last horizon (null spend quantiles): they count as outside their spend range.
    """
    rows = []
    for cutoff, at_cutoff in outcomes.groupby("cutoff_date", sort=True):
        reference = None
        for model_name, group in at_cutoff.groupby("model_name", sort=True):
            group = group.sort_values("customer_id", kind="stable")
            rows.append(judge_forecast(cutoff, model_name, False, group))
            reference = group
        ids = reference["customer_id"].astype(str).to_numpy()
        forecasts = judged.reference_forecasts(
            reference["actual_revenue"].astype(float).to_numpy(),
            reference["actual_has_purchase"].astype(bool).to_numpy(),
            ids,
        )
        for name in REFERENCE_MODELS:
            rows.append(judge_forecast(cutoff, name, True, forecasts[name].assign(customer_id=ids)))
    return typed(pd.DataFrame(rows), METRIC_TYPES)


def judge_forecast(cutoff, model_name: str, is_reference: bool, group: pd.DataFrame) -> dict:
    """One metrics row of one model's forecast at one cutoff (``group``: one row per customer
    with the forecast columns, actual_revenue and actual_has_purchase); also what forecast
    monitoring scores each earlier run with (clv_warehouse.modeling.monitoring)."""
    spend = [c for c in judged.FORECAST_COLUMNS if c.startswith("spend_if_purchase")]
    frame = group.assign(
        customer_id=group["customer_id"].astype(str),
        actual_has_purchase=group["actual_has_purchase"].astype(bool),
        **{column: group[column].astype(float).fillna(0.0) for column in spend},
    )
    values = judged.distribution_metrics(frame)
    point = frame["predicted_revenue_point"].astype(float).to_numpy()
    actual = frame["actual_revenue"].astype(float).clip(lower=0).to_numpy()
    values["mae_log1p_point"] = float(np.mean(np.abs(np.log1p(point) - np.log1p(actual))))
    return {"cutoff_date": cutoff, "model_name": model_name, "is_reference": is_reference, **values}
