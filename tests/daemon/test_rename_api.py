"""Chat.RenameSession on the real daemon: stored as an events row, shown by ListSessions
(and so by `pulsectl sessions list`), refused clearly when wrong."""

from __future__ import annotations

import grpc
import pytest
from pulse.v1 import chat_pb2

from tests.daemon.util import rows, send
from tests.harness import Daemon


def rename(daemon: Daemon, session: str, title: str) -> chat_pb2.RenameSessionResponse:
    return daemon.chat().RenameSession(
        chat_pb2.RenameSessionRequest(session_id=session, title=title),
        timeout=5,
        metadata=(("x-pulse-client", "pulsetui"),),
    )


def titles(daemon: Daemon) -> dict[str, str]:
    listed = daemon.chat().ListSessions(chat_pb2.ListSessionsRequest(), timeout=5).sessions
    return {s.session_id: s.title for s in listed}


def test_rename_is_listed_newest_wins_and_survives_a_restart(daemon: Daemon) -> None:
    a = send(daemon, "first session")[0].session_id
    b = send(daemon, "second session")[0].session_id
    assert rename(daemon, a, "  Groceries  ").title == "Groceries"
    assert rename(daemon, a, "Shopping list").title == "Shopping list"
    assert titles(daemon) == {a: "Shopping list", b: "second session"}
    events = rows(daemon, "events", event_type="session_renamed")
    assert [e["payload"] for e in events] == [
        {"session_id": a, "title": "Groceries"},
        {"session_id": a, "title": "Shopping list"},
    ]
    assert events[0]["source"] == "tui"
    daemon.stop()
    daemon.start()
    assert titles(daemon)[a] == "Shopping list"
    # An empty title goes back to the first message.
    assert rename(daemon, a, "").title == "first session"
    assert titles(daemon)[a] == "first session"
    listed = daemon.pulsectl("sessions", "list")
    assert listed.returncode == 0 and "first session" in listed.stdout


@pytest.mark.parametrize(
    ("session", "title", "code", "words"),
    [
        ("s-nothing-here", "x", grpc.StatusCode.NOT_FOUND, "no session"),
        ("bad id!", "x", grpc.StatusCode.INVALID_ARGUMENT, "invalid session id"),
        ("", "x", grpc.StatusCode.INVALID_ARGUMENT, "invalid session id"),
        (None, "two\nlines", grpc.StatusCode.INVALID_ARGUMENT, "one line"),
        (None, "t" * 201, grpc.StatusCode.INVALID_ARGUMENT, "limit is 200"),
    ],
)
def test_rename_refusals(
    daemon: Daemon, session: str | None, title: str, code: grpc.StatusCode, words: str
) -> None:
    if session is None:
        session = send(daemon, "hello")[0].session_id
    with pytest.raises(grpc.RpcError) as info:
        rename(daemon, session, title)
    assert info.value.code() == code  # type: ignore[attr-defined]
    assert words in info.value.details()  # type: ignore[attr-defined]
