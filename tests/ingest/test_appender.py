"""The ingest appender on the real local store: checks, duplicates within a batch and
against what is stored, nothing stored from a refused batch, and appends arriving
together stored in one durable append with per-call results."""

from __future__ import annotations

import asyncio

import pytest

from pulsed.errors import InvalidArgument
from pulsed.ingest.appender import MAX_BATCH_ROWS, IngestItem, Ingestor, IngestResult
from pulsed.store.local import LocalStore


async def test_duplicates_are_dropped_within_and_across_batches(
    local_store: LocalStore, ingestor: Ingestor
) -> None:
    first = await ingestor.append(
        [
            IngestItem("cli", {"n": 1}, dedupe_key="a"),
            IngestItem("cli", {"n": 2}, dedupe_key="a"),
            IngestItem("cli", {"n": 3}),
            IngestItem("cli", {"n": 4}),
        ]
    )
    assert first.duplicates == 1 and len(first.stored) == 3
    assert first.seqs[1] == 0 and all(first.seqs[i] for i in (0, 2, 3))
    # A fresh appender (a restart) finds the key in the store.
    again = await Ingestor(local_store).append([IngestItem("cli", {"n": 5}, dedupe_key="a")])
    assert again.duplicates == 1 and again.stored == []
    assert [r["payload"]["n"] for r in await local_store.query("ingest", order="asc")] == [1, 3, 4]


async def test_a_bad_item_refuses_the_batch(local_store: LocalStore, ingestor: Ingestor) -> None:
    with pytest.raises(InvalidArgument, match="row 1: source"):
        await ingestor.append([IngestItem("cli", {}), IngestItem("", {})])
    with pytest.raises(InvalidArgument, match="row 0: dedupe_key"):
        await ingestor.append([IngestItem("cli", {}, dedupe_key="k" * 501)])
    with pytest.raises(InvalidArgument, match="the limit is"):
        await ingestor.append([IngestItem("cli", {})] * (MAX_BATCH_ROWS + 1))
    with pytest.raises(InvalidArgument, match="tags"):
        await ingestor.append([IngestItem("cli", {}, tags=["ok", 3])])  # type: ignore[list-item]
    assert await local_store.count("ingest") == 0


async def test_appends_arriving_together_are_stored_in_one_durable_append(
    local_store: LocalStore, ingestor: Ingestor
) -> None:
    """Group commit: calls that come while one is stored share the next store append;
    each gets what it would have had alone, in call order (seqs, duplicates across
    calls of the group dropped as a serial run drops them)."""
    requests = [
        [
            IngestItem("hook", {"n": 0}, dedupe_key="k1"),
            IngestItem("hook", {"n": 1}, dedupe_key="k2"),
        ],
        [
            IngestItem("hook", {"n": 2}, dedupe_key="k2"),
            IngestItem("hook", {"n": 3}, dedupe_key="k3"),
        ],
        [IngestItem("hook", {"n": 4}, dedupe_key="k1")],
        *([IngestItem("hook", {"n": 5 + i})] for i in range(37)),
    ]
    results = await asyncio.gather(*(ingestor.append(r) for r in requests))
    assert ingestor.groups == 1  # all were waiting before the first store append began
    assert [r.duplicates for r in results[:3]] == [0, 1, 1]
    assert results[1].seqs[0] == 0 and results[2].seqs == [0]
    seqs = [s for r in results for s in r.seqs if s]
    assert seqs == list(range(seqs[0], seqs[0] + 40))  # contiguous, in call order
    stored = await local_store.query("ingest", order="asc", limit=100)
    assert [r["payload"]["n"] for r in stored] == [0, 1, 3, *range(5, 42)]
    assert [r.seq for r in stored] == seqs
    # A later call starts a new group.
    later = await ingestor.append([IngestItem("hook", {"n": 99}, dedupe_key="k3")])
    assert later.duplicates == 1 and ingestor.groups == 2


async def test_a_row_the_store_refuses_fails_only_its_own_call(
    local_store: LocalStore, ingestor: Ingestor
) -> None:
    good = [ingestor.append([IngestItem("hook", {"n": i})]) for i in range(3)]
    bad = ingestor.append([IngestItem("hook", {"not json": object()})])
    results = await asyncio.gather(good[0], bad, good[1], good[2], return_exceptions=True)
    assert isinstance(results[1], InvalidArgument)
    assert all(
        isinstance(r, IngestResult) and len(r.stored) == 1 for r in (results[0], *results[2:])
    )
    stored = await local_store.query("ingest", order="asc")
    assert [r["payload"]["n"] for r in stored] == [0, 1, 2]


async def test_a_caller_gone_before_its_group_is_taken_stores_nothing(
    local_store: LocalStore, ingestor: Ingestor
) -> None:
    first = asyncio.ensure_future(ingestor.append([IngestItem("hook", {"n": 1})]))
    gone = asyncio.ensure_future(ingestor.append([IngestItem("hook", {"n": 2})]))
    await asyncio.sleep(0)  # one turn of the loop: both calls waiting, the drain not begun
    gone.cancel()
    assert len((await first).stored) == 1
    with pytest.raises(asyncio.CancelledError):
        await gone
    await ingestor.aclose()
    assert [r["payload"]["n"] for r in await local_store.query("ingest")] == [1]
