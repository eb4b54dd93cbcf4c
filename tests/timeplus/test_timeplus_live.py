"""The Timeplus backend's own SQL on a real server: reads past the daemon's in-memory
window (``table()``), and tails that catch up from history, then stream.

Runs only when PULSE_TEST_TIMEPLUS_URL points at a Proton or Enterprise server (the
contract suite in tests/store runs there too); skipped otherwise, saying so.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pulsed.store import schema
from pulsed.store.base import TailStart, make_filters
from pulsed.store.timeplus import TimeplusStore
from tests.store.test_store_contract import brute_force, collect, llm_rows, same_bucket
from tests.timeplus.helpers import LIVE_URL, live_only, store_for_tests

URL = LIVE_URL
pytestmark = live_only
WAIT = 30.0


@pytest.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[TimeplusStore]:
    """A store whose window lets rows go 0.5 s after Timeplus took them, so reads go to
    ``table()`` as soon as it shows them."""
    s = store_for_tests(URL, name=request.node.name, window_s=0.5)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def settled(store: TimeplusStore, stream: str, n: int) -> None:
    """Wait until every row of ``stream`` has left the window and table() counts ``n``."""
    async with asyncio.timeout(WAIT):
        while True:
            store._window.evict(stream)
            if not store._window.above_floor(stream) and await store.count(stream) == n:
                return
            await asyncio.sleep(0.2)


async def test_timeplus_live_reads_go_to_the_server(store: TimeplusStore) -> None:
    rng = random.Random(3)
    msgs: list[dict[str, Any]] = []
    for i in range(40):
        sid = f"s{i % 4}"
        msgs.append(
            {
                "session_id": sid,
                "message_type": "user_input" if i % 2 == 0 else "agent_response",
                "reply_to": "" if i % 2 == 0 else f"m{i - 1}",
                "id": f"m{i}",
                "content": {"text": f"text {i} {rng.choice(['a', 'b'])}"},
                "timestamp": f"2026-11-21T09:{i:02d}:00.000Z",
            }
        )
    msgs.append({"id": "lonely", "message_type": "user_input", "session_id": "s9"})
    await store.append("messages", msgs)
    rows = llm_rows(300)
    await store.append("llm_logs", rows)
    await store.append("tasks", [{"name": "t", "version": v} for v in (1, 2, 3)])
    await settled(store, "messages", 41)
    await settled(store, "llm_logs", 300)
    await settled(store, "tasks", 3)

    got = await store.query(
        "messages", make_filters(schema.MESSAGES, [("session_id", "eq", "s1")]), order="asc"
    )
    assert [r["id"] for r in got] == [f"m{i}" for i in range(1, 40, 4)]
    got = await store.query("messages", since="2026-11-21T09:10:00Z", until="2026-11-21T09:12:00Z")
    assert [r["id"] for r in got] == ["m11", "m10"]
    unanswered = [r["id"] for r in await store.unanswered()]
    assert "lonely" in unanswered and "m0" not in unanswered
    [task] = await store.latest_by("tasks", "name")
    assert task["version"] == 3
    sessions = await store.sessions()
    assert {s.session_id for s in sessions} == {"s0", "s1", "s2", "s3", "s9"}
    for by in ("", "model", "hour", "day", "session"):
        want = brute_force(rows, None, None, by)
        summary = await store.cost_summary(by=by)
        if by:
            assert sorted(b.key for b in summary.buckets) == sorted(want)
            for b in summary.buckets:
                same_bucket(b, want[b.key])


async def test_timeplus_live_tail_catches_up_then_streams(store: TimeplusStore) -> None:
    first = await store.append("events", [{"event_type": f"old{i}"} for i in range(30)])
    await settled(store, "events", 30)
    tail = store.tail("events", start=TailStart.after(first[9].seq), max_batch=7)
    got = await collect(tail, 20)
    assert [r["event_type"] for r in got] == [f"old{i}" for i in range(10, 30)]
    more = await store.append("events", [{"event_type": "new"}])
    [late] = await collect(tail, 1)
    assert late.seq == more[0].seq
    await tail.aclose()  # type: ignore[attr-defined]
