from __future__ import annotations

import pytest

from clv_warehouse import cli


def test_unknown_layout_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["build", "--layout", "sap"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'sap'" in capsys.readouterr().err


def test_generic_without_input_says_what_to_do(capsys, monkeypatch):
    monkeypatch.delenv("CLV_INPUT_PATH", raising=False)
    assert cli.main(["build", "--layout", "generic"]) == 2
    assert "needs an input file: pass --input or set CLV_INPUT_PATH" in capsys.readouterr().err


def test_summary_and_sql_without_a_warehouse(tmp_path, capsys):
    missing = str(tmp_path / "none.duckdb")
    assert cli.main(["summary", "--warehouse", missing]) == 2
    assert "run `clv build` (or `make run`) first" in capsys.readouterr().err
    assert cli.main(["sql", "select 1", "--warehouse", missing]) == 2


def test_sql_reads_a_warehouse(tmp_path, capsys):
    import duckdb

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 42 as answer")
    assert cli.main(["sql", "select answer from t", "--warehouse", str(path)]) == 0
    assert "42" in capsys.readouterr().out
    assert cli.main(["sql", "select nope from t", "--warehouse", str(path)]) == 1
