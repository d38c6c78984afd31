"""Session fixtures shared by the integration tests, and how the tests share two workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouse_builds import Build, build_warehouse

from clv_warehouse.project import cdnow_master_path

CDNOW_GROUP = "cdnow"


@pytest.fixture(scope="session")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The full CDNOW master file, built once for the session, as `make run` builds it."""
    work_dir = tmp_path_factory.mktemp("cdnow")
    return build_warehouse(work_dir, "cdnow", cdnow_master_path()).assert_succeeded()


def files_using_the_cdnow_build(rootdir: Path) -> set[str]:
    """Test files (as in node ids) whose text names the cdnow_build fixture: a test or a
    module fixture there uses it. A conftest fixture built on it would not be seen."""
    return {
        path.relative_to(rootdir).as_posix()
        for path in (rootdir / "tests").rglob("test_*.py")
        if "cdnow_build" in path.read_text(encoding="utf-8")
    }


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`pytest -n 2 --dist loadfile` (make test): each test file runs whole on one worker, so
    its module fixtures are built once; and all the files that use the CDNOW build run on the
    same worker, so that build (a minute or more) is made once per session, not once per
    worker. (xdist's own loadgroup marks have no effect with pytest 9.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    shared = files_using_the_cdnow_build(Path(str(config.rootpath)))

    class SharedBuildScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return CDNOW_GROUP if path in shared else path

    return SharedBuildScheduling(config, log)
