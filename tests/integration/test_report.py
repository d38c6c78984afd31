"""`clv report` on the shared CDNOW build: one self-contained HTML file with every card of
the four dashboards, opened in headless Chromium (Debian's `chromium`, installed by
`make chromium`): every card is there with its title, the page logs no error, and the
screenshot is not blank (issue 17).

Set CLV_REPORT_SCREENSHOT=path/to.png to keep the screenshot (docs/clv_report.png comes from here).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clv_warehouse.dashboards.definitions import load_definitions
from clv_warehouse.project import PROJECT_DIR

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("CLV_CHROMIUM", "/usr/bin/chromium")
CLV = str(Path(sys.executable).parent / "clv")
DEFINITIONS = load_definitions()
# Chromium's own complaints about the machine (no D-Bus, no GPU) are not the page's.
# Every console message of the page (the page has no script: any is an error) and every
# failed load.
CONSOLE = re.compile(r":CONSOLE[:(]|net::ERR_")


def _chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package)")
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _page_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


class _Titles(HTMLParser):
    """The card titles (h3 inside div.card) of a page."""

    def __init__(self):
        super().__init__()
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self._in_title = tag == "h3"
        if self._in_title:
            self.titles.append("")

    def handle_endtag(self, tag):
        if tag == "h3":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles[-1] += data


def _png_pixels(png: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG, with zlib only."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data, width, height = 8, b"", 0, 0
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        chunk = png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            data += chunk
        position += 12 + length
    return width, height, zlib.decompress(data)


@pytest.fixture(scope="module")
def report(cdnow_build, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("report") / "clv_report.html"
    env = {**os.environ, "CLV_DUCKDB_PATH": str(cdnow_build.warehouse), "DO_NOT_TRACK": "1"}
    result = subprocess.run(
        [CLV, "report", "--out", str(out)],
        cwd=PROJECT_DIR,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    return {"result": result, "out": out, "text": out.read_text() if out.exists() else ""}


def test_clv_report_writes_one_self_contained_file(report):
    result = report["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(DEFINITIONS.cards())} cards" in result.stdout
    text = report["text"]
    # Nothing is fetched: no script, no external reference, and a policy that forbids both.
    assert "<script" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
    assert "default-src 'none'" in text
    for dashboard in DEFINITIONS.dashboards:
        assert f'id="{dashboard.key}"' in text
    assert text.count("<svg") == sum(
        card.display in ("bar", "line", "row") for card in DEFINITIONS.cards()
    )


def test_every_card_renders_in_chromium_without_errors(report, tmp_path):
    page = report["out"]
    dom = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _page_errors(dom.stderr) == []
    titles = _Titles()
    titles.feed(dom.stdout)
    assert sorted(titles.titles) == sorted(card.name for card in DEFINITIONS.cards())

    screenshot = tmp_path / "report.png"
    shot = _chromium(
        f"--screenshot={screenshot}",
        "--window-size=1400,2400",
        page.as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _page_errors(shot.stderr) == []
    width, height, pixels = _png_pixels(screenshot.read_bytes())
    assert (width, height) == (1400, 2400)
    assert len(set(pixels)) > 32, "the screenshot is blank"
    keep = os.environ.get("CLV_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(screenshot, keep)


def test_the_error_check_sees_a_page_that_reaches_for_the_network(report, tmp_path):
    """The check above would catch a page that fetches something: the same policy makes
    Chromium log the refusal."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        report["text"].replace("</body>", '<img src="https://example.invalid/x.png"></body>')
    )
    dom = _chromium("--dump-dom", broken.as_uri(), profile=tmp_path / "profile")
    assert _page_errors(dom.stderr), dom.stderr[-2000:]
