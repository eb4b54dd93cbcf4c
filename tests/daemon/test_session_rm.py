"""Chat.RemoveSession and `pulsectl sessions rm` on the real daemon (local store): hidden
from the lists as a session_removed events row, --purge deletes the session's rows in
one transaction, refusals (unknown session, a running turn, no terminal to confirm on);
and a task's session titled by its task."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from typing import Any

import grpc
import pytest
from pulse.v1 import chat_pb2

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Hang, Reply
from tests.harness import ROOT, Daemon


def remove(daemon: Daemon, session: str, purge: bool = False) -> chat_pb2.RemoveSessionResponse:
    return daemon.chat().RemoveSession(
        chat_pb2.RemoveSessionRequest(session_id=session, purge=purge),
        timeout=10,
        metadata=(("x-pulse-client", "pulsectl"),),
    )


def listed(daemon: Daemon, include_removed: bool = False) -> dict[str, chat_pb2.Session]:
    request = chat_pb2.ListSessionsRequest(include_removed=include_removed)
    return {s.session_id: s for s in daemon.chat().ListSessions(request, timeout=5).sessions}


def ctl_json(daemon: Daemon, *args: str) -> Any:
    out = daemon.pulsectl(*args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_rm_hides_the_session_until_it_is_written_to_again(daemon: Daemon) -> None:
    a = send(daemon, "keep me")[0].session_id
    b = send(daemon, "hide me")[0].session_id
    out = daemon.pulsectl("sessions", "rm", b)
    assert out.returncode == 0, out.stderr
    assert f"removed session {b}" in out.stdout
    assert set(listed(daemon)) == {a}
    # Its rows stay: History has them, --all lists it marked.
    history = daemon.chat().History(chat_pb2.HistoryRequest(session_id=b), timeout=5)
    assert len(history.rows) == 2
    marked = listed(daemon, include_removed=True)
    assert marked[b].removed and not marked[a].removed
    plain = daemon.pulsectl("sessions", "list", "--all")
    assert "(removed) hide me" in plain.stdout
    [event] = rows(daemon, "events", event_type="session_removed")
    assert event["payload"] == {"session_id": b, "purged": False, "rows_deleted": 0}
    assert event["source"] == "cli"
    assert len(rows(daemon, "messages", session_id=b)) == 2
    # Written to again, it is back.
    send(daemon, "back again", session=b)
    assert set(listed(daemon)) == {a, b}
    assert listed(daemon)[b].title == "hide me"


def test_rm_of_an_unknown_session_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(grpc.RpcError) as info:
        remove(daemon, "s-nosuch")
    assert info.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    out = daemon.pulsectl("sessions", "rm", "s-nosuch")
    assert out.returncode == 1
    assert "no session 's-nosuch'" in out.stderr
    with pytest.raises(grpc.RpcError) as info:
        remove(daemon, "bad id!")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
    assert rows(daemon, "events", event_type="session_removed") == []


def test_purge_deletes_the_sessions_rows_and_counts_them(daemon: Daemon, fake_llm: FakeLLM) -> None:
    (daemon.workspace / "notes.txt").write_text("milk\n")
    fake_llm.script(Reply(tool_calls=[("read_file", {"path": "notes.txt"})]), "You need milk.")
    gone = send(daemon, "what do I need?")[0].session_id
    kept = send(daemon, "another conversation")[0].session_id
    daemon.chat().RenameSession(
        chat_pb2.RenameSessionRequest(session_id=gone, title="Shopping"), timeout=5
    )
    daemon.chat().SetSessionModel(
        chat_pb2.SetSessionModelRequest(session_id=gone, model="gpt-4o"), timeout=5
    )
    before = {
        "messages": len(rows(daemon, "messages", session_id=gone)),
        "llm_logs": len(rows(daemon, "llm_logs", session_id=gone)),
        "tool_logs": len(rows(daemon, "tool_logs", session_id=gone)),
    }
    assert before == {"messages": 4, "llm_logs": 2, "tool_logs": 1}
    kept_rows = len(rows(daemon, "messages", session_id=kept))
    costs_before = ctl_json(daemon, "costs", "--by", "session")

    done = ctl_json(daemon, "sessions", "rm", gone, "--purge", "--yes")
    # the rename and the model events; the llm_logs rows stay (money spent)
    assert done["deleted"] == {"messages": 4, "tool_logs": 1, "events": 2}
    assert done["rows_deleted"] == 7 and done["purged"] is True
    for stream in ("messages", "tool_logs"):
        assert rows(daemon, stream, session_id=gone) == []
    calls = rows(daemon, "llm_logs", session_id=gone)
    assert len(calls) == 2 and all(c["estimated_cost_usd"] > 0 for c in calls)
    assert {(c["user_message_preview"], c["assistant_response_preview"]) for c in calls} == {
        ("", "")
    }
    assert rows(daemon, "events", event_type="session_renamed") == []
    [event] = rows(daemon, "events", event_type="session_removed")
    assert event["payload"] == {"session_id": gone, "purged": True, "rows_deleted": 7}
    # The daemon forgot its model too: the one row left says "default".
    models = [e["payload"] for e in rows(daemon, "events", event_type="session_model")]
    assert models == [{"session_id": gone, "model": ""}]
    assert len(rows(daemon, "messages", session_id=kept)) == kept_rows
    assert set(listed(daemon, include_removed=True)) == {kept}
    # Costs still count the money spent, and after a restart the daily cap does too.
    costs = ctl_json(daemon, "costs", "--by", "session")
    assert costs["total"] == costs_before["total"]
    # Nothing left to remove.
    with pytest.raises(grpc.RpcError) as info:
        remove(daemon, gone, purge=True)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]
    fake_llm.script("fresh start")
    send(daemon, "hello again", session=gone)
    assert fake_llm.requests[-1].body["model"] == "fake-model"


def test_purge_without_a_terminal_needs_yes(daemon: Daemon) -> None:
    session = send(daemon, "precious")[0].session_id
    out = daemon.pulsectl("sessions", "rm", session, "--purge", input="y\n")
    assert out.returncode == 2
    assert "stdin is not a terminal" in out.stderr and "--yes" in out.stderr
    assert len(rows(daemon, "messages", session_id=session)) == 2
    assert session in listed(daemon)


def test_purge_asks_on_a_terminal(daemon: Daemon) -> None:
    session = send(daemon, "precious")[0].session_id

    def on_a_terminal(answer: str, *args: str) -> subprocess.CompletedProcess[str]:
        primary, secondary = pty.openpty()
        try:
            os.write(primary, answer.encode() + b"\n")
            return subprocess.run(
                [sys.executable, "-m", "pulsectl", "--no-start", "sessions", "rm", *args],
                env=daemon.env,
                stdin=secondary,
                capture_output=True,
                text=True,
                timeout=30,
                cwd=ROOT,
            )
        finally:
            os.close(secondary)
            os.close(primary)

    no = on_a_terminal("n", session, "--purge")
    assert no.returncode == 2 and "for good? (memories learnt in it stay;" in no.stderr
    assert "[y/N]" in no.stderr
    assert "not purged" in no.stderr
    assert len(rows(daemon, "messages", session_id=session)) == 2
    unknown = on_a_terminal("y", "s-nosuch", "--purge")
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr  # asked nothing
    assert "[y/N]" not in unknown.stderr
    yes = on_a_terminal("y", session, "--purge")
    assert yes.returncode == 0, yes.stderr
    assert f"purged session {session}: 2 rows deleted (2 messages); its LLM calls stay" in (
        yes.stdout
    )
    assert rows(daemon, "messages", session_id=session) == []


def test_a_session_with_a_running_turn_is_not_removed(daemon: Daemon, fake_llm: FakeLLM) -> None:
    release, started = threading.Event(), threading.Event()
    fake_llm.script("hello")
    first = send(daemon, "first")[0].session_id
    fake_llm.script(Hang(seconds=20, until=release, started=started))
    sender = threading.Thread(target=send, args=(daemon, "slow one", first))
    sender.start()
    try:
        assert started.wait(15)
        for purge in (False, True):
            with pytest.raises(grpc.RpcError) as info:
                remove(daemon, first, purge=purge)
            err: Any = info.value
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "cancel the turn first" in err.details()
    finally:
        release.set()
        sender.join(30)
    assert not sender.is_alive()
    assert remove(daemon, first).session_id == first  # the turn has ended


def test_a_tasks_session_is_titled_by_the_task(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script("Good morning.")
    ctl_json(
        daemon, "tasks", "add", "morning-brief", "--schedule", "0 9 * * *", "--prompt", "Brief me"
    )
    assert daemon.pulsectl("tasks", "run", "morning-brief").returncode == 0
    session = wait_for(lambda: listed(daemon).get("task:morning-brief"), what="the task's session")
    assert session.title == "task: morning-brief"
    send(daemon, "and the weather?", session="task:morning-brief")  # a person joins in
    assert listed(daemon)["task:morning-brief"].title == "task: morning-brief"
    daemon.chat().RenameSession(
        chat_pb2.RenameSessionRequest(session_id="task:morning-brief", title="Mornings"),
        timeout=5,
    )
    assert listed(daemon)["task:morning-brief"].title == "Mornings"
