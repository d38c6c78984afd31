"""Session fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from warehouse_builds import Build, build_warehouse

from clv_warehouse.project import cdnow_master_path


@pytest.fixture(scope="session")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The full CDNOW master file, built once for the session, as `make run` builds it."""
    work_dir = tmp_path_factory.mktemp("cdnow")
    return build_warehouse(work_dir, "cdnow", cdnow_master_path()).assert_succeeded()
