"""pulsectl against a real daemon: JSON output, exit codes, tails, auto-start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.fakes.llm import FakeLLM
from tests.harness import ROOT, Daemon


def test_status_json(daemon: Daemon) -> None:
    out = daemon.pulsectl("status", "--json")
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st["pid"] == daemon.proc.pid and st["store_backend"] == "local"
    assert out.stderr == ""


def test_chat_prints_answer_on_stdout_only(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script("The answer is 42.")
    out = daemon.pulsectl("chat", "question", "-s", "cli-1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "The answer is 42."
    again = daemon.pulsectl("sessions", "show", "cli-1", "--json")
    assert again.returncode == 0, again.stderr
    rows = json.loads(again.stdout)
    assert [r["message_type"] for r in rows][-2:] == ["user_input", "agent_response"]


def test_chat_json_lines(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script("hi")
    out = daemon.pulsectl("chat", "hello", "--json")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert "accepted" in events[0] and "final" in events[-1]
    assert events[-1]["final"]["text"] == "hi"


def test_chat_error_exit_1(daemon: Daemon, fake_llm: FakeLLM) -> None:
    from tests.fakes.llm import Fail

    fake_llm.script(Fail(500, times=5))
    out = daemon.pulsectl("chat", "boom")
    assert out.returncode == 1
    assert "provider_error" in out.stderr


def test_query_where_and_bad_where(daemon: Daemon, fake_llm: FakeLLM) -> None:
    daemon.pulsectl("chat", "one", "-s", "q1")
    daemon.pulsectl("chat", "two", "-s", "q2")
    out = daemon.pulsectl("streams", "query", "messages", "--where", "session_id=q2", "--json")
    assert out.returncode == 0, out.stderr
    assert {r["session_id"] for r in json.loads(out.stdout)} == {"q2"}
    bad = daemon.pulsectl("streams", "query", "messages", "--where", "session_id")
    assert bad.returncode == 2
    unknown = daemon.pulsectl("streams", "query", "nope")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
    badcol = daemon.pulsectl("streams", "query", "messages", "--where", "nope=1")
    assert badcol.returncode == 1 and "INVALID_ARGUMENT" in badcol.stderr
    since = daemon.pulsectl("streams", "query", "messages", "--since", "yesterday-ish")
    assert since.returncode == 2


def test_tail_from_earliest_streams_rows(daemon: Daemon, fake_llm: FakeLLM) -> None:
    daemon.pulsectl("chat", "tail me", "-s", "t1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pulsectl",
            "--no-start",
            "streams",
            "tail",
            "messages",
            "--from",
            "earliest",
            "--where",
            "session_id=t1",
            "--json",
        ],
        env=daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        first = json.loads(proc.stdout.readline())
        assert first["message_type"] == "user_input" and "seq" in first
        second = json.loads(proc.stdout.readline())
        assert second["message_type"] == "agent_response"
        daemon.pulsectl("chat", "live row", "-s", "t1")  # arrives while tailing
        third = json.loads(proc.stdout.readline())
        assert third["content"]["text"] == "live row"
    finally:
        proc.terminate()
        proc.wait(10)


def test_invalid_schedule_is_a_clear_error(daemon: Daemon) -> None:
    out = daemon.pulsectl("tasks", "add", "t", "--schedule", "every 5s", "--prompt", "p")
    assert out.returncode == 1
    assert "shortest interval is 10s" in out.stderr and "every 30m" in out.stderr
    out = daemon.pulsectl("tasks", "add", "t", "--schedule", "0 9 * * *", "--prompt", "p", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == "t"
    listing = json.loads(daemon.pulsectl("tasks", "list", "--json").stdout)
    assert listing[0]["schedule"] == "0 9 * * *" and listing[0]["next_run"]


def test_no_daemon_and_no_start_exits_3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    d = Daemon("")
    try:
        out = d.pulsectl("status")
        assert out.returncode == 3
        assert "no daemon answers" in out.stderr
    finally:
        d.cleanup()


def test_autostart_when_no_daemon(fake_llm: FakeLLM) -> None:
    d = Daemon("")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pulsectl", "status", "--json"],
            env=d.env,
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
        )
        assert out.returncode == 0, out.stderr
        assert "started pulsed" in out.stderr
        pid = json.loads(out.stdout)["pid"]
        os.kill(pid, 15)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("auto-started daemon did not stop on SIGTERM")
    finally:
        d.cleanup()
