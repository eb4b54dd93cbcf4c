"""Issue 17 item 1 on the real daemon: the disk under the store fills up during a turn.

The data dir is a small tmpfs; a turn's answer is held back at the fake LLM until the
test has filled the disk, so every append of the turn fails. The client must get an error
event at once (not wait forever), ``status`` must say the store cannot write, and once
space is freed the unanswered input must be answered without a restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from pulse.v1 import system_pb2

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Hang, Reply
from tests.harness import Daemon, fake_llm_config

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None,
    reason="mounting a tmpfs for the data dir needs root and mount(8) (CI runs as root)",
)


def fill(dir_: Path) -> Path:
    """Write a file in ``dir_`` until its file system is full; returns the file."""
    filler = dir_ / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * (256 * 1024))
            f.flush()
    return filler


def test_full_disk_ends_the_turn_and_the_input_is_answered_later(fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url))
    d.data_dir.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(d.data_dir)], check=True
    )
    try:
        d.start()
        assert send(d, "warm up")[-1].WhichOneof("event") == "final"
        started, release = threading.Event(), threading.Event()
        fake_llm.script(Hang(seconds=30, started=started, until=release, reply=Reply(text="late")))
        ended: list[object] = []
        client = threading.Thread(target=lambda: ended.append(send(d, "slow one", timeout=60)))
        client.start()
        assert started.wait(15), "the turn never reached the LLM"
        filler = fill(d.data_dir)
        released_at = time.monotonic()
        release.set()
        client.join(30)
        assert not client.is_alive(), "the client still waits for a turn that cannot be stored"
        took = time.monotonic() - released_at
        events = ended[0]
        assert isinstance(events, list)
        last = events[-1]
        assert last.WhichOneof("event") == "error", last
        assert last.error.code == "store_unavailable", last.error
        assert "answered once the store can write again" in last.error.message
        print(f"client told after {took:.2f} s")
        health = d.system().Status(system_pb2.StatusRequest(), timeout=5).store_health
        assert "appends are failing" in health, health

        filler.unlink()
        inputs = rows(d, "messages", message_type="user_input")
        slow = next(r for r in inputs if r["content"].get("text") == "slow one")
        answers = wait_for(
            lambda: rows(d, "messages", reply_to=slow["id"]), timeout=60, what="the late answer"
        )
        assert [a["message_type"] for a in answers] == ["agent_response"]
        health = d.system().Status(system_pb2.StatusRequest(), timeout=5).store_health
        assert "appends are failing" not in health, health
        assert rows(d, "events", event_type="store_writable")
    finally:
        d.stop()
        subprocess.run(["umount", "-l", str(d.data_dir)], check=False)
        d.cleanup()
