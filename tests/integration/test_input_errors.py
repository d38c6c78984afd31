"""Settings that cannot work fail the build early, saying which setting and what it accepts.
(Input files that cannot be read are in test_bad_input.py.)"""

from __future__ import annotations

import pytest
from warehouse_builds import FIXTURES, build_warehouse

pytestmark = pytest.mark.integration


def _failed_build(tmp_path, layout, input_path, **kwargs):
    build = build_warehouse(tmp_path, layout, input_path, **kwargs)
    assert not build.succeeded, "the build should have failed"
    return build.output


def test_unknown_layout(tmp_path):
    build = build_warehouse(
        tmp_path, "cdnow", FIXTURES / "cdnow" / "1997-h1.txt", variables={"input_layout": "sap"}
    )
    assert not build.succeeded
    assert "Unknown input layout 'sap'" in build.output


def test_bad_as_of_date(tmp_path):
    output = _failed_build(
        tmp_path, "cdnow", FIXTURES / "cdnow" / "1997-h1.txt", as_of_date="01/12/1997"
    )
    assert "as_of_date must be a date written YYYY-MM-DD; got '01/12/1997'" in output


def test_unknown_input_encoding(tmp_path):
    output = _failed_build(
        tmp_path,
        "cdnow",
        FIXTURES / "cdnow" / "1997-h1.txt",
        variables={"input_encoding": "cp1252"},
        dbt_args=("run", "--select", "stg_cdnow__purchases"),
    )
    assert "Unknown input_encoding 'cp1252'" in output
    assert "Use one of: utf-8, utf-16, latin-1, or re-encode the file as UTF-8." in output


def test_generic_mapping_without_a_date_column(tmp_path):
    output = _failed_build(
        tmp_path,
        "generic",
        FIXTURES / "generic" / "sales.csv",
        variables={"generic_columns": {"customer_id": "client", "ordered_at": None}},
    )
    assert "generic_columns does not say which column holds: ordered_at" in output


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"snapshot_span_days": "a year"},
            "The var snapshot_span_days must be a whole number of days, 0 or more",
        ),
        (
            {"snapshot_span_days": 3650, "snapshot_step_days": 7},
            "snapshot_span_days (3650) and snapshot_step_days (7) ask for 522 training cutoffs;"
            " at most 60 are allowed",
        ),
    ],
    ids=["not_a_number", "too_many_cutoffs"],
)
def test_bad_cutoff_grid_span(tmp_path, variables, expected):
    output = _failed_build(
        tmp_path,
        "cdnow",
        FIXTURES / "cdnow" / "1997-h1.txt",
        variables=variables,
        dbt_args=("compile", "--select", "cutoffs"),
    )
    assert expected in output
