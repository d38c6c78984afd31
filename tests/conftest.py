"""Session fixtures shared by the integration tests, and how the tests share two workers."""

from __future__ import annotations

import pytest
from warehouse_builds import Build, build_warehouse

from clv_warehouse.project import cdnow_master_path

CDNOW_GROUP = "cdnow"


@pytest.fixture(scope="session")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The full CDNOW master file, built once for the session, as `make run` builds it."""
    work_dir = tmp_path_factory.mktemp("cdnow")
    return build_warehouse(work_dir, "cdnow", cdnow_master_path()).assert_succeeded()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Groups for `pytest -n 2 --dist loadgroup` (make test): each test file runs whole on one
    worker, so its module fixtures are built once, and every file that uses the CDNOW build
    runs on the same worker, so that build (a minute or more) is made once per session."""
    uses_cdnow = {item.module.__name__ for item in items if "cdnow_build" in item.fixturenames}
    for item in items:
        module = item.module.__name__
        group = CDNOW_GROUP if module in uses_cdnow else module
        item.add_marker(pytest.mark.xdist_group(group))
