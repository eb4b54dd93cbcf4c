"""The ingest stream and trigger runs on every backend: rows with any JSON payload read
back as stored, found by dedupe_key, tailed from a cursor; trigger rows count as inputs
that recovery finds unanswered."""

from __future__ import annotations

import contextlib

from pulsed.ingest.appender import IngestItem, Ingestor
from pulsed.store import rows
from pulsed.store.base import Filter, Store, TailStart


async def test_ingest_rows_dedupe_and_tail(store: Store) -> None:
    ingestor = Ingestor(store)
    payloads = [{"a": [1, {"b": None}]}, "text", 3.5, [], {"ünï": "code"}]
    result = await ingestor.append(
        [IngestItem("cli", p, kind="k", dedupe_key=f"key-{i}") for i, p in enumerate(payloads)]
    )
    assert len(result.stored) == 5
    again = await Ingestor(store).append([IngestItem("cli", 1, dedupe_key="key-3")])
    assert again.duplicates == 1
    read = await store.query("ingest", order="asc")
    assert [r["payload"] for r in read] == payloads
    [found] = await store.query("ingest", [Filter("dedupe_key", "eq", "key-2")])
    assert found["payload"] == 3.5
    got = []
    async with contextlib.aclosing(
        store.tail("ingest", start=TailStart.after(result.seqs[1]))
    ) as tail:
        async for batch in tail:
            got += [r["payload"] for r in batch]
            if len(got) >= 3:
                break
    assert got == payloads[2:]


async def test_trigger_inputs_are_recovered(store: Store) -> None:
    values = rows.turn_input(
        source="trigger",
        session_id="task:t",
        content={"text": "go", **rows.trigger_run(
            task="t", version=1, stream="ingest", after_seq=0, upto_seq=5, seqs=[5], depth=1
        )},
        message_type="trigger",
    )  # fmt: skip
    [row] = await store.append("messages", [values])
    assert [r["id"] for r in await store.unanswered()] == [row["id"]]
