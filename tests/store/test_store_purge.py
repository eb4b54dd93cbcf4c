"""``Store.purge_session`` on the local store: the session's messages, tool rows and
events go in one transaction, its LLM calls stay (previews blanked) so costs and the
rollup still count them, memories (with their full-text index) stay, sequence numbers
are not reused; other backends refuse by default."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pulsed.errors import FailedPrecondition, InvalidArgument, StoreError
from pulsed.store import rows
from pulsed.store.local import DB_NAME, LocalStore
from pulsed.store.local import purge as purge_sql
from tests.store.test_store_base import Recording


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    s = LocalStore(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def llm(session: str, cost: float) -> dict[str, Any]:
    return {
        "timestamp": "2026-12-01T10:30:00.000Z",
        "model": "m",
        "provider": "p",
        "origin": "chat",
        "session_id": session,
        "estimated_cost_usd": cost,
        "status": "success",
        "user_message_preview": "hello",
        "assistant_response_preview": "hi there",
    }


async def fill(store: LocalStore, session: str, cost: float) -> None:
    text = {"text": f"hello from {session}"}
    await store.append(
        "messages",
        [
            {"session_id": session, "message_type": "user_input", "content": text},
            {"session_id": session, "message_type": "agent_response", "content": text},
        ],
    )
    await store.append("llm_logs", [llm(session, cost)])
    await store.append("tool_logs", [{"session_id": session, "tool": "read_file"}])
    await store.append(
        "events",
        [
            rows.event("session_renamed", source="tui", payload={"session_id": session}),
            rows.event("session_removed", source="tui", payload={"session_id": session}),
            rows.event("daemon_started", source="pulsed", payload={"pid": 1}),
        ],
    )
    await store.append(
        "memory",
        [
            rows.memory_version(
                id=f"mem-{session}", content="likes oat milk", source_session_id=session
            )
        ],
    )


async def test_purge_deletes_the_sessions_rows_only(store: LocalStore) -> None:
    await fill(store, "gone", 1.0)
    await fill(store, "kept", 0.25)
    last = await store.last_seq("messages")
    deleted = await store.purge_session("gone", keep_events=("session_removed",))
    assert deleted == {"messages": 2, "tool_logs": 1, "events": 1}
    for stream in ("messages", "tool_logs"):
        left = await store.query(stream, limit=100)
        assert {r["session_id"] for r in left} == {"kept"}
    # The LLM calls stay (money spent), without what they quoted of the conversation.
    calls = {r["session_id"]: r for r in await store.query("llm_logs", limit=100)}
    assert calls.keys() == {"gone", "kept"}
    assert calls["gone"]["user_message_preview"] == ""
    assert calls["gone"]["assistant_response_preview"] == ""
    assert calls["gone"]["estimated_cost_usd"] == pytest.approx(1.0)
    assert calls["kept"]["user_message_preview"] == "hello"
    events = [(r["event_type"], r["payload"]) for r in await store.query("events", limit=100)]
    assert ("session_renamed", {"session_id": "gone"}) not in events
    assert ("session_removed", {"session_id": "gone"}) in events  # kept as asked
    assert ("session_renamed", {"session_id": "kept"}) in events
    # Costs (rollup and rows alike, whole and partial hours) still count both sessions.
    assert (await store.cost_summary()).total.cost_usd == pytest.approx(1.25)
    part = await store.cost_summary(since="2026-12-01T10:15:00Z", until="2026-12-01T10:45:00Z")
    assert part.total.cost_usd == pytest.approx(1.25)
    by_session = (await store.cost_summary(by="session")).buckets
    assert sorted(b.key for b in by_session) == ["gone", "kept"]
    # Memories stay, and their full-text index still finds them.
    found = await store.memory_search(["oat"])
    assert sorted(r["source_session_id"] for r, _ in found) == ["gone", "kept"]
    # Sessions and new rows: the gap stays, seqs go on.
    assert [s.session_id for s in await store.sessions()] == ["kept"]
    new = await store.append("messages", [{"session_id": "x", "message_type": "user_input"}])
    assert new[0].seq == last + 1
    assert await store.purge_session("gone", keep_events=("session_removed",)) == {
        "messages": 0,
        "tool_logs": 0,
        "events": 0,
    }


async def test_a_failing_purge_changes_nothing(store: LocalStore, monkeypatch: Any) -> None:
    await fill(store, "gone", 1.0)
    real = purge_sql.purge

    def half_then_fail(conn: sqlite3.Connection, *args: Any) -> dict[str, int]:
        real(conn, *args)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(purge_sql, "purge", half_then_fail)
    with pytest.raises(StoreError, match="nothing was changed"):
        await store.purge_session("gone")
    conn = sqlite3.connect(store.data_dir / DB_NAME)
    try:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM llm_logs_hourly").fetchone()[0] == 1
    finally:
        conn.close()
    assert (await store.cost_summary()).total.cost_usd == pytest.approx(1.0)


async def test_purge_arguments_and_the_default_refusal(store: LocalStore) -> None:
    with pytest.raises(InvalidArgument):
        await store.purge_session("")
    other = Recording()
    with pytest.raises(FailedPrecondition, match="cannot delete rows"):
        await other.purge_session("s")
