"""A socket file deleted from under a running daemon (issue 17, item 9): the daemon binds
it again and records it; pulsectl and a second pulsed say what happened and how to recover.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM
from tests.harness import ROOT, Daemon, fake_llm_config


def wait_for(cond, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def slow_check(fake_llm: FakeLLM) -> Iterator[Daemon]:
    """A daemon that checks its socket only every 60 s: the loss stays visible."""
    d = Daemon(fake_llm_config(fake_llm.url) + "\n[server]\nsocket_check_s = 60\n")
    try:
        yield d.start()
    finally:
        d.cleanup()


def test_deleted_socket_is_recreated_and_recorded(daemon: Daemon) -> None:
    pid = daemon.proc.pid
    daemon.socket.unlink()
    assert wait_for(daemon.socket.exists), "the daemon did not re-create its socket"
    out = daemon.pulsectl("status", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pid"] == pid
    events = daemon.pulsectl(
        "streams", "query", "events", "--where", "event_type=socket_recreated", "--json"
    )
    assert events.returncode == 0, events.stderr
    rows = json.loads(events.stdout)
    assert len(rows) == 1 and rows[0]["severity"] == "warning"
    assert "re-created" in daemon.log()
    # and again: every loss is noticed, not only the first
    daemon.socket.unlink()
    assert wait_for(daemon.socket.exists)
    assert daemon.pulsectl("status").returncode == 0


def test_autostarting_pulsectl_waits_for_the_live_daemon(daemon: Daemon) -> None:
    """Before: it started a second pulsed, which failed with "already serving"."""
    daemon.socket.unlink()
    out = subprocess.run(
        [sys.executable, "-m", "pulsectl", "status", "--json"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pid"] == daemon.proc.pid
    assert "already serving" not in out.stderr and "started pulsed" not in out.stderr


def test_clients_say_the_socket_is_gone_and_how_to_recover(slow_check: Daemon) -> None:
    d = slow_check
    pid = str(d.proc.pid)
    d.socket.unlink()
    out = d.pulsectl("status")
    assert out.returncode == 3
    assert f"pulsed (pid {pid}) is running but its socket {d.socket} is gone" in out.stderr
    assert f"kill {pid}" in out.stderr and "Traceback" not in out.stderr
    second = subprocess.run(
        [sys.executable, "-m", "pulsed"],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert second.returncode == 3
    assert "already serving" not in second.stderr
    assert f"pulsed (pid {pid}) is running but its socket {d.socket} is gone" in second.stderr
    assert "within 60 s" in second.stderr and f"kill {pid}" in second.stderr
