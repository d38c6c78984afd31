"""The short report ``clv build`` prints: where the warehouse is and what went into it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from clv_warehouse.connections import connect_read_only

MARTS = (
    "transactions",
    "transaction_rejections",
    "ingestion_reconciliation",
    "rejection_reason_counts",
    "customers",
    "customer_features",
    "customer_rfm",
    "training_snapshots",
    "cutoffs",
    "cohort_retention",
    "predictions",
    "prediction_history",
    "model_runs",
    "backtest_metrics",
    "backtest_calibration",
    "feature_importance",
    "customer_prediction_drivers",
    "forecast_monitoring",
    "forecast_monitoring_deciles",
    "feature_drift",
    "customer_spend_levels",
    "spend_level_transitions",
    "spend_level_revenue",
    "backtest_level_accuracy",
    "customer_segments",
    "insiders",
    "insiders_summary",
)


# The key features one drift WARNING line names (largest PSI first); the rest are counted.
DRIFT_WARNING_FEATURES = 5


@dataclass(frozen=True)
class MetricRow:
    """One model's backtest figures, as marts.backtest_metrics has them."""

    model_name: str
    n_customers: int
    actual_revenue: float
    predicted_revenue: float
    revenue_ratio: float | None
    rmsle: float | None
    normalized_gini: float | None
    spearman: float | None
    top_decile_revenue_capture: float | None
    auc: float | None
    interval_coverage_80: float | None = None


@dataclass(frozen=True)
class ModelRunRow:
    """How one model went at one scored cutoff (marts.model_runs)."""

    cutoff_role: str
    model_name: str
    status: str
    message: str
    fallback_predictions: int
    is_primary_model: bool = False
    backtest_revenue_ratio: float | None = None
    is_backtest_total_out_of_band: bool | None = None


@dataclass(frozen=True)
class MonitoringRow:
    """One model's forecast of an earlier run, against what customers then spent
    (marts.forecast_monitoring)."""

    cutoff_date: str
    horizon_end_date: str
    model_name: str
    is_primary_model: bool
    n_customers: int
    predicted_revenue: float
    realized_revenue: float
    realized_to_predicted_ratio: float | None
    is_total_out_of_band: bool
    normalized_gini: float | None
    decile_mape: float | None
    interval_coverage_80: float | None
    auc: float | None


@dataclass(frozen=True)
class DriftRow:
    """One model feature's population stability index (marts.feature_drift): the scoring
    cutoff against the training rows of the latest training cutoff, and the backtest cutoff
    against the backtest's (``backtest_psi``); which cutoffs, and whether it warns."""

    feature_name: str
    psi: float
    importance_rank: int | None
    is_key_feature: bool
    is_drifted: bool
    backtest_psi: float | None = None
    is_calendar_feature: bool = False
    is_warned: bool = False
    training_cutoff_date: str | None = None
    scoring_cutoff_date: str | None = None
    backtest_training_cutoff_date: str | None = None
    backtest_cutoff_date: str | None = None
    training_rows: int = 0
    scoring_rows: int = 0


@dataclass(frozen=True)
class CutoffRow:
    cutoff_date: str
    cutoff_role: str
    customers: int


@dataclass(frozen=True)
class WarehouseSummary:
    warehouse_path: Path
    input_layout: str
    raw_files: int
    raw_rows: int
    kept_rows: int
    rejected_rows: int
    raw_revenue: float
    kept_revenue: float
    rejected_revenue: float
    is_reconciled: bool
    customers: int
    first_order_date: str | None
    last_order_date: str | None
    horizon_days: int | None
    rejections_by_reason: list[tuple[str, int]] = field(default_factory=list)
    cutoffs: list[CutoffRow] = field(default_factory=list)
    mart_rows: dict[str, int] = field(default_factory=dict)
    backtest_cutoff: str | None = None
    metrics: list[MetricRow] = field(default_factory=list)
    model_runs: list[ModelRunRow] = field(default_factory=list)
    # None: the warehouse has no such mart (built before monitoring existed)
    monitoring: list[MonitoringRow] | None = None
    monitored_runs: int = 0
    drift: list[DriftRow] | None = None


def _existing_marts(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()
    return {name for (name,) in rows}


def read_summary(warehouse_path: Path) -> WarehouseSummary:
    """Read the summary from a built warehouse (opened read-only, locked down)."""
    with connect_read_only(warehouse_path) as con:
        (
            layout,
            raw_files,
            raw_rows,
            kept_rows,
            rejected_rows,
            raw_revenue,
            kept_revenue,
            rejected_revenue,
            is_reconciled,
            first_order_date,
            last_order_date,
        ) = con.execute(
            """
            select input_layout, raw_files, raw_rows, kept_rows, rejected_rows,
                   raw_revenue, kept_revenue, rejected_revenue, is_reconciled,
                   cast(first_order_date as varchar), cast(last_order_date as varchar)
            from marts.ingestion_reconciliation
            """
        ).fetchone()
        customers = con.execute(
            "select count(*) from marts.customers where has_purchases"
        ).fetchone()[0]
        reasons = con.execute(
            """
            select rejection_reason, rejected_rows from marts.rejection_reason_counts
            where rejected_rows > 0 order by rejected_rows desc, priority
            """
        ).fetchall()
        cutoffs = [
            CutoffRow(str(date), role, int(count))
            for date, role, count in con.execute(
                """
                select cutoffs.cutoff_date, cutoffs.cutoff_role, count(rfm.customer_id)
                from marts.cutoffs as cutoffs
                left join marts.customer_rfm as rfm on cutoffs.cutoff_date = rfm.cutoff_date
                group by 1, 2 order by 1
                """
            ).fetchall()
        ]
        horizon = con.execute("select max(horizon_days) from marts.cutoffs").fetchone()[0]
        existing = _existing_marts(con)
        mart_rows = {
            name: con.execute(f"select count(*) from marts.{name}").fetchone()[0]
            for name in MARTS
            if name in existing
        }
        metrics, runs, backtest_cutoff = [], [], None
        if "backtest_metrics" in existing:
            metrics = [
                MetricRow(*row)
                for row in con.execute(
                    """
                    select model_name, n_customers, actual_revenue, predicted_revenue,
                           revenue_ratio, rmsle, normalized_gini, spearman,
                           top_decile_revenue_capture, auc, interval_coverage_80
                    from marts.backtest_metrics
                    order by
                        case model_name
                            when 'naive' then 1 when 'btyd' then 2 when 'xgboost' then 3
                            when 'all_zeros' then 4 else 5
                        end
                    """
                ).fetchall()
            ]
            backtest_cutoff = con.execute(
                "select cast(max(cutoff_date) as varchar) from marts.backtest_metrics"
            ).fetchone()[0]
        if "model_runs" in existing:
            runs = [
                ModelRunRow(*row)
                for row in con.execute(
                    """
                    select cutoff_role, model_name, status, coalesce(message, ''),
                           fallback_predictions, is_primary_model, backtest_revenue_ratio,
                           is_backtest_total_out_of_band
                    from marts.model_runs order by cutoff_role, model_name
                    """
                ).fetchall()
            ]
        monitoring, monitored_runs, drift = _read_monitoring(con, existing)
    return WarehouseSummary(
        warehouse_path=warehouse_path,
        input_layout=layout,
        raw_files=raw_files,
        raw_rows=raw_rows,
        kept_rows=kept_rows,
        rejected_rows=rejected_rows,
        raw_revenue=float(raw_revenue),
        kept_revenue=float(kept_revenue),
        rejected_revenue=float(rejected_revenue),
        is_reconciled=bool(is_reconciled),
        customers=customers,
        first_order_date=first_order_date,
        last_order_date=last_order_date,
        horizon_days=horizon,
        rejections_by_reason=[(reason, int(count)) for reason, count in reasons],
        cutoffs=cutoffs,
        mart_rows=mart_rows,
        backtest_cutoff=backtest_cutoff,
        metrics=metrics,
        model_runs=runs,
        monitoring=monitoring,
        monitored_runs=monitored_runs,
        drift=drift,
    )


def _read_monitoring(
    con: duckdb.DuckDBPyConnection, existing: set[str]
) -> tuple[list[MonitoringRow] | None, int, list[DriftRow] | None]:
    """The latest monitored run's rows, how many runs are monitored, and the feature drift."""
    monitoring, monitored_runs, drift = None, 0, None
    if "forecast_monitoring" in existing:
        monitored_runs = con.execute(
            "select count(distinct run_id) from marts.forecast_monitoring"
        ).fetchone()[0]
        monitoring = [
            MonitoringRow(*row)
            for row in con.execute(
                """
                with latest as (
                    select run_id from marts.forecast_monitoring
                    order by cutoff_date desc, run_started_at desc, run_id
                    limit 1
                )
                select cast(cutoff_date as varchar), cast(horizon_end_date as varchar),
                       model_name, is_primary_model, n_customers, predicted_revenue,
                       realized_revenue, realized_to_predicted_ratio, is_total_out_of_band,
                       normalized_gini, decile_mape, interval_coverage_80, auc
                from marts.forecast_monitoring
                where run_id in (select run_id from latest)
                order by
                    case model_name when 'naive' then 1 when 'btyd' then 2 else 3 end
                """
            ).fetchall()
        ]
    if "feature_drift" in existing:
        drift = [
            DriftRow(*row)
            for row in con.execute(
                """
                select feature_name, psi, importance_rank, is_key_feature, is_drifted,
                       backtest_psi, is_calendar_feature, is_warned,
                       cast(training_cutoff_date as varchar), cast(scoring_cutoff_date as varchar),
                       cast(backtest_training_cutoff_date as varchar),
                       cast(backtest_cutoff_date as varchar), training_rows, scoring_rows
                from marts.feature_drift
                order by psi desc, feature_name
                """
            ).fetchall()
        ]
    return monitoring, monitored_runs, drift


def _number(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def format_metrics(summary: WarehouseSummary) -> list[str]:
    """The backtest metrics table and any model that did not fit or fell back (also when the
    data is too short for a backtest: then the warnings are all there is to say)."""
    if summary.metrics:
        lines = [
            f"  backtest    cutoff {summary.backtest_cutoff}, next {summary.horizon_days} days,"
            " models trained on earlier cutoffs only (marts.backtest_metrics)",
            f"              {'model':<14}{'customers':>10}{'actual':>13}{'predicted':>13}"
            f"{'ratio':>7}{'RMSLE':>7}{'Gini':>7}{'Spearman':>9}{'top10%':>8}{'AUC':>7}"
            f"{'in80%':>7}",
        ]
    elif summary.model_runs:
        lines = [
            f"  backtest    none: no customer bought before the backtest cutoff"
            f" ({summary.horizon_days} days before the scoring cutoff)"
        ]
    else:
        return []
    for m in summary.metrics:
        lines.append(
            f"              {m.model_name:<14}{m.n_customers:>10,}{m.actual_revenue:>13,.0f}"
            f"{m.predicted_revenue:>13,.0f}{_number(m.revenue_ratio, '.3f'):>7}"
            f"{_number(m.rmsle, '.3f'):>7}{_number(m.normalized_gini, '.3f'):>7}"
            f"{_number(m.spearman, '.3f'):>9}{_number(m.top_decile_revenue_capture, '.3f'):>8}"
            f"{_number(m.auc, '.3f'):>7}{_number(m.interval_coverage_80, '.3f'):>7}"
        )
    for run in summary.model_runs:
        if run.status not in ("fitted", "trained") or run.fallback_predictions:
            lines.append(
                f"  WARNING     {run.model_name} at the {run.cutoff_role} cutoff: {run.status},"
                f" {run.fallback_predictions:,} naive fallbacks. {run.message}".rstrip()
            )
        if run.is_primary_model and run.is_backtest_total_out_of_band:
            lines.append(
                f"  WARNING     {run.model_name} (the primary model) predicted"
                f" {_number(run.backtest_revenue_ratio, '.2f')}x the revenue customers spent"
                " at the backtest cutoff, outside [0.8, 1.25]: levels, segments and Insiders"
                " inherit that bias (marts.model_runs)"
            )
    return lines


def format_monitoring(summary: WarehouseSummary) -> list[str]:
    """The latest earlier run checked against what customers then spent, the feature drift
    (format_drift), a WARNING for the primary model's total outside [0.8, 1.25]. Nothing when
    the warehouse has no monitoring marts."""
    lines = []
    if summary.monitoring is not None and not summary.monitoring:
        lines.append(
            f"  monitoring  none yet: no earlier scoring run's {summary.horizon_days}-day horizon"
            " has passed (build a later as-of date; marts.forecast_monitoring)"
        )
    elif summary.monitoring:
        first = summary.monitoring[0]
        lines += [
            f"  monitoring  run of {first.cutoff_date}, horizon to {first.horizon_end_date}:"
            f" realized vs predicted ({summary.monitored_runs:,} run(s) monitored,"
            " marts.forecast_monitoring)",
            f"              {'model':<14}{'customers':>10}{'predicted':>13}{'realized':>13}"
            f"{'ratio':>7}{'Gini':>7}{'dMAPE':>7}{'in80%':>7}{'AUC':>7}",
        ]
        for m in summary.monitoring:
            lines.append(
                f"              {m.model_name:<14}{m.n_customers:>10,}"
                f"{m.predicted_revenue:>13,.0f}{m.realized_revenue:>13,.0f}"
                f"{_number(m.realized_to_predicted_ratio, '.3f'):>7}"
                f"{_number(m.normalized_gini, '.3f'):>7}{_number(m.decile_mape, '.3f'):>7}"
                f"{_number(m.interval_coverage_80, '.3f'):>7}{_number(m.auc, '.3f'):>7}"
            )
        for m in summary.monitoring:
            if m.is_primary_model and m.is_total_out_of_band:
                lines.append(
                    f"  WARNING     {m.model_name} (the primary model) forecast"
                    f" {m.predicted_revenue:,.0f} for the run of {m.cutoff_date}; customers spent"
                    f" {m.realized_revenue:,.0f} (realized / predicted"
                    f" {_number(m.realized_to_predicted_ratio, '.2f')}), outside [0.8, 1.25]"
                    " (marts.forecast_monitoring)"
                )
    if summary.drift:
        lines += format_drift(summary.drift)
    return lines


def format_drift(drift: list[DriftRow]) -> list[str]:
    """What feature drift compared with what, how many features moved, and a WARNING naming
    the key features (calendar ones left out) that moved more than the backtest's did."""
    first = drift[0]  # the largest PSI; the cutoffs are the same on every row
    keys = sum(row.is_key_feature for row in drift)
    drifted = sum(row.is_drifted for row in drift)
    warned = [row for row in drift if row.is_warned]
    backtest = (
        f"as the backtest cutoff {first.backtest_cutoff_date} against those of"
        f" {first.backtest_training_cutoff_date}"
        if first.backtest_training_cutoff_date
        else "no backtest to compare with"
    )
    lines = [
        f"  drift       the scoring cutoff {first.scoring_cutoff_date} ({first.scoring_rows:,}"
        f" customers) against the training rows of the latest training cutoff"
        f" {first.training_cutoff_date} ({first.training_rows:,}), {backtest}",
        f"              {len(drift)} features ({keys} key), {drifted} with PSI > 0.25,"
        f" {len(warned)} key beyond the backtest's drift; largest {first.feature_name}"
        f" {first.psi:.2f} (backtest {_number(first.backtest_psi, '.2f')}) (marts.feature_drift)",
    ]
    if warned:
        shown = ", ".join(
            f"{row.feature_name} {row.psi:.2f} (backtest {_number(row.backtest_psi, '.2f')},"
            f" rank {row.importance_rank})"
            for row in warned[:DRIFT_WARNING_FEATURES]
        )
        more = len(warned) - DRIFT_WARNING_FEATURES
        lines.append(
            f"  WARNING     {len(warned)} key feature(s) drifted more than in the backtest (PSI"
            " > 0.25 and more than twice the backtest's), so its metrics may not hold for this"
            f" forecast: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + " (marts.feature_drift)"
        )
    return lines


def format_summary(summary: WarehouseSummary, input_path: str | None = None) -> str:
    """The summary as the lines printed after a build."""
    check = "reconciled" if summary.is_reconciled else "NOT RECONCILED"
    lines = [
        "",
        "CLV Warehouse",
        f"  warehouse   {summary.warehouse_path}",
        f"  input       {summary.input_layout} layout, {summary.raw_files} file(s)"
        + (f": {input_path}" if input_path else ""),
        f"  rows        {summary.raw_rows:,} raw = {summary.kept_rows:,} kept"
        f" + {summary.rejected_rows:,} rejected  [{check}]",
        f"  revenue     {summary.raw_revenue:,.2f} raw = {summary.kept_revenue:,.2f} kept"
        f" + {summary.rejected_revenue:,.2f} rejected",
    ]
    if summary.rejections_by_reason:
        reasons = ", ".join(f"{reason} {count:,}" for reason, count in summary.rejections_by_reason)
        lines.append(f"  rejected    {reasons}  (marts.transaction_rejections)")
    lines += [
        f"  customers   {summary.customers:,} with purchases,"
        f" {summary.first_order_date} to {summary.last_order_date}",
    ]
    by_role: dict[str, list[CutoffRow]] = {}
    for row in summary.cutoffs:
        by_role.setdefault(row.cutoff_role, []).append(row)
    if summary.cutoffs:
        lines.append(f"  cutoffs     horizon {summary.horizon_days} days")
        for role in ("scoring", "backtest", "training"):
            rows = by_role.get(role, [])
            if not rows:
                continue
            if len(rows) == 1:
                detail = f"{rows[0].cutoff_date} ({rows[0].customers:,} customers)"
            else:
                detail = f"{len(rows)} from {rows[0].cutoff_date} to {rows[-1].cutoff_date}"
            lines.append(f"              {role:<9} {detail}")
    else:
        lines.append("  cutoffs     none: the data does not span one cutoff")
    lines += format_metrics(summary)
    lines += format_monitoring(summary)
    lines.append("  marts       schema marts, rows:")
    names = list(summary.mart_rows)
    for index in range(0, len(names), 2):
        left, right = names[index], (names[index + 1] if index + 1 < len(names) else None)
        cell = f"{left:<26}{summary.mart_rows[left]:>9,}"
        if right is not None:
            cell += f"    {right:<26}{summary.mart_rows[right]:>9,}"
        lines.append(f"              {cell}")
    lines.append('  query it    clv sql "select * from marts.predictions limit 5"')
    return "\n".join(lines)
