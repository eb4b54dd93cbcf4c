"""The local store's column-wise batch preparation (``columns.ColumnPrep``) and chunked
multi-row INSERTs: the fast path gives exactly what the row-wise reference gives, hands
every batch it cannot prove equal to the row-wise path, never touches the caller's rows,
and batches of any size keep contiguous seqs, order, tails and whole-batch refusal."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pulsed.errors import InvalidArgument
from pulsed.store import schema
from pulsed.store.base import TailStart
from pulsed.store.local import LocalStore
from pulsed.store.local.codec import INSERT_CHUNK, Codec, Fresh
from tests.store.test_store_local_batch import reference, strip_fresh

FAST: dict[str, list[Any]] = {
    "string": ["", "text", "ünïcode", None],
    "int": [0, -5, 2**40, None],
    "float": [0.5, -1.25, None],
    "bool": [True, False, None],
    "datetime": ["", "2026-11-21T09:00:00.000Z", None],
    "json": [{"a": [1, 2]}, [], "s", 3, None, {}],
    "array(string)": [[], ["a", "b"], ("x",), None],
    "array(float)": [[], [1, 2.5], None],
}
"""Values already in their stored form (or None): what the column-wise path takes."""


def fast_rows(s: schema.Stream, n: int) -> list[dict[str, Any]]:
    """Rows mixing given, None and omitted values of every column (ids in some rows,
    timestamps in some), each value one the column-wise path accepts."""
    out = []
    for i in range(n):
        row: dict[str, Any] = {}
        for j, c in enumerate(s.columns):
            if c.name == "id":
                if i % 2:
                    row["id"] = f"id-{i}"
                elif i % 4 == 0:
                    row["id"] = None
                continue
            if c.name == "timestamp":
                if i % 3:
                    row["timestamp"] = "2026-11-21T09:00:00.000Z" if i % 3 == 1 else ""
                continue
            if (i + j) % 5 == 4:
                continue  # omitted: the default
            options = FAST[c.type]
            row[c.name] = options[(i + j) % len(options)]
        out.append(row)
    return out


def codec_of(name: str) -> Codec:
    return Codec(schema.STREAMS[name])


@pytest.mark.parametrize("name", sorted(schema.STREAMS))
def test_column_path_matches_the_reference(name: str) -> None:
    codec = codec_of(name)
    rows = fast_rows(codec.stream, 60)
    before = copy.deepcopy(rows)
    got = codec._columns.prepare(rows, Fresh())
    assert got is not None, "the column-wise path refused a batch it should take"
    values, params = got
    want = reference(codec, rows)
    assert strip_fresh(values, params) == strip_fresh(*want)
    assert [list(v) for v in values] == [list(codec.names)] * len(rows)  # schema order
    for i, r in enumerate(rows):
        if r.get("id"):
            assert values[i]["id"] == params[i][0] == r["id"]
        else:
            assert values[i]["id"] == params[i][0] and len(values[i]["id"]) == 36
        assert values[i]["timestamp"] == params[i][1]
        if r.get("timestamp"):
            assert values[i]["timestamp"] == r["timestamp"]
    assert len({v["id"] for v in values}) == len(rows)
    assert rows == before  # the caller's rows are untouched
    # Defaults that are objects are one per row, never shared between rows.
    for c in codec.stream.columns:
        if c.type in ("json", "array(string)", "array(float)"):
            made = [
                id(v[c.name]) for v, r in zip(values, rows, strict=True) if r.get(c.name) is None
            ]
            assert len(set(made)) == len(made)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("priority", 2.5),  # refused: the row-wise path names it
        ("priority", True),
        ("session_id", 7),
        ("timestamp", "2026-11-21T10:00:00+01:00"),  # normalised by the row-wise path
        ("timestamp", datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)),
        ("id", ""),
        ("id", 7),
    ],
)
def test_values_to_convert_or_refuse_go_row_wise(column: str, value: Any) -> None:
    codec = codec_of("messages")
    rows: list[dict[str, Any]] = [{"session_id": "s", "priority": 1} for _ in range(40)]
    rows[29] = {**rows[29], column: value}
    fast = codec._columns.prepare(rows, Fresh())
    if column == "id" and value == "":
        assert fast is not None  # '' is a missing id: a new one
        assert fast[0][29]["id"]
        return
    assert fast is None
    try:
        want: Any = strip_fresh(*reference(codec, rows))
    except InvalidArgument as e:
        with pytest.raises(InvalidArgument) as got:
            codec.prepare_all(rows, Fresh())
        assert got.value.message == e.message
    else:
        assert strip_fresh(*codec.prepare_all(rows, Fresh())) == want


def test_rows_that_are_not_plain_dicts_go_row_wise() -> None:
    codec = codec_of("events")
    rows: list[Any] = [{"event_type": "x"} for _ in range(40)]
    assert codec._columns.prepare(rows, Fresh()) is not None
    assert codec._columns.prepare([*rows, OrderedDict(event_type="y")], Fresh()) is None
    assert codec._columns.prepare([*rows, {"nope": 1}], Fresh()) is None
    assert codec._columns.prepare(rows[:3], Fresh()) is None  # small: row-wise
    values, _ = codec.prepare_all([*rows, OrderedDict(event_type="y")], Fresh())
    assert values[-1]["event_type"] == "y"


def test_chunks_cover_a_batch_in_order() -> None:
    codec = codec_of("events")
    for n in (1, 2, 3, INSERT_CHUNK - 1, INSERT_CHUNK, INSERT_CHUNK + 1, 1000):
        params = [(f"id{i}", "t", *("",) * (len(codec.names) - 2)) for i in range(n)]
        flat: list[Any] = []
        for sql, values in codec.chunks(params):
            k = len(values) // len(codec.names)
            assert k <= INSERT_CHUNK and k & (k - 1) == 0  # a power of two
            assert sql.count("(?") == k
            flat += values
        assert flat[:: len(codec.names)] == [f"id{i}" for i in range(n)]
    # A connection binding at most 50 values gets chunks of at most 4 rows of 7 columns.
    params = [(f"id{i}", *("",) * (len(codec.names) - 1)) for i in range(11)]
    sizes = [len(v) // len(codec.names) for _, v in codec.chunks(params, max_vars=50)]
    assert sizes == [4, 4, 2, 1]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    s = LocalStore(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


async def test_batches_of_any_size_keep_seqs_order_and_tails(store: LocalStore) -> None:
    sizes = [1, INSERT_CHUNK - 1, INSERT_CHUNK, INSERT_CHUNK + 1, 300, 1000]
    total = sum(sizes)
    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        async for batch in store.tail("events", start=TailStart.earliest()):
            seen.extend(r.seq for r in batch)
            if len(seen) >= total:
                done.set()
                return

    task = asyncio.create_task(follow())
    appended = []
    n = 0
    for size in sizes:
        rows = [{"event_type": f"e{n + i}", "payload": {"i": n + i}} for i in range(size)]
        n += size
        appended += await store.append("events", rows)
    async with asyncio.timeout(20):
        await done.wait()
    await task
    assert [r.seq for r in appended] == list(range(1, total + 1))
    assert seen == list(range(1, total + 1))
    back = await store.query("events", order="asc", limit=total)
    assert back == appended
    assert [r["event_type"] for r in back] == [f"e{i}" for i in range(total)]
    assert [r["payload"] for r in back] == [{"i": i} for i in range(total)]


async def test_one_bad_row_in_a_late_chunk_refuses_the_whole_batch(store: LocalStore) -> None:
    await store.append("messages", [{"session_id": "before"}])
    rows: list[dict[str, Any]] = [{"session_id": "s", "priority": i} for i in range(600)]
    rows[517] = {"session_id": "s", "priority": 2**64}  # fits Python, not SQLite
    with pytest.raises(InvalidArgument, match="priority"):
        await store.append("messages", rows)
    rows[517] = {"session_id": "s", "priority": "high"}  # refused while preparing
    with pytest.raises(InvalidArgument, match="priority"):
        await store.append("messages", rows)
    assert await store.count("messages") == 1
    rows[517] = {"session_id": "s", "priority": 3}
    stored = await store.append("messages", rows)
    assert [r.seq for r in stored] == list(range(2, 602))


async def test_a_large_llm_logs_batch_keeps_the_rollup_exact(store: LocalStore) -> None:
    rows = [
        {
            "timestamp": f"2026-11-21T{9 + i // 100:02d}:{i % 60:02d}:00.000Z",
            "model": f"m{i % 3}",
            "session_id": "" if i % 4 else "s",
            "input_tokens": i,
            "output_tokens": 2 * i,
            "estimated_cost_usd": i / 1000,
            "latency_ms": 10 + i,
            "status": "success" if i % 7 else "error",
        }
        for i in range(300)
    ]
    await store.append("llm_logs", rows)
    total = (await store.cost_summary()).total
    assert (total.requests, total.errors) == (300, sum(1 for i in range(300) if i % 7 == 0))
    assert (total.input_tokens, total.output_tokens) == (sum(range(300)), 2 * sum(range(300)))
    assert total.cost_usd == pytest.approx(sum(i / 1000 for i in range(300)))
    assert total.latency_ms_sum == sum(10 + i for i in range(300))
    by_model = {b.key: b.requests for b in (await store.cost_summary(by="model")).buckets}
    assert by_model == {"m0": 100, "m1": 100, "m2": 100}
    by_hour = {b.key: b.requests for b in (await store.cost_summary(by="hour")).buckets}
    assert by_hour == {f"2026-11-21T{h:02d}:00:00.000Z": 100 for h in (9, 10, 11)}


def test_new_ids_are_distinct_uuid4_texts() -> None:
    ids = Fresh().new_ids(5000) + Fresh().new_ids(1)
    assert len(set(ids)) == len(ids)
    for text in ids:
        u = uuid.UUID(text)
        assert str(u) == text and u.version == 4 and u.variant == uuid.RFC_4122
    assert Fresh().new_ids(0) == []
