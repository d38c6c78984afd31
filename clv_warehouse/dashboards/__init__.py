"""Metabase dashboards as code.

    dashboards/dashboards.yml       layout, visualizations, filters (definitions.py)
    analyses/dashboards/**.sql      each card's SQL, compiled by dbt (compile.py)
    native_query.py                 Metabase's template tags and optional clauses
    metabase.py                     the REST calls that create or update everything
    dbt_docs.py                     the models' docs from the dbt manifest (dbt-metabase)

``provision`` ties them together; ``clv dashboards`` calls it. ``report.py`` renders the
same dashboards into one HTML file without Metabase (``clv report``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import duckdb

from clv_warehouse.dashboards.compile import compile_dashboards
from clv_warehouse.dashboards.dbt_docs import describe, published_relations
from clv_warehouse.dashboards.definitions import (
    DEFINITIONS_PATH,
    DefinitionError,
    Definitions,
    load_definitions,
)
from clv_warehouse.dashboards.metabase import (
    Metabase,
    MetabaseSettings,
    Provisioner,
    ProvisionError,
    Report,
)
from clv_warehouse.dashboards.native_query import tag_names
from clv_warehouse.publish import remove_old_versions

__all__ = [
    "DefinitionError",
    "ProvisionError",
    "check_card_filters",
    "filter_values",
    "provision",
    "provision_compiled",
]


def check_card_filters(definitions: Definitions, compiled_sql: Mapping[str, str]) -> None:
    """Every filter a card's SQL uses belongs to its dashboard, and every filter is used."""
    for dashboard in definitions.dashboards:
        used: set[str] = set()
        for card in dashboard.cards:
            tags = set(tag_names(compiled_sql[card.analysis]))
            unknown = tags - set(dashboard.filters)
            if unknown:
                raise DefinitionError(
                    f"card {card.key} uses {', '.join(sorted(unknown))}, which dashboard"
                    f" {dashboard.key} does not define as filters"
                )
            used |= tags
        unused = set(dashboard.filters) - used
        if unused:
            names = ", ".join(sorted(unused))
            raise DefinitionError(
                f"dashboard {dashboard.key} defines filters no card uses: {names}"
            )


def filter_values(
    definitions: Definitions, compiled_sql: Mapping[str, str], published: Path
) -> dict[tuple[str, str], list[str]]:
    """The dropdown values of filters with values_from, read from the published copy."""
    values = {}
    with duckdb.connect(str(published), read_only=True) as con:
        for dashboard in definitions.dashboards:
            for key, dashboard_filter in dashboard.filters.items():
                if dashboard_filter.values_from:
                    rows = con.execute(compiled_sql[dashboard_filter.values_from]).fetchall()
                    values[(dashboard.key, key)] = [str(row[0]) for row in rows]
    return values


def provision_compiled(
    published: Path,
    definitions: Definitions,
    compiled_sql: Mapping[str, str],
    metabase: Metabase,
    manifest: Mapping | None = None,
) -> Report:
    """Point Metabase at the newest version of the published copy and make everything match
    the definitions; describe its tables from the dbt ``manifest`` (none: leave them as
    they are); then remove the versions Metabase no longer reads."""
    values = filter_values(definitions, compiled_sql, published)
    report = Provisioner(metabase, definitions, compiled_sql, values).run()
    if manifest is not None:
        relations = published_relations(published)
        report.add(*describe(metabase, manifest, definitions.database_name, relations).line())
    # Only the versions before the one Metabase now reads: a publish that ran meanwhile
    # made a newer one, which stays for the next run.
    pointed_at = PurePosixPath(metabase.settings.duckdb_path).name
    for removed in remove_old_versions(published, older_than=pointed_at):
        report.add("copy", "removed", removed.name)
    return report


def provision(published: Path, definitions_path: Path = DEFINITIONS_PATH) -> Report:
    """Create or update the collection, database, cards and dashboards on Metabase."""
    definitions = load_definitions(definitions_path)
    settings = MetabaseSettings.from_environment(published)
    if not published.exists():
        raise ProvisionError(
            f"No published copy of the warehouse at {published}: run `clv publish` after"
            " `clv build` (make dashboards does both steps)."
        )
    metabase = Metabase(settings)
    compiled = compile_dashboards(published.stem)
    check_card_filters(definitions, compiled.sql)
    return provision_compiled(published, definitions, compiled.sql, metabase, compiled.manifest)
