"""How `clv serve` holds the published copy: a publish (os.replace) is seen by the next
request, readers of the previous copy finish on it, and it closes after the last one."""

from __future__ import annotations

import os
import threading

import duckdb
import pytest

from clv_warehouse.api.store import REQUIRED_TABLES, PublishedCopy, Unavailable
from clv_warehouse.connections import connect_read_only, open_snapshot


def make_copy(path, value: int, tables=REQUIRED_TABLES) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        for name in tables:
            con.execute(f"create table {name} (customer_id varchar)")
        con.execute(f"create table marts.generation as select {value} as value")


def describe(con) -> dict:
    return {"value": con.execute("select value from published.marts.generation").fetchone()[0]}


def replace(tmp_path, published, value: int) -> None:
    """What `clv publish` does: write beside the copy, then rename over it."""
    staged = tmp_path / f"staged-{value}.duckdb"
    make_copy(staged, value)
    os.replace(staged, published)


def test_a_plain_reconnect_hands_back_the_old_copy_a_snapshot_does_not(tmp_path):
    published = tmp_path / "copy.duckdb"
    make_copy(published, 1)
    held = connect_read_only(published)
    replace(tmp_path, published, 2)
    with connect_read_only(published) as again:
        # DuckDB's per-path instance cache: the reason open_snapshot exists.
        assert again.execute("select value from marts.generation").fetchone()[0] == 1
    with open_snapshot(published, "published") as fresh:
        assert describe(fresh) == {"value": 2}
    held.close()


def test_a_snapshot_reads_no_other_file(tmp_path):
    published = tmp_path / "copy.duckdb"
    make_copy(published, 1)
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with open_snapshot(published, "published") as con, pytest.raises(duckdb.Error):
        con.execute(f"select * from read_csv('{tmp_path / 'secret.csv'}')").fetchall()


def test_missing_copy_is_unavailable_until_published(tmp_path):
    published = tmp_path / "published" / "copy.duckdb"
    copy = PublishedCopy(published, describe)
    with pytest.raises(Unavailable, match="run `clv publish`"), copy.reading():
        pass
    published.parent.mkdir()
    replace(tmp_path, published, 1)
    with copy.reading() as (_cursor, info):
        assert info == {"value": 1, "published_at": info["published_at"]}
    published.unlink()
    with pytest.raises(Unavailable, match="No published copy"), copy.reading():
        pass


def test_copy_without_a_mart_is_refused(tmp_path):
    published = tmp_path / "copy.duckdb"
    make_copy(published, 1, tables=REQUIRED_TABLES[1:])
    with (
        pytest.raises(Unavailable, match=f"lacks {REQUIRED_TABLES[0]}"),
        PublishedCopy(published, describe).reading(),
    ):
        pass


def test_publish_swaps_the_snapshot_and_the_old_one_closes_after_its_last_reader(tmp_path):
    published = tmp_path / "copy.duckdb"
    make_copy(published, 1)
    copy = PublishedCopy(published, describe)
    old = copy.acquire()
    assert old.info["value"] == 1
    replace(tmp_path, published, 2)

    # The first request after the publish still reads the old copy (no wait) and starts
    # opening the new one in the background; a blocking acquire then gets the new one.
    first = copy.acquire_nowait()
    assert first is old
    copy.release(first)
    for thread in threading.enumerate():
        if thread.name == "clv-serve-swap":
            thread.join(timeout=60)
    new = copy.acquire()
    assert new.info["value"] == 2
    assert copy.swaps == 1

    # The reader that held the old snapshot finishes on it; then it is closed.
    assert old.retired
    assert old.cursor().execute("select value from published.marts.generation").fetchone() == (1,)
    copy.release(old)
    with pytest.raises(duckdb.Error):
        old.con.execute("select 1")
    copy.release(new)
    copy.close()


def test_a_copy_that_cannot_be_opened_leaves_the_previous_one_serving(tmp_path, caplog):
    published = tmp_path / "copy.duckdb"
    make_copy(published, 1)
    copy = PublishedCopy(published, describe)
    with copy.reading() as (_cursor, info):
        assert info["value"] == 1
    staged = tmp_path / "broken.duckdb"
    make_copy(staged, 2, tables=REQUIRED_TABLES[1:])
    os.replace(staged, published)
    for _ in range(3):  # tried once, then not again until the file changes
        with copy.reading() as (_cursor, info):
            assert info["value"] == 1
        for thread in threading.enumerate():
            if thread.name == "clv-serve-swap":
                thread.join(timeout=60)
    assert copy.swaps == 0
    warnings = [record.getMessage() for record in caplog.records if "lacks" in record.getMessage()]
    assert len(warnings) == 1, warnings
    assert "Still serving the previous copy" in warnings[0]
    replace(tmp_path, published, 3)
    with copy.reading() as (_cursor, info):
        pass
    for thread in threading.enumerate():
        if thread.name == "clv-serve-swap":
            thread.join(timeout=60)
    with copy.reading() as (_cursor, info):
        assert info["value"] == 3
    copy.close()
