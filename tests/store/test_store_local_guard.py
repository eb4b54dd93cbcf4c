"""The local store's database lock and lost-database check (``pulsed.store.local.guard``),
in process and with real files; the daemon-level attacks are in
tests/daemon/test_store_guard.py."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pulsed.errors import FailedPrecondition, StoreError
from pulsed.store import schema
from pulsed.store.local import DB_NAME, LocalStore
from pulsed.store.local.guard import MARKER_NAME


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _flock_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


async def test_a_second_store_on_the_same_file_is_refused_until_the_first_closes(
    data_dir: Path,
) -> None:
    first = LocalStore(data_dir)
    await first.open()
    try:
        assert not _flock_free(data_dir / DB_NAME)
        second = LocalStore(data_dir)
        with pytest.raises(FailedPrecondition, match="already has the local store"):
            await second.open()
        await first.append("events", [{"event_type": "still mine"}])
        assert await first.health() == "ok"
    finally:
        await first.close()
    assert _flock_free(data_dir / DB_NAME)
    await second.open()
    try:
        assert [r["event_type"] for r in await second.query("events")] == ["still mine"]
    finally:
        await second.close()


async def test_the_lock_leaves_sqlites_own_locks_alone(data_dir: Path) -> None:
    """flock and SQLite's POSIX locks are independent: another process reads and writes
    the file while the store holds its lock, and the store sees its commit."""
    s = LocalStore(data_dir)
    await s.open()
    try:
        await s.append("events", [{"event_type": "ours"}])
        st = (data_dir / DB_NAME).stat()
        dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        held = [
            ln.split()
            for ln in Path("/proc/locks").read_text().splitlines()
            if f" {dev} " in f" {ln} "
        ]
        assert ["FLOCK", str(os.getpid())] in [[p[1], p[4]] for p in held]
        code = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
            "c.execute(\"INSERT INTO events (event_type) VALUES ('theirs')\"); "
            "print(c.execute('SELECT count(*) FROM events').fetchone()[0])"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(data_dir / DB_NAME)],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        assert out.stdout.strip() == "2"
        assert {r["event_type"] for r in await s.query("events")} == {"ours", "theirs"}
    finally:
        await s.close()


async def test_marker_records_the_schema_version_privately(data_dir: Path) -> None:
    s = LocalStore(data_dir)
    await s.open()
    await s.close()
    marker = data_dir / MARKER_NAME
    fields = json.loads(marker.read_text())
    assert fields["database"] == DB_NAME
    assert fields["schema_version"] == schema.SCHEMA_VERSION
    assert stat.S_IMODE(marker.stat().st_mode) == 0o600
    mtime = marker.stat().st_mtime_ns
    s = LocalStore(data_dir)
    await s.open()
    await s.close()
    assert marker.stat().st_mtime_ns == mtime  # unchanged: not rewritten


async def test_empty_db_beside_the_marker_is_refused_and_untouched(data_dir: Path) -> None:
    s = LocalStore(data_dir)
    await s.open()
    await s.append("events", [{"event_type": "kept"}])
    await s.close()
    db = data_dir / DB_NAME
    os.truncate(db, 0)
    names = sorted(os.listdir(data_dir))
    s = LocalStore(data_dir)
    with pytest.raises(StoreError, match=r"is empty \(0 bytes\).*pulse-store.json records"):
        await s.open()
    assert db.stat().st_size == 0
    assert sorted(os.listdir(data_dir)) == names
    assert _flock_free(db)  # released on the way out


async def test_missing_db_beside_a_wal_is_refused_and_not_created(data_dir: Path) -> None:
    data_dir.mkdir()
    wal = data_dir / f"{DB_NAME}-wal"
    wal.write_bytes(b"\x37\x7f\x06\x82" + b"\0" * 60)
    with pytest.raises(StoreError, match=r"is missing.*pulse.db-wal holds 64 bytes"):
        await LocalStore(data_dir).open()
    assert sorted(os.listdir(data_dir)) == [wal.name]


async def test_empty_db_without_evidence_opens(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / DB_NAME).touch()
    (data_dir / f"{DB_NAME}-wal").touch()  # empty: holds nothing
    s = LocalStore(data_dir)
    await s.open()
    try:
        assert await s.health() == "ok"
    finally:
        await s.close()


async def test_a_failed_open_releases_the_lock(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        await LocalStore(data_dir).open()
    assert _flock_free(data_dir / DB_NAME)
    assert not (data_dir / MARKER_NAME).exists()
