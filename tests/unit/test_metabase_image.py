"""dashboards/Dockerfile and compose.yaml: the Metabase release and the DuckDB driver release
that declares support for it, checksum-verified downloads, a published copy that driver's
DuckDB can open, and Metabase on loopback only (issue 17)."""

from __future__ import annotations

import re

import yaml

from clv_warehouse.dashboards.metabase import IMAGE_VERSION, MINIMUM_VERSION, _parse_version
from clv_warehouse.project import PROJECT_DIR
from clv_warehouse.publish import STORAGE_VERSION

DOCKERFILE = (PROJECT_DIR / "dashboards" / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((PROJECT_DIR / "dashboards" / "compose.yaml").read_text())
# Checked pairing (docs/dashboards-and-report.md): the driver's own
# Dockerfile and README pair Metabase 0.58.9 with driver 1.4.3.1; its 1.5.x releases are
# built for Metabase 0.59 (1.5.1.0-1.5.3.0) and 0.62+ (later ones).
CHECKED_PAIRING = ("0.58.9", "1.4.3.1")


def _arguments() -> dict[str, str | None]:
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"^ARG (\w+)(?:=(\S+))?$", DOCKERFILE, re.MULTILINE)
    }


def test_the_image_pairs_metabase_with_the_driver_release_made_for_it():
    arguments = _arguments()
    pairing = (arguments["METABASE_VERSION"], arguments["METABASE_DUCKDB_DRIVER_VERSION"])
    assert pairing == CHECKED_PAIRING
    build_args = COMPOSE["services"]["metabase"]["build"]["args"]
    assert (build_args["METABASE_VERSION"], build_args["METABASE_DUCKDB_DRIVER_VERSION"]) == (
        CHECKED_PAIRING
    )
    assert CHECKED_PAIRING[0] == IMAGE_VERSION
    assert _parse_version(f"v{IMAGE_VERSION}") >= MINIMUM_VERSION


def test_the_published_copy_is_in_a_format_the_drivers_duckdb_reads():
    # The driver's first three numbers are the DuckDB it embeds; DuckDB reads storage
    # formats up to its own major.minor.
    embedded = tuple(int(part) for part in CHECKED_PAIRING[1].split(".")[:2])
    written = tuple(int(part) for part in STORAGE_VERSION.lstrip("v").split(".")[:2])
    assert written <= embedded


def test_both_downloads_are_checked_against_a_sha256_that_must_be_given():
    arguments = _arguments()
    for name in ("METABASE_JAR_SHA256", "DUCKDB_DRIVER_JAR_SHA256"):
        assert name in arguments
        assert arguments[name] is None, f"{name}: no default checksum"
        assert f'test -n "${{{name}}}"' in DOCKERFILE or f'-n "${{{name}}}"' in DOCKERFILE
        assert name in COMPOSE["services"]["metabase"]["build"]["args"]
    assert "sha256sum --check --strict" in DOCKERFILE


def test_metabase_listens_on_loopback_only_by_default():
    (port,) = COMPOSE["services"]["metabase"]["ports"]
    assert port.startswith("${METABASE_BIND:-127.0.0.1}:3000:"), port
