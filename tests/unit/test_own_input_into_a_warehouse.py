"""`clv build --input mine.csv` into a warehouse that holds another input (the default one,
after `make run`) rebuilds it from the new input instead of failing until --full-refresh; on
the input it holds, it stays incremental."""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from clv_warehouse import cli


@pytest.fixture
def dbt_calls(monkeypatch):
    calls = []

    def fake_run_dbt(arguments, settings, **kwargs):
        calls.append(list(arguments))
        return subprocess.CompletedProcess(arguments, 1)  # stop before the summary

    monkeypatch.setattr(cli, "run_dbt", fake_run_dbt)
    return calls


def _warehouse_holding(tmp_path, *files):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create table main.clv_input_files (source_file varchar, size_bytes bigint,"
            " fingerprint varchar, recorded_at timestamp)"
        )
        for file in files:
            con.execute("insert into main.clv_input_files values (?, 1, 'md5 x', now())", [file])
    return warehouse


def test_a_build_on_another_input_rebuilds_the_warehouse(tmp_path, dbt_calls, capsys):
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_text("customer_id,ordered_at,amount\nc1,2021-01-01,1.5\n")
    new.write_text("customer_id,ordered_at,amount\nc1,2021-01-01,1.5\n")
    warehouse = _warehouse_holding(tmp_path, str(old))
    args = ["build", "--layout", "generic", "--input", str(new), "--warehouse", str(warehouse)]
    cli.main(args)
    assert dbt_calls[-1] == ["build", "--full-refresh"]
    out = capsys.readouterr().out
    assert f"The warehouse {warehouse} holds another input ({old})" in out
    assert "rebuilding it from this one (--full-refresh). Pass --warehouse to keep both." in out

    # the same input (here a glob holding the loaded file): incremental, as before
    cli.main(["build", "--layout", "generic", "--input", str(tmp_path / "*.csv"),
              "--warehouse", str(warehouse)])  # fmt: skip
    assert dbt_calls[-1] == ["build"]
