"""The ingest appender on the real local store: checks, duplicates within a batch and
against what is stored, nothing stored from a refused batch."""

from __future__ import annotations

import pytest

from pulsed.errors import InvalidArgument
from pulsed.ingest.appender import MAX_BATCH_ROWS, IngestItem, Ingestor
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
