"""WAL checkpoints on their own thread (``pulsed.store.local.checkpoint``): the wal-index
header read agrees with SQLite's own count, the store's checkpointer runs when the WAL
grows past the threshold and keeps it bounded, and a header that does not read as
documented leaves SQLite's autocheckpoint in place."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from pulsed.store.local import DB_NAME, LocalStore
from pulsed.store.local.checkpoint import (
    BOUND_FRAMES,
    DEFAULT_AUTOCHECKPOINT,
    THRESHOLD_FRAMES,
    WalIndex,
)

WAIT_S = 30.0
PAGE = 4096


def wal_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (x TEXT)")
    return conn


def test_pending_frames_agree_with_sqlite(tmp_path: Path) -> None:
    conn = wal_db(tmp_path / "a.db")
    index = WalIndex.open(tmp_path / "a.db", PAGE)
    assert index is not None
    try:
        for n in (1, 50, 300):
            conn.executemany("INSERT INTO t VALUES (?)", [("x" * 3000,)] * n)
            # PRAGMA wal_checkpoint answers (busy, frames in the WAL, frames copied);
            # a readers' snapshot held open keeps the copy partial.
            reader = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM t").fetchone()
            conn.executemany("INSERT INTO t VALUES (?)", [("y" * 3000,)] * n)
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert frames > copied > 0
            assert index.pending() == frames - copied
            reader.execute("COMMIT")
            reader.close()
            _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            assert frames == copied
            assert index.pending() == 0
    finally:
        index.close()
        conn.close()


def test_header_not_as_documented_is_not_read(tmp_path: Path) -> None:
    conn = wal_db(tmp_path / "a.db")
    try:
        conn.execute("INSERT INTO t VALUES ('x')")
        assert WalIndex.open(tmp_path / "a.db", 8192) is None  # wrong page size
        assert WalIndex.open(tmp_path / "missing.db", PAGE) is None  # no -shm file
        (tmp_path / "junk.db-shm").write_bytes(b"\x07" * 200)
        assert WalIndex.open(tmp_path / "junk.db", PAGE) is None  # not a wal-index
        (tmp_path / "short.db-shm").write_bytes(b"\x00" * 10)
        assert WalIndex.open(tmp_path / "short.db", PAGE) is None  # too short to map
    finally:
        conn.close()


def autocheckpoint(store: LocalStore) -> int:
    conn = store._writer._conn
    assert conn is not None
    return int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


async def test_checkpoints_run_off_the_writer_and_bound_the_wal(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "data")
    await store.open()
    try:
        checkpointer = store._writer.checkpointer
        assert checkpointer is not None
        # The writer's own autocheckpoint is only the bound.
        assert await store._writer.call(autocheckpoint, store) == BOUND_FRAMES
        big = "z" * 3500  # about one page a row
        for _ in range(3 * THRESHOLD_FRAMES // 200):
            await store.append("messages", [{"content": big} for _ in range(200)])
        assert await asyncio.to_thread(checkpointer.wait_runs, 2, WAIT_S)
        # Checkpointed while appends went on: what is left in the WAL is under the
        # threshold once the last run is over (PASSIVE: nothing held a snapshot).
        runs = checkpointer.runs
        await store.append("messages", [{"content": "one more"}])
        assert checkpointer._index.pending() < THRESHOLD_FRAMES + 200
        assert checkpointer.runs >= runs
        assert len(await store.query("messages", limit=10_000)) == 3 * THRESHOLD_FRAMES + 1
    finally:
        await store.close()
    assert not (tmp_path / "data" / f"{DB_NAME}-wal").exists()  # the last close checkpointed


async def test_without_a_readable_header_sqlite_checkpoints_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_header = WalIndex.open
    monkeypatch.setattr(WalIndex, "open", classmethod(lambda cls, db, page_size: None))
    store = LocalStore(tmp_path / "data")
    await store.open()
    index = read_header(tmp_path / "data" / DB_NAME, PAGE)
    assert index is not None
    try:
        assert store._writer.checkpointer is None
        assert await store._writer.call(autocheckpoint, store) == DEFAULT_AUTOCHECKPOINT
        await store.append("messages", [{"content": "x" * 3500} for _ in range(600)])
        assert 600 <= index.pending() < DEFAULT_AUTOCHECKPOINT
        # Past 1000 pages, SQLite's own autocheckpoint copies the WAL at the commit.
        await store.append("messages", [{"content": "x" * 3500} for _ in range(600)])
        assert index.pending() == 0
    finally:
        index.close()
        await store.close()
