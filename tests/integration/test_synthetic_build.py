"""A small generated file goes through the warehouse: every bad row is rejected with the
reason the generator gave it, and the rest is kept and reconciled."""

from __future__ import annotations

import pytest
from warehouse_builds import build_warehouse

from clv_warehouse.synthetic import generate

pytestmark = pytest.mark.integration

# The cleaning and audit models, the customers mart and their tests; the models downstream
# read the same transactions and are covered by the fixture and CDNOW builds.
AUDIT_MODELS = "+transaction_rejections +ingestion_reconciliation +transactions +customers"


def test_generated_bad_rows_are_rejected_with_their_reasons(tmp_path):
    manifest = generate("generic", 20_000, tmp_path / "data", seed=11)
    build = build_warehouse(
        tmp_path / "warehouse",
        "generic",
        manifest.input_glob,
        as_of_date=manifest.as_of_date,
        dbt_args=("build", "--select", AUDIT_MODELS, "--indirect-selection", "cautious"),
        variables={"generic_columns": manifest.generic_columns},
    ).assert_succeeded()
    rejected = dict(
        build.rows("select rejection_reason, count(*) from marts.transaction_rejections group by 1")
    )
    assert rejected == manifest.bad_rows_by_reason
    assert build.rows(
        "select raw_rows, rejected_rows, is_reconciled from marts.ingestion_reconciliation"
    ) == [(manifest.lines, manifest.bad_rows, True)]
    assert build.rows("select count(*) from marts.transactions where line_revenue < 0") == [
        (manifest.return_lines,)
    ]
