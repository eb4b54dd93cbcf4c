"""Everyday operations on the real daemon: stop, restart, backup and restore, export."""

from __future__ import annotations

import json
import sqlite3

from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon


def test_stop_waits_until_the_daemon_is_gone(daemon: Daemon) -> None:
    assert daemon.proc is not None
    out = daemon.pulsectl("stop", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["pid"] == daemon.proc.pid
    assert daemon.proc.wait(5) == 0  # it had exited when stop returned (here: reaped)
    assert not daemon.socket.exists()
    again = daemon.pulsectl("stop")
    assert again.returncode == 3 and "not running" in again.stderr


def test_restart_brings_up_a_new_daemon(daemon: Daemon) -> None:
    assert daemon.proc is not None
    old = daemon.proc.pid
    out = daemon.pulsectl("restart", "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["old_pid"] == old and info["pid"] != old
    status = json.loads(daemon.pulsectl("status", "--json").stdout)
    assert status["pid"] == info["pid"]
    daemon.pulsectl("stop")


def test_backup_then_restore_brings_the_rows_back(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="kept answer"))
    sid = send(daemon, "remember this exchange")[0].session_id
    dest = daemon.root / "backup.db"
    out = daemon.pulsectl("store", "backup", str(dest), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["path"] == str(dest) and info["bytes"] > 0
    conn = sqlite3.connect(dest)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert (dest.stat().st_mode & 0o777) == 0o600
    exists = daemon.pulsectl("store", "backup", str(dest))
    assert exists.returncode == 1 and "--force" in exists.stderr
    # a restore is refused while the daemon holds the store
    busy = daemon.pulsectl("store", "restore", str(dest), "--yes")
    assert busy.returncode == 1 and "pulsectl stop" in busy.stderr
    send(daemon, "after the backup", session=sid)
    assert daemon.pulsectl("stop").returncode == 0
    daemon.proc.wait(5)  # type: ignore[union-attr]
    junk = daemon.root / "junk.db"
    sqlite3.connect(junk).execute("CREATE TABLE x (a)").connection.commit()
    refused = daemon.pulsectl("store", "restore", str(junk), "--yes")
    assert refused.returncode == 1 and "not a Pulse store" in refused.stderr
    done = daemon.pulsectl("store", "restore", str(dest), "--yes", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["previous"]
    daemon.start()
    rows = json.loads(daemon.pulsectl("sessions", "show", sid, "--json").stdout)
    texts = [r["content"].get("text") for r in rows]
    assert "remember this exchange" in texts and "after the backup" not in texts


def test_sessions_export_as_markdown_and_jsonl(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="Hello **there**."))
    sid = send(daemon, "hi")[0].session_id
    md = daemon.pulsectl("sessions", "export", sid)
    assert md.returncode == 0
    assert md.stdout.startswith(f"# Session {sid}") and "Hello **there**." in md.stdout
    target = daemon.root / "s.jsonl"
    out = daemon.pulsectl("sessions", "export", sid, "--format", "jsonl", "-o", str(target))
    assert out.returncode == 0
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert [r["message_type"] for r in lines] == ["user_input", "agent_response"]
    missing = daemon.pulsectl("sessions", "show", "no-such-session")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    assert daemon.pulsectl("sessions", "export", "no-such-session").returncode == 1
