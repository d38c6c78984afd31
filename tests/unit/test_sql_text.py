"""Python builds SQL from paths and settings only through clv_warehouse.sql_text."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from clv_warehouse.bench.run import Options, scan_floor_command
from clv_warehouse.sql_text import sql_identifier, sql_literal


def test_a_literal_and_an_identifier_stay_one_value():
    hostile = "x'); copy (select 1) to 'pwned.csv'; --\"$name"
    with duckdb.connect() as con:
        assert con.execute(f"select {sql_literal(hostile)}").fetchone() == (hostile,)
        column = con.execute(f"select 1 as {sql_identifier(hostile)}").description[0][0]
    assert column == hostile
    assert sql_literal(Path("/data/it's.csv")) == "'/data/it''s.csv'"


def test_a_nul_character_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        sql_literal("a\x00b")


def test_the_scan_floor_script_quotes_its_paths(tmp_path):
    """A work dir with a quote in its name gave a script whose SQL did not parse."""
    work_dir = tmp_path / "it's $x"
    options = Options(lines=10, work_dir=work_dir)
    script = scan_floor_command(options, str(work_dir / "*.parquet"))[2]
    assert "read_parquet('" + str(work_dir).replace("'", "''") + "/*.parquet')" in script
    compile(script, "scan_floor", "exec")
