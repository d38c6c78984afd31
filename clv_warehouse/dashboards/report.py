"""`clv report`: the four dashboards as one self-contained HTML file, without Metabase.

The same definitions (dashboards/dashboards.yml) and the same card SQL (compiled by dbt)
as `clv dashboards`, run read-only on the built warehouse with every filter empty (the
dashboards' defaults). Charts are inline SVG drawn here and the page carries no script and
loads nothing: its Content-Security-Policy forbids every fetch, so it opens the same from
CI artifacts, an e-mail attachment or a laptop offline.

Layout follows Metabase's 24-column grid (each card's ``place``); a table shows its first
``MAX_TABLE_ROWS`` rows and says how many there are.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from clv_warehouse.connections import WarehouseBusy, connect_read_only
from clv_warehouse.dashboards.compile import compile_dashboard_sql
from clv_warehouse.dashboards.definitions import (
    DEFINITIONS_PATH,
    Card,
    Dashboard,
    load_definitions,
)
from clv_warehouse.dashboards.native_query import render
from clv_warehouse.messages import one_line

MAX_TABLE_ROWS = 100
ROW_HEIGHT_PX = 52
PALETTE = ("#509EE3", "#88BF4D", "#A989C5", "#EF8C8C", "#F9D45C", "#F2A86F", "#98D9D9", "#7172AD")
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class ReportError(RuntimeError):
    """The report cannot be written; the message says why and what to do."""


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Written:
    path: Path
    cards: int
    size_bytes: int


# --- values -----------------------------------------------------------------------------------


def _format(value: Any, column: str, card: Card) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        if column in card.percent:
            return f"{value:.1%}"
        if column in card.decimals:
            return f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.5:
        ticks.append(round(value, 10))
        value += step
    return ticks


# --- tables -------------------------------------------------------------------------------------


def _table_html(card: Card, result: Result) -> str:
    settings = card.settings
    if settings.get("table.pivot"):
        return _pivot_html(card, result)
    wanted = [c["name"] for c in settings.get("table.columns", []) if c.get("enabled", True)]
    columns = [c for c in wanted if c in result.columns] or result.columns
    shown = result.records()[:MAX_TABLE_ROWS]
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{_cell_class(record[c])}">{html.escape(_format(record[c], c, card))}</td>'
            for c in columns
        )
        + "</tr>"
        for record in shown
    )
    note = ""
    if len(result.rows) > MAX_TABLE_ROWS:
        note = (
            f'<p class="note">First {MAX_TABLE_ROWS} of {len(result.rows):,} rows;'
            " Metabase or `clv sql` shows them all.</p>"
        )
    return f'<div class="table"><table><tr>{head}</tr>{body}</table></div>{note}'


def _cell_class(value: Any) -> str:
    return "num" if _number(value) is not None and not isinstance(value, str) else ""


def _pivot_html(card: Card, result: Result) -> str:
    pivot, cell = card.settings["table.pivot_column"], card.settings["table.cell_column"]
    keys = [c for c in result.columns if c not in (pivot, cell)]
    pivots: list[Any] = []
    grid: dict[tuple, dict[Any, Any]] = {}
    for record in result.records():
        if record[pivot] not in pivots:
            pivots.append(record[pivot])
        grid.setdefault(tuple(record[k] for k in keys), {})[record[pivot]] = record[cell]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "".join(
        f"<th>{html.escape(_format(p, pivot, card))}</th>" for p in pivots
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(_format(v, k, card))}</td>" for k, v in zip(keys, key, strict=True)
        )
        + "".join(
            f'<td class="num">{html.escape(_format(cells.get(p), cell, card))}</td>' for p in pivots
        )
        + "</tr>"
        for key, cells in list(grid.items())[:MAX_TABLE_ROWS]
    )
    return f'<div class="table"><table><tr>{head}</tr>{body}</table></div>'


# --- charts -------------------------------------------------------------------------------------


def _series(
    card: Card, result: Result
) -> tuple[list[Any], list[str], dict[str, list[float | None]]]:
    """x values, series names and each series' values, as Metabase reads the settings:
    one dimension and several metrics, or two dimensions (the second splits the series)."""
    dimensions = card.settings.get("graph.dimensions", [])
    metrics = card.settings.get("graph.metrics", [])
    records = result.records()
    x_values: list[Any] = []
    for record in records:
        if record[dimensions[0]] not in x_values:
            x_values.append(record[dimensions[0]])
    position = {x: i for i, x in enumerate(x_values)}
    if len(dimensions) > 1:
        split = dimensions[1]
        names = list(dict.fromkeys(str(record[split]) for record in records))
        values: dict[str, list[float | None]] = {name: [None] * len(x_values) for name in names}
        for record in records:
            values[str(record[split])][position[record[dimensions[0]]]] = _number(
                record[metrics[0]]
            )
    else:
        names = list(metrics)
        values = {name: [None] * len(x_values) for name in names}
        for record in records:
            for name in names:
                values[name][position[record[dimensions[0]]]] = _number(record[name])
    return x_values, names, values


def _legend(names: Sequence[str], width: float) -> str:
    if len(names) < 2:
        return ""
    items, x = [], 8.0
    for index, name in enumerate(names[:12]):
        label, color = html.escape(str(name)), PALETTE[index % len(PALETTE)]
        items.append(
            f'<rect x="{x:.0f}" y="4" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14:.0f}" y="13" class="legend">{label}</text>'
        )
        x += 22 + 6.5 * len(str(name))
        if x > width - 60:
            break
    return "".join(items)


def _chart_svg(card: Card, result: Result) -> str:
    x_values, names, values = _series(card, result)
    if not x_values:
        return '<p class="note">No rows.</p>'
    if card.display == "row":
        return _row_chart(card, x_values, names, values)
    width, height = 640.0, 300.0
    left, right, top, bottom = 64.0, 12.0, 24.0, 64.0
    stacked = card.display == "bar" and card.settings.get("stackable.stack_type") == "stacked"
    numbers = [v for series in values.values() for v in series if v is not None]
    if stacked:
        sums = [sum(values[name][i] or 0 for name in names) for i in range(len(x_values))]
        numbers += sums
    low, high = min([0.0, *numbers]), max([0.0, *numbers])
    ticks = _nice_ticks(low, high)
    low, high = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    metric = card.settings.get("graph.metrics", [""])[0]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
    parts = [_legend(names, width)]
    for tick in ticks:
        y = y_of(tick)
        if metric in card.percent:
            label = f"{tick:.0%}"
        else:
            label = f"{tick:,.0f}" if step >= 1 else f"{tick:.2f}"
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="gridline"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{label}</text>'
        )
    slot = plot_w / len(x_values)
    if card.display == "line":
        for index, name in enumerate(names):
            points = [
                f"{left + slot * (i + 0.5):.1f},{y_of(v):.1f}"
                for i, v in enumerate(values[name])
                if v is not None
            ]
            color = PALETTE[index % len(PALETTE)]
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}"'
                ' stroke-width="2"/>'
            )
    else:
        bar_w = slot * 0.8 / (1 if stacked else len(names))
        for i in range(len(x_values)):
            base = 0.0
            for index, name in enumerate(names):
                value = values[name][i]
                if value is None:
                    continue
                color = PALETTE[index % len(PALETTE)]
                if stacked:
                    y0, y1 = y_of(base), y_of(base + value)
                    x = left + slot * i + slot * 0.1
                    base += value
                else:
                    y0, y1 = y_of(0), y_of(value)
                    x = left + slot * i + slot * 0.1 + bar_w * index
                parts.append(
                    f'<rect x="{x:.1f}" y="{min(y0, y1):.1f}" width="{max(bar_w - 1, 1):.1f}"'
                    f' height="{abs(y0 - y1):.1f}" fill="{color}"/>'
                )
    every = max(1, math.ceil(len(x_values) / 14))
    for i, x_value in enumerate(x_values):
        if i % every:
            continue
        x = left + slot * (i + 0.5)
        label = html.escape(_format(x_value, card.settings["graph.dimensions"][0], card)[:16])
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 14:.1f}" class="tick" text-anchor="end"'
            f' transform="rotate(-35 {x:.1f} {top + plot_h + 14:.1f})">{label}</text>'
        )
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" preserveAspectRatio="xMidYMid meet"'
        f' role="img" aria-label="{html.escape(card.name)}">{"".join(parts)}</svg>'
    )


def _row_chart(card: Card, labels: list[Any], names: list[str], values: dict) -> str:
    name = names[0]
    shown = list(zip(labels, values[name], strict=True))[:20]
    width, left, bar_h = 640.0, 170.0, 18.0
    height = 8 + bar_h * len(shown) * 1.3
    high = max([v or 0 for _, v in shown] + [0]) or 1
    parts = []
    for i, (label, value) in enumerate(shown):
        y = 4 + i * bar_h * 1.3
        length = (width - left - 70) * (value or 0) / high
        parts.append(
            f'<text x="{left - 6}" y="{y + 13:.1f}" class="tick" text-anchor="end">'
            f"{html.escape(str(label)[:28])}</text>"
            f'<rect x="{left}" y="{y:.1f}" width="{max(length, 0):.1f}" height="{bar_h}"'
            f' fill="{PALETTE[0]}"/>'
            f'<text x="{left + length + 4:.1f}" y="{y + 13:.1f}" class="tick">'
            f"{html.escape(_format(value, name, card))}</text>"
        )
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        f' aria-label="{html.escape(card.name)}">{"".join(parts)}</svg>'
    )


# --- the page -------------------------------------------------------------------------------------

STYLE = """
body { font-family: Lato, "Helvetica Neue", Arial, sans-serif; margin: 0; color: #2e353b;
  background: #f9fbfc; }
header { padding: 20px 32px 8px; } h1 { font-size: 24px; margin: 0 0 4px; }
header p, .note { color: #74838f; font-size: 13px; margin: 4px 0; }
nav a { margin-right: 16px; color: #509ee3; font-size: 14px; }
section { padding: 8px 32px 24px; } h2 { font-size: 20px; margin: 16px 0 4px; }
.grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr));
  grid-auto-rows: ROW_HEIGHTpx; gap: 8px; }
.card { background: #fff; border: 1px solid #eef0f1; border-radius: 8px; padding: 10px 12px;
  overflow: hidden; display: flex; flex-direction: column; min-width: 0; }
.card h3 { font-size: 14px; margin: 0 0 2px; } .card .description { font-size: 12px;
  color: #74838f; margin: 0 0 6px; }
.card svg { flex: 1; width: 100%; min-height: 0; }
.table { overflow: auto; flex: 1; } table { border-collapse: collapse; font-size: 12px; }
th { position: sticky; top: 0; background: #f9fbfc; text-align: left; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eef0f1; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg line.gridline { stroke: #eef0f1; } svg text { font-size: 11px; fill: #74838f; }
svg text.legend { fill: #2e353b; }
@media print { .grid { display: block; } .card { break-inside: avoid; margin-bottom: 8px;
  height: auto !important; } }
""".replace("ROW_HEIGHT", str(ROW_HEIGHT_PX))


def _card_html(card: Card, result: Result) -> str:
    if card.display in ("bar", "line", "row", "area") and card.settings.get("graph.dimensions"):
        body = _chart_svg(card, result)
    else:
        body = _table_html(card, result)
    style = (
        f"grid-column: {card.col + 1} / span {card.width};"
        f" grid-row: {card.row + 1} / span {card.height};"
    )
    description = (
        f'<p class="description">{html.escape(card.description)}</p>' if card.description else ""
    )
    return (
        f'<div class="card" style="{style}" data-card="{html.escape(card.key)}">'
        f"<h3>{html.escape(card.name)}</h3>{description}{body}</div>"
    )


def _dashboard_html(dashboard: Dashboard, results: dict[str, Result]) -> str:
    filters = ", ".join(f.name for f in dashboard.filters.values())
    filter_note = (
        f'<p class="note">Filters ({html.escape(filters)}) are empty here: every card shows'
        " what Metabase shows before a filter is set.</p>"
        if filters
        else ""
    )
    cards = "".join(_card_html(card, results[card.analysis]) for card in dashboard.cards)
    return (
        f'<section id="{html.escape(dashboard.key)}"><h2>{html.escape(dashboard.name)}</h2>'
        f'<p class="note">{html.escape(dashboard.description)}</p>{filter_note}'
        f'<div class="grid">{cards}</div></section>'
    )


def _page(title: str, facts: str, dashboards: list[Dashboard], results: dict[str, Result]) -> str:
    nav = "".join(f'<a href="#{html.escape(d.key)}">{html.escape(d.name)}</a>' for d in dashboards)
    body = "".join(_dashboard_html(d, results) for d in dashboards)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p>{html.escape(facts)}</p>"
        f"<nav>{nav}</nav></header>{body}</body></html>\n"
    )


def _build_facts(con: duckdb.DuckDBPyConnection, warehouse: Path) -> str:
    try:
        row = con.execute(
            "select invocation_id, status, cast(finished_at as varchar) from main.clv_builds"
            " order by started_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        row = None
    if row is None:
        return f"Warehouse {warehouse.name}."
    build_id, status, finished_at = row
    return f"Warehouse {warehouse.name}, build {build_id} ({status}, finished {finished_at})."


def write_report(warehouse: Path, out: Path, definitions_path: Path = DEFINITIONS_PATH) -> Written:
    """Run every card's SQL on the warehouse (read-only) and write the HTML page to ``out``."""
    definitions = load_definitions(definitions_path)
    if not warehouse.exists():
        raise ReportError(f"No warehouse at {warehouse}: run `clv build` (or `make run`) first.")
    # DuckDB names the database after the file name up to its first dot; the compiled SQL
    # names relations in that database.
    compiled = compile_dashboard_sql(warehouse.name.split(".")[0])
    results: dict[str, Result] = {}
    try:
        with connect_read_only(warehouse) as con:
            facts = _build_facts(con, warehouse)
            for card in definitions.cards():
                if card.analysis in results:
                    continue
                try:
                    cursor = con.execute(render(compiled[card.analysis], {}))
                except duckdb.Error as error:
                    raise ReportError(
                        f"Card {card.key} ({card.analysis}.sql) failed on {warehouse}:"
                        f" {one_line(str(error))[:300]}. Rebuild with `clv build`."
                    ) from error
                columns = [column[0] for column in cursor.description]
                results[card.analysis] = Result(columns, cursor.fetchall())
    except WarehouseBusy as error:
        raise ReportError(str(error)) from error
    page = _page(
        f"{definitions.collection_name}: dashboards report",
        facts,
        list(definitions.dashboards),
        results,
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportError(
            f"Cannot write the report {out}: {error.strerror or error}. Choose another --out."
        ) from error
    return Written(path=out, cards=len(definitions.cards()), size_bytes=out.stat().st_size)


__all__ = ["ReportError", "Written", "write_report"]
