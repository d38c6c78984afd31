"""Unit tests of clv_warehouse.modeling.stage: what a Python model reads besides its refs."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from clv_warehouse.modeling import stage


class This:
    """dbt.this as a dbt-duckdb Python model sees it."""

    def __init__(self, database: str, schema: str, identifier: str) -> None:
        self.database, self.schema, self.identifier = database, schema, identifier


def test_own_table_is_none_before_the_first_build_and_the_last_table_after():
    session = duckdb.connect()
    this = This("memory", 'odd "schema', "btyd_customer_predictions")
    read = stage.own_table(session, this)
    assert read() is None
    session.execute('create schema "odd ""schema"')
    session.execute(
        'create table "odd ""schema".btyd_customer_predictions as select 1 as customer_id'
    )
    assert read().df()["customer_id"].tolist() == [1]
    # a table of that name in another schema is not the model's
    assert stage.own_table(session, This("memory", "main", "btyd_customer_predictions"))() is None


RFM_COLUMNS = ["cutoff_date", "cutoff_role", "customer_id", "frequency", "recency", "T"]
RFM_COLUMNS += ["monetary_value"]


class Inputs:
    """Inputs whose previous table must not be read by a train job."""

    def __init__(self, previous_read: list) -> None:
        self._previous_read = previous_read

    def ref(self, name, *, where=None, order=None):
        if name == "btyd_fits":
            return pd.DataFrame(columns=["cutoff_date"])
        return pd.DataFrame(columns=RFM_COLUMNS)

    def source(self, source_name, table_name):
        raise AssertionError("not read")

    def previous(self):
        self._previous_read.append(True)
        return None


SETTINGS = json.dumps(
    {
        "horizon_days": 90,
        "time_unit_days": 7,
        "penalizers": [0.0],
        "clv_months": 12,
        "monthly_discount_rate": 0.01,
    }
)


@pytest.mark.parametrize(("job", "reads"), [("train", False), ("score", True)])
def test_only_a_score_job_reads_the_last_predictions(job, reads):
    previous_read = []
    config = {
        "btyd_settings": SETTINGS,
        "release_settings": json.dumps({"job": job, "release_id": "r1"}),
    }
    table = stage.btyd_customer_predictions(Inputs(previous_read), config.get)
    assert table.empty
    assert bool(previous_read) is reads
