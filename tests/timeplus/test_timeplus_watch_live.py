"""SQL triggers' queries on a real Timeplus server: ``EXPLAIN`` refuses an unknown stream,
a plain SELECT streams appended rows with ``_tp_sn``, and a watch resumed from a row's
position does not give that row again.

Runs only when PULSE_TEST_TIMEPLUS_URL points at a Proton or Enterprise server; skipped
otherwise, saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from pulsed.errors import InvalidArgument
from pulsed.store import rows
from pulsed.store.timeplus import TimeplusStore
from pulsed.store.timeplus.watch import SqlRow, SqlWatcher, WatchPlan
from tests.timeplus.helpers import LIVE_URL, live_only, store_for_tests

URL = LIVE_URL
pytestmark = live_only
WAIT = 30.0


@pytest.fixture
async def store(request: pytest.FixtureRequest) -> AsyncIterator[TimeplusStore]:
    s = store_for_tests(URL, name=request.node.name)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def no_notice(kind: str, message: str) -> None:
    raise AssertionError(f"the watch had a problem: {kind}: {message}")


async def first_rows(
    watcher: SqlWatcher, plan: WatchPlan, sn: int | None, done: list[str], n: int
) -> AsyncIterator[list[SqlRow]]:
    """The watch's batches until ``n`` rows came (the watch is closed after)."""
    got = 0
    async with contextlib.aclosing(watcher.watch(plan, sn, done, no_notice)) as batches:
        async for batch in batches:
            yield batch
            got += len(batch)
            if got >= n:
                return


async def test_live_explain_refuses_an_unknown_stream(store: TimeplusStore) -> None:
    watcher = SqlWatcher(store.http)
    with pytest.raises(InvalidArgument, match="refused"):
        await watcher.check(f"SELECT * FROM {store.names.bare('ingest')}_no_such_stream")
    plan = await watcher.check(f"SELECT source FROM {store.names.bare('ingest')}")
    assert plan.resumable


async def test_live_a_watch_streams_rows_and_resumes_after_one(store: TimeplusStore) -> None:
    watcher = SqlWatcher(store.http)
    ingest = store.names.bare("ingest")
    plan = await watcher.check(f"SELECT source, kind FROM {ingest} WHERE source = 'live'")
    seen: list[SqlRow] = []

    async def collect(sn: int | None, done: list[str], n: int) -> None:
        async for batch in first_rows(watcher, plan, sn, done, n):
            seen.extend(batch)

    # The streams are new: reading from batch 0 on sees only what this test appends.
    reading = asyncio.create_task(collect(0, [], 1))
    await store.append("ingest", [rows.ingest_row(source="other", payload={})], durable=True)
    await store.append(
        "ingest", [rows.ingest_row(source="live", payload={}, kind="one")], durable=True
    )
    await asyncio.wait_for(reading, WAIT)
    [first] = seen
    assert first.values == {"source": "live", "kind": "one"} and first.sn is not None

    seen.clear()
    resumed = asyncio.create_task(collect(first.sn, [first.digest], 1))
    await store.append(
        "ingest", [rows.ingest_row(source="live", payload={}, kind="two")], durable=True
    )
    await asyncio.wait_for(resumed, WAIT)
    assert [r.values["kind"] for r in seen] == ["two"]
