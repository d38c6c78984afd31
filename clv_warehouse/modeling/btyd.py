"""The probabilistic baseline: BG/NBD for purchase counts and Gamma-Gamma for spend.

Pure functions on customer-level frames in the lifetimes format (one row per customer:
``frequency``, ``recency``, ``T`` in days, ``monetary_value``), as ``marts.customer_rfm``
holds them. Time is rescaled to ``time_unit_days`` (weeks by default, as Fader, Hardie and
Lee fit CDNOW) before fitting; parameters are reported in that unit.

Failure modes are handled here, not in the dbt models:
- non-convergence: the fit is retried over a penalizer grid; the penalizer used is recorded;
- too little data (no repeat buyer): no fit, a status that says so, no exception;
- NaN, infinite or negative outputs: never returned as numbers; the row is flagged invalid.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

from clv_warehouse.modeling import bgnbd_counts, distributions

# One month for the discounted CLV, in days (lifetimes uses 30 as well).
DAYS_PER_MONTH = 30.0

FITTED = "fitted"
NO_CUSTOMERS = "no_customers"
NO_REPEAT_BUYERS = "no_repeat_buyers"
NOT_CONVERGED = "not_converged"
DEGENERATE = "degenerate"

# A fit whose parameters leave this range (in the fit's time unit) has run to a bound of
# the likelihood rather than to an interior optimum: a -> 0 with b -> infinity means nobody
# ever drops out, r and alpha -> infinity a purchase rate that is the same for everyone.
# (The published CDNOW fit: r 0.24, alpha 4.4 weeks, a 0.79, b 2.4; p 6.3, q 3.7, v 15.4.)
PARAMETER_RANGE = (1e-5, 1e5)
# A fit that tells at least this share of its repeat buyers that they are alive with
# probability >= ALIVE_CERTAINTY has no churn in it (CDNOW: 4% of repeat buyers).
ALIVE_CERTAINTY = 0.999
ALIVE_CERTAIN_SHARE = 0.9

PREDICTION_COLUMNS = (
    "expected_purchases",
    "p_alive",
    "purchase_probability",
    "expected_average_order_value",
    "predicted_revenue",
    "clv",
)


@dataclass(frozen=True)
class BtydSettings:
    """How the baseline is fitted and what it predicts."""

    horizon_days: int
    time_unit_days: float = 7.0
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
    clv_months: int = 12
    monthly_discount_rate: float = 0.01
    # Draws per customer of the revenue law (quantiles of spend, E[log1p]); seeded.
    distribution_draws: int = 400
    seed: int = 20240601

    def __post_init__(self) -> None:
        if self.distribution_draws < 10:
            raise ValueError(f"distribution_draws must be >= 10, got {self.distribution_draws}")
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days must be positive, got {self.horizon_days}")
        if self.time_unit_days <= 0:
            raise ValueError(f"time_unit_days must be positive, got {self.time_unit_days}")
        if not self.penalizers or any(p < 0 for p in self.penalizers):
            raise ValueError(
                f"penalizers must be a non-empty list of values >= 0: {self.penalizers}"
            )
        if self.clv_months <= 0:
            raise ValueError(f"clv_months must be positive, got {self.clv_months}")
        if not 0 <= self.monthly_discount_rate < 1:
            raise ValueError(
                f"monthly_discount_rate must be in [0, 1), got {self.monthly_discount_rate}"
            )


@dataclass
class BtydFit:
    """The outcome of fitting both models on one cutoff's RFM summary."""

    status: str
    message: str
    customers: int
    repeat_buyers: int
    time_unit_days: float
    r: float | None = None
    alpha: float | None = None
    a: float | None = None
    b: float | None = None
    bgnbd_penalizer: float | None = None
    bgnbd_mean_log_likelihood: float | None = None
    bgnbd_attempts: list[dict] = field(default_factory=list)
    p: float | None = None
    q: float | None = None
    v: float | None = None
    gamma_gamma_penalizer: float | None = None
    gamma_gamma_attempts: list[dict] = field(default_factory=list)
    # Gamma-Gamma assumes spend per purchase is independent of purchase frequency.
    frequency_monetary_correlation: float | None = None
    fit_seconds: float = 0.0

    @property
    def is_fitted(self) -> bool:
        return self.status == FITTED

    def as_record(self) -> dict:
        return asdict(self)


def _in_time_units(rfm: pd.DataFrame, time_unit_days: float) -> pd.DataFrame:
    _check_rfm(rfm)
    return pd.DataFrame(
        {
            "frequency": rfm["frequency"].to_numpy(dtype=float),
            "recency": rfm["recency"].to_numpy(dtype=float) / time_unit_days,
            "T": rfm["T"].to_numpy(dtype=float) / time_unit_days,
            "monetary_value": rfm["monetary_value"].to_numpy(dtype=float),
        }
    )


def _check_rfm(rfm: pd.DataFrame) -> None:
    missing = {"frequency", "recency", "T", "monetary_value"} - set(rfm.columns)
    if missing:
        raise ValueError(f"RFM frame lacks the columns {sorted(missing)}")
    values = rfm[["frequency", "recency", "T", "monetary_value"]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError("RFM frame has NaN or infinite values")
    if (values < 0).any():
        raise ValueError("RFM frame has negative values")
    if (rfm["recency"].to_numpy(dtype=float) > rfm["T"].to_numpy(dtype=float)).any():
        raise ValueError("RFM frame has recency > T")


def _quiet(call):
    """Run a lifetimes call without its prints and warnings (outcomes are recorded instead)."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        return call()


def _finite_positive(values) -> bool:
    return all(math.isfinite(x) and x > 0 for x in values)


def fit_btyd(rfm: pd.DataFrame, settings: BtydSettings) -> BtydFit:
    """Fit BG/NBD on every customer and Gamma-Gamma on the repeat buyers of one cutoff.

    Identical (frequency, recency, T) rows are collapsed into weights first: the likelihood
    is the same and the fit no longer grows with the number of customers.
    """
    started = time.perf_counter()
    data = _in_time_units(rfm, settings.time_unit_days)
    repeat = data[data["frequency"] > 0]
    fit = BtydFit(
        status=FITTED,
        message="",
        customers=len(data),
        repeat_buyers=len(repeat),
        time_unit_days=settings.time_unit_days,
    )
    if len(data) == 0:
        fit.status, fit.message = NO_CUSTOMERS, "no customer has a purchase before this cutoff"
    elif len(repeat) < 2:
        fit.status = NO_REPEAT_BUYERS
        fit.message = (
            f"{len(repeat)} repeat buyer(s) among {len(data)} customers: BG/NBD and Gamma-Gamma"
            " need customers with repeat purchases; the baseline falls back to naive predictions"
        )
    else:
        _fit_bgnbd(data, settings, fit)
        if fit.is_fitted:
            _fit_gamma_gamma(repeat, settings, fit)
        if fit.is_fitted:
            _check_not_degenerate(data, settings, fit)
        if len(repeat) > 2:
            corr = np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1]
            fit.frequency_monetary_correlation = float(corr) if np.isfinite(corr) else None
    fit.fit_seconds = time.perf_counter() - started
    return fit


def _fit_bgnbd(data: pd.DataFrame, settings: BtydSettings, fit: BtydFit) -> None:
    grouped = data.groupby(["frequency", "recency", "T"], as_index=False).size()
    for penalizer in settings.penalizers:
        model = BetaGeoFitter(penalizer_coef=penalizer)
        try:
            _quiet(
                lambda model=model: model.fit(
                    grouped["frequency"], grouped["recency"], grouped["T"], weights=grouped["size"]
                )
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
            fit.bgnbd_attempts.append({"penalizer": penalizer, "outcome": _first_line(error)})
            continue
        params = [float(model.params_[name]) for name in ("r", "alpha", "a", "b")]
        if not _finite_positive(params):
            fit.bgnbd_attempts.append({"penalizer": penalizer, "outcome": f"invalid {params}"})
            continue
        fit.bgnbd_attempts.append({"penalizer": penalizer, "outcome": "converged"})
        fit.r, fit.alpha, fit.a, fit.b = params
        fit.bgnbd_penalizer = penalizer
        fit.bgnbd_mean_log_likelihood = -float(model._negative_log_likelihood_)
        return
    fit.status = NOT_CONVERGED
    fit.message = (
        f"BG/NBD did not converge with any penalizer in {list(settings.penalizers)}; the"
        " baseline falls back to naive predictions"
    )


def _fit_gamma_gamma(repeat: pd.DataFrame, settings: BtydSettings, fit: BtydFit) -> None:
    spenders = repeat[repeat["monetary_value"] > 0]
    for penalizer in settings.penalizers:
        model = GammaGammaFitter(penalizer_coef=penalizer)
        try:
            _quiet(lambda model=model: model.fit(spenders["frequency"], spenders["monetary_value"]))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
            fit.gamma_gamma_attempts.append({"penalizer": penalizer, "outcome": _first_line(error)})
            continue
        params = [float(model.params_[name]) for name in ("p", "q", "v")]
        # The expected spend needs q > 1 (the mean of the inverse-gamma prior exists).
        if not _finite_positive(params) or params[1] <= 1:
            fit.gamma_gamma_attempts.append(
                {"penalizer": penalizer, "outcome": f"invalid {params}"}
            )
            continue
        fit.gamma_gamma_attempts.append({"penalizer": penalizer, "outcome": "converged"})
        fit.p, fit.q, fit.v = params
        fit.gamma_gamma_penalizer = penalizer
        return
    fit.status = NOT_CONVERGED
    fit.message = (
        f"Gamma-Gamma did not converge with any penalizer in {list(settings.penalizers)}; the"
        " baseline falls back to naive predictions"
    )


def _check_not_degenerate(data: pd.DataFrame, settings: BtydSettings, fit: BtydFit) -> None:
    """Mark a converged fit that cannot be used (status degenerate, with what was seen):
    parameters run to a bound, no churn left in the model, or outputs that are not numbers."""
    low, high = PARAMETER_RANGE
    named = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    named |= {"p": fit.p, "q": fit.q, "v": fit.v}
    outside = [f"{name} = {value:.3g}" for name, value in named.items() if not low <= value <= high]
    problems = []
    if outside:
        problems.append(
            f"parameters outside [{low:g}, {high:g}] (run to a bound): {', '.join(outside)}"
        )
    x, t_x, age = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    alive = np.asarray(_quiet(lambda: _bgnbd(fit).conditional_probability_alive(x, t_x, age)))
    repeat = x > 0
    certain = float(np.mean(alive[repeat] >= ALIVE_CERTAINTY)) if repeat.any() else 0.0
    if certain >= ALIVE_CERTAIN_SHARE:
        problems.append(
            f"p_alive >= {ALIVE_CERTAINTY} for {certain:.0%} of repeat buyers (nobody churns)"
        )
    horizon = settings.horizon_days / settings.time_unit_days
    expected = _quiet(lambda: expected_purchases(fit, x, age, horizon, alive))
    not_numbers = int(np.sum(~np.isfinite(alive) | ~np.isfinite(expected)))
    if not_numbers:
        problems.append(f"{not_numbers} of {len(x)} customers get NaN or infinite outputs")
    if problems:
        fit.status = DEGENERATE
        fit.message = (
            "BG/NBD + Gamma-Gamma fit is degenerate: "
            + "; ".join(problems)
            + ". The baseline falls back to naive predictions at this cutoff."
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def _bgnbd(fit: BtydFit) -> BetaGeoFitter:
    model = BetaGeoFitter()
    model.params_ = pd.Series({"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b})
    return model


def _gamma_gamma(fit: BtydFit) -> GammaGammaFitter:
    model = GammaGammaFitter()
    model.params_ = pd.Series({"p": fit.p, "q": fit.q, "v": fit.v})
    return model


def purchase_probability(
    fit: BtydFit, frequency, recency, age, horizon, p_alive=None
) -> np.ndarray:
    """P(at least one purchase in the next ``horizon`` time units | history), under BG/NBD.

    A customer who is alive and does not buy cannot drop out (BG/NBD drops out only right
    after a purchase), and given alive the purchase rate's posterior is
    Gamma(r + x, alpha + T). So P(no purchase | alive) = ((alpha + T) / (alpha + T + t))^(r + x)
    and P(purchase) = p_alive * (1 - that).
    """
    frequency, age = np.asarray(frequency, float), np.asarray(age, float)
    if p_alive is None:
        p_alive = _bgnbd(fit).conditional_probability_alive(frequency, recency, age)
    none_if_alive = bgnbd_counts.probability_of_none_if_alive(
        fit.r, fit.alpha, frequency, age, horizon
    )
    return np.asarray(p_alive, float) * (1.0 - none_if_alive)


def expected_purchases(fit: BtydFit, frequency, age, horizon, p_alive) -> np.ndarray:
    """E[purchases in the next ``horizon`` time units | history] under BG/NBD.

    p_alive x E[count | alive], summed from the count's distribution
    (clv_warehouse.modeling.bgnbd_counts): lifetimes' closed form loses every digit on
    fits with extreme parameters and could fall below P(at least one purchase).
    """
    if_alive = bgnbd_counts.expected_count_if_alive(
        fit.r, fit.alpha, fit.a, fit.b, frequency, age, horizon
    )
    return np.asarray(p_alive, float) * if_alive


def predict_btyd(fit: BtydFit, rfm: pd.DataFrame, settings: BtydSettings) -> pd.DataFrame:
    """Per-customer predictions for the next horizon and the discounted CLV.

    Returns the input's index with PREDICTION_COLUMNS and ``is_valid_output``. Values that
    come out NaN, infinite or negative are returned as NaN (written as NULL) with
    ``is_valid_output`` false; the caller counts them and falls back. Without a fit every row
    is invalid.
    """
    out = pd.DataFrame(index=rfm.index, columns=list(PREDICTION_COLUMNS), dtype=float)
    if not fit.is_fitted or len(rfm) == 0:
        out["is_valid_output"] = False
        return out
    data = _in_time_units(rfm, settings.time_unit_days)
    x, t_x, age = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    horizon = settings.horizon_days / settings.time_unit_days
    bgnbd, gamma_gamma = _bgnbd(fit), _gamma_gamma(fit)

    def compute() -> dict[str, np.ndarray]:
        alive = np.asarray(bgnbd.conditional_probability_alive(x, t_x, age), float)
        expected = expected_purchases(fit, x, age, horizon, alive)
        spend = gamma_gamma.conditional_expected_average_profit(
            pd.Series(x), pd.Series(data["monetary_value"].to_numpy())
        )
        spend = np.asarray(spend, float)
        return {
            "expected_purchases": np.asarray(expected, float),
            "p_alive": np.asarray(alive, float),
            "purchase_probability": purchase_probability(fit, x, t_x, age, horizon, alive),
            "expected_average_order_value": spend,
            "predicted_revenue": np.asarray(expected, float) * spend,
            "clv": discounted_clv(fit, x, age, alive, spend, settings),
        }

    values = _quiet(compute)
    for column, array in values.items():
        out[column] = array
    return sanitize_predictions(out)


def revenue_distribution(
    fit: BtydFit, rfm: pd.DataFrame, predicted: pd.DataFrame, settings: BtydSettings, seed
) -> pd.DataFrame:
    """The distribution columns (clv_warehouse.modeling.distributions) of each customer's
    next-horizon revenue under BG/NBD + Gamma-Gamma, from ``predict_btyd``'s output.

    Given at least one purchase, the count X is drawn from its exact law (bgnbd_counts) and
    the spend from the Gamma-Gamma posterior: the customer's spend rate nu ~ Gamma(q + p x,
    v + x m), and X purchases of Gamma(p, nu) each sum to Gamma(p X, nu). The
    ``settings.distribution_draws`` seeded draws give the law's shape and are scaled to the
    exact E[revenue] / P(purchase) (``distributions.sampled_spend``), so totals carry no
    simulation noise. Rows without valid output stay NaN.
    """
    out = pd.DataFrame(np.nan, index=rfm.index, columns=list(distributions.DISTRIBUTION_COLUMNS))
    valid = predicted["is_valid_output"].to_numpy(dtype=bool)
    if not fit.is_fitted or not valid.any():
        return out
    data = _in_time_units(rfm, settings.time_unit_days)[valid]
    x, age, m = (data[c].to_numpy() for c in ("frequency", "T", "monetary_value"))
    probability = predicted["purchase_probability"].to_numpy(float)[valid]
    revenue = predicted["predicted_revenue"].to_numpy(float)[valid]
    horizon = settings.horizon_days / settings.time_unit_days
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(probability > 0, revenue / probability, 0.0)
    parts = []
    # Chunks of customers keep the draws in memory bounded (20,000 x 400 doubles = 64 MB).
    for rows in np.array_split(np.arange(len(x)), max(1, len(x) // 20_000)):
        shape = (len(rows), settings.distribution_draws)
        counts = bgnbd_counts.sample_counts_given_any(
            fit.r, fit.alpha, fit.a, fit.b, x[rows], age[rows], horizon, rng.random(shape)
        )
        shape_nu = (fit.q + fit.p * x[rows])[:, None]
        rate = rng.gamma(shape_nu, 1.0, shape) / (fit.v + x[rows] * m[rows])[:, None]
        draws = rng.gamma(fit.p * counts, 1.0) / rate
        spend = distributions.sampled_spend(draws, mean=mean[rows])
        parts.append(distributions.forecast_columns(probability[rows], spend))
    columns = pd.concat(parts, ignore_index=True)
    out.loc[out.index[valid], list(columns.columns)] = columns.to_numpy()
    return out


def sanitize_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """Flag rows whose outputs are not usable numbers, and blank those outputs.

    Values in (-1e-9, 0) are rounding and become 0; probabilities a rounding above 1 become 1.
    Any other NaN, infinite or negative value, or probability above 1, makes the whole row
    invalid: its outputs become NaN (written as NULL) and ``is_valid_output`` is false.
    """
    out = predictions.copy()
    columns = list(PREDICTION_COLUMNS)
    numbers = out[columns].to_numpy(dtype=float, copy=True)
    with np.errstate(invalid="ignore"):
        numbers = np.where((numbers < 0) & (numbers > -1e-9), 0.0, numbers)
        probabilities = [columns.index("p_alive"), columns.index("purchase_probability")]
        bad = ~np.isfinite(numbers) | (numbers < 0)
        bad[:, probabilities] |= numbers[:, probabilities] > 1 + 1e-9
        numbers[:, probabilities] = np.minimum(numbers[:, probabilities], 1.0)
    valid = ~bad.any(axis=1)
    numbers[~valid, :] = np.nan
    out[columns] = numbers
    out["is_valid_output"] = valid
    return out


def discounted_clv(
    fit: BtydFit, frequency, age, p_alive, spend, settings: BtydSettings
) -> np.ndarray:
    """Sum over months m = 1..M of expected purchases in month m x spend / (1 + d)^m.

    The same computation as lifetimes' ``customer_lifetime_value`` (30-day months), with the
    time unit taken from the settings and the expected purchases of ``expected_purchases``.
    """
    month = DAYS_PER_MONTH / settings.time_unit_days
    months = range(1, settings.clv_months + 1)
    if_alive = bgnbd_counts.expected_counts_if_alive(
        fit.r, fit.alpha, fit.a, fit.b, frequency, age, [m * month for m in months]
    )
    cumulative_before = np.zeros(len(np.asarray(frequency)))
    clv = np.zeros_like(cumulative_before)
    for m in months:
        cumulative = np.asarray(p_alive, float) * if_alive[:, m - 1]
        clv += (cumulative - cumulative_before) * spend / (1 + settings.monthly_discount_rate) ** m
        cumulative_before = cumulative
    return clv


def fit_from_record(record: dict) -> BtydFit:
    """Rebuild a fit from a stored record (a row of marts.btyd_fits)."""
    names = set(BtydFit.__dataclass_fields__)
    values = {k: v for k, v in record.items() if k in names}
    values.setdefault("bgnbd_attempts", [])
    values.setdefault("gamma_gamma_attempts", [])
    for name in ("r", "alpha", "a", "b", "p", "q", "v"):
        value = values.get(name)
        values[name] = None if value is None or pd.isna(value) else float(value)
    return BtydFit(**values)
