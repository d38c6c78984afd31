"""The dashboard definitions of dashboards/dashboards.yml, loaded and checked.

Checks that need no Metabase: every card's analysis exists, every card sits on the
24-column grid without overlapping another, filter types are known, and (once the SQL is
compiled) every filter a card's SQL uses is a filter of its dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clv_warehouse.project import PROJECT_DIR

DEFINITIONS_PATH = PROJECT_DIR / "dashboards" / "dashboards.yml"
ANALYSES_DIR = PROJECT_DIR / "analyses" / "dashboards"
GRID_COLUMNS = 24

# Filter type -> (Metabase template-tag type, dashboard parameter type, parameter section).
FILTER_TYPES = {
    "text": ("text", "string/=", "string"),
    "number": ("number", "number/=", "number"),
}


class DefinitionError(ValueError):
    """dashboards.yml is inconsistent; the message names the dashboard and card."""


@dataclass(frozen=True)
class Filter:
    key: str
    name: str
    type: str
    values: tuple[str, ...] = ()
    values_from: str | None = None
    example: Any = None

    @property
    def tag_type(self) -> str:
        return FILTER_TYPES[self.type][0]

    @property
    def parameter_type(self) -> str:
        return FILTER_TYPES[self.type][1]

    @property
    def section(self) -> str:
        return FILTER_TYPES[self.type][2]


@dataclass(frozen=True)
class Card:
    dashboard: str
    analysis: str
    card_key: str
    name: str
    description: str
    display: str
    row: int
    col: int
    width: int
    height: int
    settings: dict[str, Any]
    percent: tuple[str, ...] = ()
    decimals: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable identity of the card in Metabase: its dashboard and its key (by default its
        analysis; several cards can chart one analysis under different keys)."""
        return f"{self.dashboard}/{self.card_key}"

    def visualization_settings(self) -> dict[str, Any]:
        """The settings as Metabase stores them, with the number formats per column."""
        column_settings = {}
        for column in self.percent:
            column_settings[f'["name","{column}"]'] = {"number_style": "percent"}
        for column in self.decimals:
            column_settings[f'["name","{column}"]'] = {"decimals": 2}
        settings = dict(self.settings)
        if column_settings:
            settings["column_settings"] = column_settings
        return settings

    def named_columns(self) -> set[str]:
        """Every result column the visualization settings refer to."""
        settings = self.settings
        names: set[str] = set(self.percent) | set(self.decimals)
        for key in ("graph.dimensions", "graph.metrics"):
            names.update(settings.get(key, []))
        names.update(column["name"] for column in settings.get("table.columns", []))
        for key in ("table.pivot_column", "table.cell_column", "scalar.field"):
            if key in settings:
                names.add(settings[key])
        return names


@dataclass(frozen=True)
class Dashboard:
    key: str
    name: str
    description: str
    filters: dict[str, Filter]
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class Definitions:
    collection_name: str
    collection_description: str
    database_name: str
    dashboards: tuple[Dashboard, ...]

    def cards(self) -> list[Card]:
        return [card for dashboard in self.dashboards for card in dashboard.cards]

    def analyses(self) -> set[str]:
        """Every analysis a card or a filter's values come from."""
        names = {card.analysis for card in self.cards()}
        for dashboard in self.dashboards:
            names.update(f.values_from for f in dashboard.filters.values() if f.values_from)
        return names


def _required(mapping: dict, key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise DefinitionError(f"{where}: '{key}' is required")
    return mapping[key]


def _filter(key: str, raw: dict, where: str) -> Filter:
    filter_type = _required(raw, "type", where)
    if filter_type not in FILTER_TYPES:
        raise DefinitionError(
            f"{where}: type '{filter_type}' is not one of {', '.join(FILTER_TYPES)}"
        )
    return Filter(
        key=key,
        name=_required(raw, "name", where),
        type=filter_type,
        values=tuple(str(value) for value in raw.get("values", [])),
        values_from=raw.get("values_from"),
        example=raw.get("example"),
    )


def _card(dashboard: str, raw: dict, where: str) -> Card:
    place = _required(raw, "place", where)
    if not (isinstance(place, list) and len(place) == 4 and all(isinstance(v, int) for v in place)):
        raise DefinitionError(f"{where}: place must be [row, col, width, height], got {place}")
    row, col, width, height = place
    if row < 0 or col < 0 or width < 1 or height < 1 or col + width > GRID_COLUMNS:
        raise DefinitionError(
            f"{where}: place {place} is off Metabase's {GRID_COLUMNS}-column grid"
            f" (col + width must be at most {GRID_COLUMNS})"
        )
    analysis = _required(raw, "analysis", where)
    return Card(
        dashboard=dashboard,
        analysis=analysis,
        card_key=raw.get("key", analysis),
        name=_required(raw, "name", where),
        description=raw.get("description", ""),
        display=_required(raw, "display", where),
        row=row,
        col=col,
        width=width,
        height=height,
        settings=dict(raw.get("settings") or {}),
        percent=tuple(raw.get("percent", [])),
        decimals=tuple(raw.get("decimals", [])),
    )


def _check_overlaps(dashboard: Dashboard) -> None:
    cards = dashboard.cards
    for index, first in enumerate(cards):
        for second in cards[index + 1 :]:
            if (
                first.col < second.col + second.width
                and second.col < first.col + first.width
                and first.row < second.row + second.height
                and second.row < first.row + first.height
            ):
                raise DefinitionError(
                    f"dashboard {dashboard.key}: cards {first.card_key} and {second.card_key}"
                    " overlap"
                )


def load_definitions(
    path: Path = DEFINITIONS_PATH, analyses_dir: Path = ANALYSES_DIR
) -> Definitions:
    """Read and check the definitions file."""
    raw = yaml.safe_load(path.read_text())
    collection = _required(raw, "collection", str(path))
    dashboards = []
    for key, dashboard_raw in _required(raw, "dashboards", str(path)).items():
        where = f"{path.name}: dashboard {key}"
        filters = {
            filter_key: _filter(filter_key, filter_raw, f"{where}, filter {filter_key}")
            for filter_key, filter_raw in (dashboard_raw.get("filters") or {}).items()
        }
        cards = tuple(
            _card(key, card_raw, f"{where}, card {index + 1}")
            for index, card_raw in enumerate(_required(dashboard_raw, "cards", where))
        )
        dashboard = Dashboard(
            key=key,
            name=_required(dashboard_raw, "name", where),
            description=dashboard_raw.get("description", "").strip(),
            filters=filters,
            cards=cards,
        )
        _check_overlaps(dashboard)
        dashboards.append(dashboard)
    definitions = Definitions(
        collection_name=_required(collection, "name", f"{path.name}: collection"),
        collection_description=collection.get("description", "").strip(),
        database_name=_required(raw.get("database") or {}, "name", f"{path.name}: database"),
        dashboards=tuple(dashboards),
    )
    available = {sql.stem for sql in analyses_dir.rglob("*.sql")}
    missing = sorted(definitions.analyses() - available)
    if missing:
        raise DefinitionError(
            f"{path.name} names analyses that are not in {analyses_dir}: {', '.join(missing)}"
        )
    names = [card.key for card in definitions.cards()]
    if len(names) != len(set(names)):
        raise DefinitionError(
            f"{path.name}: two cards of a dashboard have one key; give one of them a `key`"
        )
    return definitions
