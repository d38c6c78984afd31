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


def test_a_missing_input_on_spark_is_one_line_before_spark_starts(tmp_path, capsys, monkeypatch):
    """On Spark the first dbt round died with Spark's own PATH_NOT_FOUND error; the DuckDB
    target's input check names the pattern and what to do, and so does the Spark one now."""
    from clv_warehouse.spark import build

    def started(*args, **kwargs):
        raise AssertionError("a Spark build was started on an input that matches no file")

    monkeypatch.setattr(build, "build_on_spark", started)
    monkeypatch.delenv("CLV_INPUT_PATH", raising=False)
    pattern = tmp_path / "exports" / "*.csv"
    argv = ["build", "--target", "spark", "--layout", "online_retail", "--input", str(pattern)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"no file matches '{pattern}' (layout online_retail)" in err
    assert "--input or CLV_INPUT_PATH" in err


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


# --- clv sql: the connection reads the warehouse file and nothing else (issue 13, item 6) ---


def _marts_warehouse(path):
    """A warehouse with a table in marts, a view on it, and a view on that view."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.customers as select 42 as answer")
        con.execute("create view marts.answers as select answer from marts.customers")
        con.execute("create view marts.doubled as select answer * 2 as twice from marts.answers")
    return path


def test_sql_reads_views_over_views(tmp_path, capsys):
    warehouse = _marts_warehouse(tmp_path / "w.duckdb")
    assert cli.main(["sql", "select twice from marts.doubled", "--warehouse", str(warehouse)]) == 0
    assert "84" in capsys.readouterr().out


def _refused_statements(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b\n1,2\n")
    return {
        "copy": f"copy (select 1) to '{tmp_path / 'pwned.csv'}'",
        "copy_table": f"copy marts.customers to '{tmp_path / 'pwned.csv'}'",
        "attach": f"attach '{tmp_path / 'other.duckdb'}' as other (read_only false)",
        "install": "install httpfs",
        "load": "load httpfs",
        "set": "set threads = 1",
        "unlock": "set lock_configuration = false",
        "read_csv": f"select * from read_csv('{secret}')",
        "passwd": "select * from read_csv('/etc/passwd')",
        "export": f"export database '{tmp_path / 'export'}'",
        "create": "create table marts.pwned as select 1 as x",
    }


@pytest.mark.parametrize(
    "case",
    [
        "copy",
        "copy_table",
        "attach",
        "install",
        "load",
        "set",
        "unlock",
        "read_csv",
        "passwd",
        "export",
        "create",
    ],
)
def test_sql_refuses_to_write_or_read_outside_the_warehouse(tmp_path, capsys, case):
    warehouse = _marts_warehouse(tmp_path / "w.duckdb")
    query = _refused_statements(tmp_path)[case]
    assert cli.main(["sql", query, "--warehouse", str(warehouse)]) == 1
    captured = capsys.readouterr()
    message = captured.err.strip()
    assert "\n" not in message, message
    assert message.startswith("clv sql: refused"), message
    assert "reads only the warehouse" in message
    assert not (tmp_path / "pwned.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()
    assert not (tmp_path / "export").exists()
    assert "1,2" not in captured.out


@pytest.mark.parametrize("query", ["", "   ", "\n;\n"])
def test_sql_with_an_empty_query_says_so(tmp_path, capsys, query):
    warehouse = _marts_warehouse(tmp_path / "w.duckdb")
    assert cli.main(["sql", query, "--warehouse", str(warehouse)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("clv sql: the query is empty"), message
    assert "\n" not in message


def test_sql_statement_without_a_result_is_not_a_crash(tmp_path, capsys):
    warehouse = _marts_warehouse(tmp_path / "w.duckdb")
    query = "create temp table scratch as select 1 as x"
    assert cli.main(["sql", query, "--warehouse", str(warehouse)]) == 0
    assert "no result" in capsys.readouterr().out


# --- another process holds the warehouse (item 7) ---------------------------------------


def _clv(*arguments, env=None):
    import os
    import subprocess
    import sys

    from clv_warehouse.project import PROJECT_DIR

    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), "DO_NOT_TRACK": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "clv_warehouse", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        cwd=PROJECT_DIR,
        check=False,
    )


def test_a_held_warehouse_is_named_with_the_process_holding_it(tmp_path):
    import os

    import duckdb

    warehouse = _marts_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse)):
        results = {
            "sql": _clv("sql", "select 1", "--warehouse", str(warehouse)),
            "summary": _clv("summary", "--warehouse", str(warehouse)),
            # stops before dbt starts: the check opens the warehouse first
            "build": _clv("build", "--warehouse", str(warehouse)),
        }
    for command, result in results.items():
        assert result.returncode != 0, command
        assert "Traceback" not in result.stderr + result.stdout, command
        message = result.stderr.strip().splitlines()[-1]
        assert f"another process holds the warehouse {warehouse}" in message, command
        assert f"PID {os.getpid()}" in message, command
        assert "Running with dbt" not in result.stdout, command


# --- settings are checked before dbt runs (item 7) ---------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CLV_DUCKDB_MEMORY", "lots", "CLV_DUCKDB_MEMORY='lots' is not a memory size"),
        ("CLV_DUCKDB_MEMORY", "", "CLV_DUCKDB_MEMORY='' is not a memory size"),
        ("CLV_DUCKDB_THREADS", "0", "CLV_DUCKDB_THREADS='0' must be a whole number of 1 or more"),
        ("CLV_DUCKDB_THREADS", "two", "CLV_DUCKDB_THREADS='two' must be a whole number"),
        ("CLV_DBT_THREADS", "-1", "CLV_DBT_THREADS='-1' must be a whole number of 1 or more"),
        ("CLV_GENERIC_COLUMNS", "customer_id=client", "CLV_GENERIC_COLUMNS is not JSON"),
        ("CLV_GENERIC_COLUMNS", '["client"]', "CLV_GENERIC_COLUMNS must be a JSON object"),
        ("CLV_GENERIC_COLUMNS", '{"customer_id": 7}', "CLV_GENERIC_COLUMNS: customer_id"),
    ],
)
def test_bad_settings_are_named_before_dbt_runs(
    tmp_path, capsys, monkeypatch, variable, value, expected
):
    def dbt_must_not_run(*args, **kwargs):
        raise AssertionError("dbt ran with a bad setting")

    monkeypatch.setattr(cli, "run_dbt", dbt_must_not_run)
    monkeypatch.setenv(variable, value)
    data = tmp_path / "sales.csv"
    data.write_text("customer_id,ordered_at,amount\n1,2024-01-01,3\n")
    arguments = ["build", "--layout", "generic", "--input", str(data)]
    assert cli.main([*arguments, "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message, message
    assert expected in message, message


def test_generic_columns_are_not_checked_for_other_layouts(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "run_dbt", lambda *args, **kwargs: calls.append(args) or _Failed())
    monkeypatch.setenv("CLV_GENERIC_COLUMNS", "not json")
    assert cli.main(["build", "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    assert calls


class _Failed:
    returncode = 1


# --- publish ----------------------------------------------------------------------------


def _published_ready_warehouse(path, *, status="success", failed_nodes=None):
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for table in ("customers", "predictions", "customer_segments", "backtest_metrics"):
            con.execute(f"create table marts.{table} as select 1 as x")
        con.execute(
            "create table main.clv_builds (invocation_id varchar, command varchar,"
            " started_at timestamp, finished_at timestamp, status varchar, failed_nodes varchar)"
        )
        con.execute(
            "insert into main.clv_builds values ('b1', 'build', timestamp '2026-01-01',"
            " timestamp '2026-01-01 00:01', ?, ?)",
            [status, failed_nodes],
        )
    return path


def test_publish_to_an_unwritable_place_says_where_and_what_to_do(tmp_path, capsys):
    warehouse = _published_ready_warehouse(tmp_path / "w.duckdb")
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    target = blocker / "published" / "w.duckdb"
    arguments = ["publish", "--warehouse", str(warehouse), "--to", str(target)]
    assert cli.main(arguments) == 1
    message = capsys.readouterr().err.strip()
    assert "\n" not in message, message
    assert message.startswith(f"clv publish: Cannot write the published copy {target}"), message
    assert "--to" in message
    assert "CLV_PUBLISHED_PATH" in message


def test_publish_after_a_failed_build_caps_the_failed_nodes(tmp_path, capsys):
    nodes = ", ".join(f"model.clv_warehouse.model_number_{i} (skipped)" for i in range(700))
    assert len(nodes) > 30_000
    warehouse = _published_ready_warehouse(
        tmp_path / "w.duckdb", status="failed", failed_nodes=nodes
    )
    target = tmp_path / "published" / "w.duckdb"
    assert cli.main(["publish", "--warehouse", str(warehouse), "--to", str(target)]) == 1
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    assert len(message) < 1_000, len(message)
    assert "model_number_0 (skipped)" in message
    assert "more characters; see" in message
    assert not target.exists()


# --- the last line of defence (item 7) -------------------------------------------------


def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_a_log(
    tmp_path, capsys, monkeypatch
):
    def broken(args):
        raise RuntimeError("something nobody expected\nwith a second line")

    log = tmp_path / "logs" / "clv.log"
    monkeypatch.setattr(cli, "ERROR_LOG", log)
    monkeypatch.setattr(cli, "_paths", broken)
    assert cli.main(["paths"]) == 1
    message = capsys.readouterr().err.strip()
    assert message == (
        f"clv: RuntimeError: something nobody expected with a second line (traceback in {log})"
    )
    assert "Traceback (most recent call last)" in log.read_text()


def test_an_interrupt_is_not_a_success(capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_paths", interrupted)
    assert cli.main(["paths"]) == 130
    assert capsys.readouterr().err.strip() == "clv: interrupted"
