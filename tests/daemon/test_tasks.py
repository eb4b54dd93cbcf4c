"""Scheduled tasks end to end on the real daemon, driven through pulsectl: a task fires on
its own at its time and its answer shows in ``tasks history`` and reaches a ``tui`` tail;
presets; catch-up across a real restart; the agent's reminder tool through a chat turn.
(Time-driven behaviour in detail is tested in process with a manual clock:
tests/unit/test_scheduler.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import ROOT, Daemon


def ctl_json(d: Daemon, *args: str) -> Any:
    out = d.pulsectl(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def soon(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def test_a_task_fires_by_itself_and_its_answer_is_in_history(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    tail = subprocess.Popen(
        [sys.executable, "-m", "pulsectl", "--no-start", "streams", "tail", "messages"]
        + ["--where", "target=tui", "--json"],
        env=daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        fake_llm.script("Time to stretch!")
        task = ctl_json(
            daemon,
            "tasks",
            "add",
            "stretch",
            "--schedule",
            "in 2s",  # counted from the daemon's receipt: a slow add cannot make it past
            "--prompt",
            "Remind me to stretch",
            "--deliver-to",
            "tui",
            "--timeout",
            "1m",
        )
        assert task["next_run"] and task["timeout_s"] == 60

        def done() -> list[dict[str, Any]]:
            runs = ctl_json(daemon, "tasks", "history", "stretch")
            return runs if runs and runs[0]["status"] != "running" else []

        [run] = wait_for(done, timeout=20, what="the task's run")
        assert run["status"] == "ok" and run["answer"] == "Time to stretch!"
        assert run["trigger"] == "schedule" and run["delivered_to"] == "tui"
        notified = json.loads(tail.stdout.readline())  # a tui client sees it live
        assert notified["content"]["text"] == "Time to stretch!"
        assert notified["session_id"] == "task:stretch"
        [listed] = wait_for(
            lambda: [t for t in ctl_json(daemon, "tasks", "list") if t["retired_at"]],
            what="retirement",
        )
        assert listed["enabled"] is False and listed["next_run"] == ""
        [log] = rows(daemon, "llm_logs", session_id="task:stretch")
        assert log["origin"] == "task"
        plain = daemon.pulsectl("tasks", "history", "stretch")
        assert "Time to stretch!" in plain.stdout and "schedule" in plain.stdout
    finally:
        tail.terminate()
        tail.wait(10)


def test_presets_and_next_run_in_the_tasks_zone(daemon: Daemon) -> None:
    hb = ctl_json(daemon, "tasks", "add", "--preset", "heartbeat", "--disabled")
    assert (hb["name"], hb["schedule"], hb["preset"], hb["enabled"]) == (
        "heartbeat",
        "every 30m",
        "heartbeat",
        False,
    )
    brief = ctl_json(
        daemon,
        "tasks",
        "add",
        "--preset",
        "daily-briefing",
        "--schedule",
        "30 7 * * *",
        "--tz",
        "Asia/Tokyo",
        "--no-catch-up",
    )
    nxt = datetime.fromisoformat(brief["next_run"])
    assert nxt.utcoffset() == timedelta(hours=9) and (nxt.hour, nxt.minute) == (7, 30)
    assert brief["catch_up"] is False and brief["deliver_to"] == "tui"
    ctl_json(daemon, "tasks", "add", "--preset", "cost-alert")
    listing = daemon.pulsectl("tasks", "list")
    assert listing.returncode == 0, listing.stderr
    assert "07:30 JST" in listing.stdout  # plain output: the next run in the task's zone
    edited = ctl_json(daemon, "tasks", "edit", "daily-briefing", "--catch-up", "--timeout", "90")
    assert edited["catch_up"] is True and edited["timeout_s"] == 90
    missing = daemon.pulsectl("tasks", "add", "x", "--prompt", "p")
    assert missing.returncode == 2 and "--schedule required" in missing.stderr
    bad = daemon.pulsectl("tasks", "add", "--preset", "heartbeat")  # exists already
    assert bad.returncode == 1 and "exists already" in bad.stderr
    again = daemon.pulsectl("tasks", "enable", "heartbeat")
    assert again.returncode == 0 and "next run" in again.stdout


def test_catch_up_after_a_real_restart(fake_llm: FakeLLM) -> None:
    from tests.harness import fake_llm_config

    d = Daemon(fake_llm_config(fake_llm.url))
    try:
        d.start()
        fake_llm.script("caught up")
        at = soon(5)  # room for two adds on a loaded machine (a past "at" is refused)
        ctl_json(d, "tasks", "add", "late", "--schedule", f"at {at}", "--prompt", "hello")
        ctl_json(
            d,
            "tasks",
            "add",
            "skip",
            "--schedule",
            f"at {at}",
            "--prompt",
            "hello",
            "--no-catch-up",
        )
        listed = {t["name"]: t for t in ctl_json(d, "tasks", "list")}
        assert d.stop() == 0
        while datetime.now(UTC) <= datetime.fromisoformat(at) + timedelta(seconds=0.5):
            time.sleep(0.1)  # the daemon is down while the task's time passes
        d.start()

        def done() -> list[dict[str, Any]]:
            runs = ctl_json(d, "tasks", "history", "late")
            return runs if runs and runs[0]["status"] == "ok" else []

        [run] = wait_for(done, timeout=20, what="the catch-up run")
        assert run["trigger"] == "catch_up" and run["answer"] == "caught up"
        after = {t["name"]: t for t in ctl_json(d, "tasks", "list")}
        assert after["skip"]["retired_at"] and ctl_json(d, "tasks", "history", "skip") == []
        assert after["late"]["created_at"] == listed["late"]["created_at"]
        [missed] = rows(d, "events", event_type="task_missed")
        assert missed["payload"]["task"] == "skip"
    finally:
        d.stop()
        d.cleanup()


def test_the_agent_schedules_a_reminder(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            tool_calls=[
                (
                    "schedule_reminder",
                    {"when": "in 2h", "prompt": "Remind the user to call the bank"},
                )
            ]
        ),
        "I'll remind you in two hours.",
    )
    events = send(daemon, "remind me in 2 hours to call the bank", session="r1")
    assert events[-1].final.text == "I'll remind you in two hours."
    [task] = ctl_json(daemon, "tasks", "list")
    assert task["name"].startswith("reminder-") and task["created_by"] == "agent"
    assert task["deliver_to"] == "tui" and task["prompt"] == "Remind the user to call the bank"
    due = datetime.fromisoformat(task["next_run"]) - datetime.now(UTC)
    assert timedelta(hours=1, minutes=58) < due <= timedelta(hours=2)
    [result] = rows(daemon, "tool_logs", session_id="r1")
    assert result["status"] == "ok" and task["name"] in result["result_preview"]
