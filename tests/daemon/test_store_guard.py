"""The database guards, attacked with real daemons and real files (issue 17 items 8 and 10).

- Two daemons must never share one ``pulse.db``, even when the lock files beside it
  (the socket's ``.lock`` and ``pulsed.lock``) are deleted: the store locks the database
  file itself.
- A ``pulse.db`` that is empty (0 bytes) or missing while the data dir shows it held data
  (a non-empty ``pulse.db-wal`` or the store's ``pulse-store.json`` marker) is refused,
  not silently replaced by an empty store; nothing of what is there is touched.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulse.v1 import system_pb2

from tests.daemon.util import kinds, send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refused(d: Daemon) -> str:
    """Start ``d``, expect it to exit (not serve); its exit code must be non-zero.

    Returns:
        Its log (stderr included).
    """
    with pytest.raises(RuntimeError, match="pulsed exited with"):
        d.start()
    assert d.proc is not None and d.proc.returncode != 0
    return d.log()


@pytest.fixture
def second(fake_llm: FakeLLM) -> Iterator[Daemon]:
    """A daemon of its own root (socket, config, log), for a data dir the test picks."""
    d = Daemon(fake_llm_config(fake_llm.url))
    try:
        yield d
    finally:
        d.cleanup()


# -- item 8: one database, one daemon ----------------------------------------------------


def test_second_daemon_refused_on_shared_db_even_without_lock_files(
    daemon: Daemon, second: Daemon, fake_llm: FakeLLM
) -> None:
    locks = [daemon.socket.with_name(daemon.socket.name + ".lock"), daemon.data_dir / "pulsed.lock"]
    for lock in locks:
        assert lock.exists()
        lock.unlink()
    second.data_dir = daemon.data_dir  # same database, another socket
    assert second.socket != daemon.socket

    log = _refused(second)

    assert second.proc is not None and second.proc.returncode == 3
    db = daemon.data_dir / "pulse.db"
    assert f"another pulsed (pid {daemon.proc.pid}) is using {db}" in log
    assert not second.socket.exists()
    # The first daemon was not disturbed: it still answers, and still owns the store.
    st = daemon.system().Status(system_pb2.StatusRequest(), timeout=5)
    assert st.pid == daemon.proc.pid and st.store_health == "ok"
    fake_llm.script(Reply(text="still here"))
    events = send(daemon, "are you there?")
    assert kinds(events)[-1] == "final" and events[-1].final.text == "still here"


def test_db_lock_released_on_stop(daemon: Daemon, second: Daemon) -> None:
    assert daemon.stop() == 0
    second.data_dir = daemon.data_dir
    second.start()
    st = second.system().Status(system_pb2.StatusRequest(), timeout=5)
    assert st.pid == second.proc.pid


# -- item 10: an emptied database is refused, not replaced --------------------------------


def _with_data(d: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="noted"))
    assert kinds(send(d, "remember this"))[-1] == "final"


def test_truncated_db_after_clean_stop_is_refused(daemon: Daemon, fake_llm: FakeLLM) -> None:
    _with_data(daemon, fake_llm)
    assert daemon.stop() == 0
    db = daemon.data_dir / "pulse.db"
    marker = daemon.data_dir / "pulse-store.json"
    assert db.stat().st_size > 0
    before = _digest(marker) if marker.exists() else None
    os.truncate(db, 0)

    log = _refused(daemon)

    assert f"the local store at {db} is empty (0 bytes)" in log
    assert "pulse-store.json" in log and "schema version" in log
    assert "Restore pulse.db from a backup" in log and "to start fresh" in log
    assert db.stat().st_size == 0  # nothing was created in its place
    assert marker.exists() and _digest(marker) == before
    assert not (daemon.data_dir / "pulse.db-wal").exists()


def test_truncated_db_after_crash_is_refused_and_wal_kept(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    _with_data(daemon, fake_llm)
    daemon.kill9()
    db = daemon.data_dir / "pulse.db"
    wal = daemon.data_dir / "pulse.db-wal"
    assert wal.stat().st_size > 0  # the crash left committed rows in the WAL
    wal_before = _digest(wal)
    os.truncate(db, 0)

    log = _refused(daemon)

    assert f"the local store at {db} is empty (0 bytes)" in log
    assert f"pulse.db-wal holds {wal.stat().st_size} bytes" in log
    assert db.stat().st_size == 0
    assert _digest(wal) == wal_before


def test_missing_db_with_marker_is_refused(daemon: Daemon, fake_llm: FakeLLM) -> None:
    _with_data(daemon, fake_llm)
    assert daemon.stop() == 0
    db = daemon.data_dir / "pulse.db"
    db.unlink()

    log = _refused(daemon)

    assert f"the local store at {db} is missing" in log
    assert not db.exists()


def test_fresh_and_empty_db_without_evidence_start(second: Daemon) -> None:
    # A brand-new data dir (the fixture's daemons cover it too) ...
    second.start()
    assert second.stop() == 0
    # ... and a 0-byte pulse.db nobody wrote to (e.g. `touch`) with no other trace.
    for name in os.listdir(second.data_dir):
        os.unlink(second.data_dir / name)
    (second.data_dir / "pulse.db").touch()
    second.start()
    st = second.system().Status(system_pb2.StatusRequest(), timeout=5)
    assert st.store_health == "ok" and st.schema_version >= 1
