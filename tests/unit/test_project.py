from __future__ import annotations

from pathlib import Path

import pytest

from clv_warehouse.project import PROJECT_DIR, BuildSettings, cdnow_master_path, cdnow_sample_path


def test_cdnow_files_ship_with_lifetimes():
    master, sample = cdnow_master_path(), cdnow_sample_path()
    assert master.exists()
    assert sample.exists()
    # 69,659 purchases and a header line
    with master.open() as handle:
        assert sum(1 for _ in handle) == 69_660


def test_settings_default_to_cdnow_inside_lifetimes():
    settings = BuildSettings.from_environment({})
    assert settings.layout == "cdnow"
    assert settings.resolved_input_path() == cdnow_master_path()
    assert settings.absolute_warehouse_path() == PROJECT_DIR / "warehouse" / "clv_warehouse.duckdb"


def test_settings_read_the_environment():
    settings = BuildSettings.from_environment(
        {
            "CLV_INPUT_LAYOUT": " Online_Retail ",
            "CLV_INPUT_PATH": "data/lines.csv",
            "CLV_DUCKDB_PATH": "/tmp/w.duckdb",
            "CLV_AS_OF_DATE": "2011-12-10",
        }
    )
    assert settings.layout == "online_retail"
    assert settings.resolved_input_path() == Path("data/lines.csv")
    assert settings.absolute_warehouse_path() == Path("/tmp/w.duckdb")
    env = settings.environment(base={"PATH": "/bin", "CLV_AS_OF_DATE": "stale"})
    assert env["CLV_INPUT_LAYOUT"] == "online_retail"
    assert env["CLV_AS_OF_DATE"] == "2011-12-10"
    assert env["DO_NOT_TRACK"] == "1"
    assert env["PATH"] == "/bin"


def test_environment_drops_a_stale_as_of_date():
    env = BuildSettings().environment(base={"CLV_AS_OF_DATE": "1999-01-01"})
    assert "CLV_AS_OF_DATE" not in env


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="unknown layout 'sap'"):
        BuildSettings(layout="sap")


def test_layouts_other_than_cdnow_need_a_file():
    with pytest.raises(ValueError, match="needs an input file"):
        BuildSettings(layout="generic").resolved_input_path()
