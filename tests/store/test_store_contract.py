"""The store contract (``pulsed.store.base.Store``), the same for every backend.

Every test here runs against each backend of tests/store/conftest.py (``-k timeplus``
selects the Timeplus runs, which need PULSE_TEST_TIMEPLUS_URL). What only one backend
guarantees is tested in tests/store/test_store_local.py and tests/timeplus/.
"""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pulsed.errors import InvalidArgument, NotFound
from pulsed.store import schema
from pulsed.store.base import (
    COST_GROUPS,
    CostBucket,
    Filter,
    Row,
    Store,
    TailStart,
    make_filters,
)

ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
TIMEOUT = 20


def msg(**values: Any) -> dict[str, Any]:
    """A messages row with a text content."""
    values.setdefault("content", {"text": values.pop("text", "")})
    return values


def flt(stream: str, *triples: tuple[str, str, Any]) -> list[Filter]:
    return make_filters(schema.stream(stream), list(triples))


async def collect(tail: AsyncIterator[list[Row]], n: int) -> list[Row]:
    """The first ``n`` rows a tail delivers (fails if they take longer than TIMEOUT)."""
    got: list[Row] = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in tail:
            assert batch, "a tail yielded an empty batch"
            got.extend(batch)
            if len(got) >= n:
                break
    return got


async def next_batch(tail: AsyncIterator[list[Row]]) -> list[Row]:
    return await anext(tail)


async def quiet(tail: AsyncIterator[list[Row]], seconds: float = 0.3) -> list[Row]:
    """Rows a tail delivers within ``seconds`` (expected: none)."""
    got: list[Row] = []
    try:
        async with asyncio.timeout(seconds):
            async for batch in tail:
                got.extend(batch)
    except TimeoutError:
        pass
    return got


# -- append and query ---------------------------------------------------------------------


async def test_append_returns_increasing_seqs_and_fills_id_and_timestamp(store: Store) -> None:
    first = await store.append("messages", [msg(text="a"), msg(text="b"), msg(text="c")])
    second = await store.append("messages", [msg(text="d")])
    rows = first + second
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4 and seqs[0] >= 1
    for r in rows:
        assert r.stream == "messages"
        uuid.UUID(r["id"])
        assert ISO.fullmatch(r["timestamp"])
    assert len({r["id"] for r in rows}) == 4
    assert [r["content"] for r in rows] == [{"text": t} for t in "abcd"]
    assert await store.last_seq("messages") == seqs[-1]
    assert await store.count("messages") == 4
    assert await store.last_seq("events") == 0
    assert await store.count("events") == 0


async def test_appended_rows_read_back_as_stored(store: Store) -> None:
    given = {
        "id": "m-1",
        "timestamp": "2026-11-21T09:00:00.123Z",
        "source": "cli",
        "session_id": "s1",
        "message_type": "user_input",
        "content": {"text": "héllo ✓", "n": [1, 2.5, None, True]},
        "channel_metadata": {"chat": 42},
        "priority": 2,
    }
    [row] = await store.append("messages", [given])
    [task] = await store.append(
        "tasks",
        [{"name": "t", "version": 1, "enabled": True, "deleted": False, "options": {"a": [1]}}],
    )
    [event] = await store.append("events", [{"event_type": "x", "tags": ["a", "b c"]}])
    for stream, expect in (("messages", row), ("tasks", task), ("events", event)):
        [back] = await store.query(stream)
        assert back.seq == expect.seq
        assert back.values == expect.values
    assert row["id"] == "m-1" and row["timestamp"] == "2026-11-21T09:00:00.123Z"
    assert row["target"] == "" and row["user_id"] == "" and row["reply_to"] == ""
    assert task["enabled"] is True and task["deleted"] is False
    [back_task] = await store.query("tasks")
    assert back_task["enabled"] is True and back_task["deleted"] is False
    assert back_task["timezone"] == "" and back_task["options"] == {"a": [1]}
    [back_event] = await store.query("events")
    assert back_event["tags"] == ["a", "b c"] and back_event["payload"] == {}


async def test_append_normalises_datetimes_to_utc_milliseconds(store: Store) -> None:
    [row] = await store.append("messages", [msg(timestamp="2026-11-21T10:30:00+01:00")])
    assert row["timestamp"] == "2026-11-21T09:30:00.000Z"
    [back] = await store.query("messages")
    assert back["timestamp"] == "2026-11-21T09:30:00.000Z"


async def test_query_filters(store: Store) -> None:
    rows = [
        msg(session_id="a", message_type="user_input", priority=0, text="hello world"),
        msg(session_id="a", message_type="agent_response", priority=1, text="hi there"),
        msg(session_id="b", message_type="user_input", priority=2, text="Hello again"),
        msg(session_id="c", message_type="error", priority=-1, text="boom"),
    ]
    await store.append("messages", rows)

    async def texts(*triples: tuple[str, str, Any]) -> list[str]:
        got = await store.query("messages", flt("messages", *triples), order="asc")
        return [r["content"]["text"] for r in got]

    assert await texts(("session_id", "eq", "a")) == ["hello world", "hi there"]
    assert await texts(("session_id", "", "b")) == ["Hello again"]
    assert await texts(("session_id", "ne", "a")) == ["Hello again", "boom"]
    assert await texts(("content", "contains", "hello")) == ["hello world"]
    assert await texts(("priority", "gt", "0")) == ["hi there", "Hello again"]
    assert await texts(("priority", "ge", 1)) == ["hi there", "Hello again"]
    assert await texts(("priority", "lt", "0")) == ["boom"]
    assert await texts(("priority", "le", "0")) == ["hello world", "boom"]
    assert await texts(("session_id", "eq", "a"), ("priority", "eq", "1")) == ["hi there"]
    assert await texts(("session_id", "eq", "zzz")) == []


async def test_query_order_and_limit(store: Store) -> None:
    await store.append("events", [{"event_type": f"e{i}"} for i in range(10)])
    desc = await store.query("events")
    assert [r["event_type"] for r in desc] == [f"e{i}" for i in reversed(range(10))]
    asc = await store.query("events", order="asc", limit=3)
    assert [r["event_type"] for r in asc] == ["e0", "e1", "e2"]
    last = await store.query("events", order="desc", limit=1)
    assert [r["event_type"] for r in last] == ["e9"]
    assert len(await store.query("events", limit=10_000)) == 10
    for bad in (0, -1, 10_001):
        with pytest.raises(InvalidArgument):
            await store.query("events", limit=bad)
    with pytest.raises(InvalidArgument):
        await store.query("events", order="up")


async def test_query_time_range(store: Store) -> None:
    stamps = [
        "2026-11-21T08:59:59.999Z",
        "2026-11-21T09:00:00.000Z",
        "2026-11-21T09:30:00.000Z",
        "2026-11-21T10:00:00.000Z",
    ]
    await store.append(
        "events", [{"event_type": str(i), "timestamp": t} for i, t in enumerate(stamps)]
    )

    async def kinds(since: str | None, until: str | None) -> list[str]:
        got = await store.query("events", since=since, until=until, order="asc")
        return [r["event_type"] for r in got]

    assert await kinds("2026-11-21T09:00:00Z", "2026-11-21T10:00:00Z") == ["1", "2"]
    assert await kinds("2026-11-21T09:00:00.001Z", None) == ["2", "3"]
    assert await kinds(None, "2026-11-21T09:00:00Z") == ["0"]
    assert await kinds("2026-11-21T10:00:00+01:00", "2026-11-21T11:00:00+01:00") == ["1", "2"]
    assert await kinds(None, None) == ["0", "1", "2", "3"]
    with pytest.raises(InvalidArgument):
        await store.query("events", since="yesterday")


NASTY = [
    "'; DROP TABLE messages; --",
    "100%",
    "a_b",
    'say "hi"',
    "it's",
    "back\\slash",
    "%",
    "_",
    "' OR '1'='1",
    "naïve ✓ 😀",
]


async def test_sql_metacharacters_are_stored_and_matched_literally(store: Store) -> None:
    await store.append("messages", [msg(session_id=v, text=v) for v in NASTY])
    await store.append("messages", [msg(session_id="plain", text="plain text")])
    assert await store.count("messages") == len(NASTY) + 1
    for v in NASTY:
        got = await store.query("messages", flt("messages", ("session_id", "eq", v)))
        assert [r["session_id"] for r in got] == [v]
        assert got[0]["content"] == {"text": v}
    got = await store.query("messages", flt("messages", ("session_id", "contains", "%")))
    assert sorted(r["session_id"] for r in got) == sorted(["100%", "%"])
    got = await store.query("messages", flt("messages", ("session_id", "contains", "_")))
    assert sorted(r["session_id"] for r in got) == sorted(["a_b", "_"])
    got = await store.query("messages", flt("messages", ("session_id", "contains", "'")))
    assert sorted(r["session_id"] for r in got) == sorted(
        ["'; DROP TABLE messages; --", "it's", "' OR '1'='1"]
    )
    got = await store.query("messages", flt("messages", ("session_id", "contains", "\\")))
    assert [r["session_id"] for r in got] == ["back\\slash"]
    got = await store.query("messages", flt("messages", ("session_id", "gt", "'")))
    assert "plain" in {r["session_id"] for r in got}
    latest = await store.latest_by("messages", "session_id")
    assert sorted(r["session_id"] for r in latest) == sorted([*NASTY, "plain"])
    assert await store.count("messages") == len(NASTY) + 1


async def test_unknown_stream_column_and_operator(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.append("nope", [{}])
    with pytest.raises(NotFound):
        await store.query("nope")
    with pytest.raises(NotFound):
        await store.last_seq("nope")
    with pytest.raises(NotFound):
        await store.count("nope")
    with pytest.raises(NotFound):
        await store.latest_by("nope", "id")
    with pytest.raises(NotFound):
        await anext(aiter(store.tail("nope")))
    with pytest.raises(InvalidArgument):
        await store.append("messages", [{"colour": "red"}])
    with pytest.raises(InvalidArgument):
        flt("messages", ("colour", "eq", "red"))
    with pytest.raises(InvalidArgument):
        flt("messages", ("session_id", "like", "a%"))
    with pytest.raises(InvalidArgument):
        await store.query("messages", [Filter("colour", "eq", "red")])
    with pytest.raises(InvalidArgument):
        await store.query("messages", [Filter("session_id", "regex", ".*")])
    with pytest.raises(InvalidArgument):
        await anext(aiter(store.tail("messages", [Filter("colour", "eq", "red")])))
    with pytest.raises(InvalidArgument):
        await store.latest_by("tasks", "colour")
    with pytest.raises(InvalidArgument):
        await store.cost_summary(by="week")
    assert await store.count("messages") == 0


async def test_wrongly_typed_values_are_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument):
        flt("messages", ("priority", "eq", "high"))
    with pytest.raises(InvalidArgument):
        flt("tasks", ("enabled", "eq", "maybe"))
    with pytest.raises(InvalidArgument):
        flt("messages", ("timestamp", "ge", "last tuesday"))
    with pytest.raises(InvalidArgument):
        flt("messages", ("content", "gt", "{}"))
    with pytest.raises(InvalidArgument):
        await store.query("messages", [Filter("priority", "gt", "high")])
    bad_rows: list[tuple[str, dict[str, Any]]] = [
        ("messages", {"priority": "high"}),
        ("messages", {"session_id": 12}),
        ("messages", {"timestamp": "not a time"}),
        ("tasks", {"enabled": "yes"}),
        ("events", {"tags": "a,b"}),
        ("events", {"payload": {"x": object()}}),
        ("llm_logs", {"estimated_cost_usd": "0.1"}),
    ]
    for stream, row in bad_rows:
        # The good row first: a refused batch stores nothing.
        with pytest.raises(InvalidArgument):
            await store.append(stream, [{}, row])
        assert await store.count(stream) == 0, (stream, row)


async def test_bad_arguments_are_refused_alike(store: Store) -> None:
    """The contract's checks (``Store``'s public methods) hold on every backend."""
    with pytest.raises(InvalidArgument, match="a sequence of rows, not one row"):
        await store.append("events", {"event_type": "x"})  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="a row must be a mapping of columns, not str"):
        await store.append("events", [{}, "event_type=x"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument, match=r"messages\.priority is int: int 1844"):
        await store.append("messages", [{}, {"priority": 2**64}])
    assert await store.count("events") == 0 and await store.count("messages") == 0
    assert await store.append("events", []) == []
    for bad in (0, 10_001, True):
        with pytest.raises(InvalidArgument, match="limit must be between 1 and 10000"):
            await store.sessions(limit=bad)
    with pytest.raises(InvalidArgument, match="not an ISO 8601 datetime"):
        await store.unanswered(since="yesterday")
    with pytest.raises(InvalidArgument, match="not an ISO 8601 datetime"):
        await store.cost_summary(until="tomorrow")
    with pytest.raises(InvalidArgument, match="until must be ISO 8601 text, not int"):
        await store.query("events", until=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="max_batch must be at least 1"):
        await anext(aiter(store.tail("events", max_batch=0)))
    with pytest.raises(InvalidArgument, match="unknown tail start 'sideways'"):
        await anext(aiter(store.tail("events", start=TailStart("sideways"))))
    [row] = await store.append("events", [{"event_type": "x"}])
    got = await collect(store.tail("events", start=TailStart.after(-3)), 1)
    assert [r.seq for r in got] == [row.seq]


# -- tail ---------------------------------------------------------------------------------


async def test_tail_from_earliest_and_after(store: Store) -> None:
    rows = await store.append("events", [{"event_type": f"e{i}"} for i in range(7)])
    got = await collect(store.tail("events", start=TailStart.earliest(), max_batch=3), 7)
    assert [r.seq for r in got] == [r.seq for r in rows]
    assert [r.values for r in got] == [r.values for r in rows]
    got = await collect(store.tail("events", start=TailStart.after(rows[3].seq)), 3)
    assert [r["event_type"] for r in got] == ["e4", "e5", "e6"]
    tail = store.tail("events", start=TailStart.after(rows[-1].seq))
    assert await quiet(tail) == []


async def test_tail_batches_respect_max_batch(store: Store) -> None:
    await store.append("events", [{"event_type": str(i)} for i in range(25)])
    tail = store.tail("events", start=TailStart.earliest(), max_batch=4)
    sizes = []
    async with asyncio.timeout(TIMEOUT):
        async for batch in tail:
            sizes.append(len(batch))
            if sum(sizes) >= 25:
                break
    assert max(sizes) <= 4 and sum(sizes) == 25


async def test_tail_from_latest_gets_only_new_rows(store: Store) -> None:
    old = await store.append("events", [{"event_type": "old"} for _ in range(5)])
    tail = store.tail("events", start=TailStart.latest())
    first = asyncio.create_task(next_batch(tail))
    # Keep appending until the tail (which starts in the background) delivers.
    new: list[Row] = []
    async with asyncio.timeout(TIMEOUT):
        while not first.done():
            new += await store.append("events", [{"event_type": f"new{len(new)}"}])
            await asyncio.wait({first}, timeout=0.02)
    got = first.result()
    assert all(r["event_type"].startswith("new") for r in got)
    assert all(r.seq > old[-1].seq for r in got)
    more = await store.append("events", [{"event_type": "after"}])
    rest = await collect(tail, 1)
    delivered = got + rest
    # Gap-free from the first delivered row on: a suffix of `new`, then `after`.
    want = [r for r in new + more if r.seq >= delivered[0].seq]
    assert [r.seq for r in delivered[: len(want)]] == [r.seq for r in want]
    assert delivered[len(want) - 1]["event_type"] == "after"
    await tail.aclose()  # type: ignore[attr-defined]


async def test_tail_is_gap_free_while_appends_run(store: Store) -> None:
    await store.append("llm_logs", [{"model": "backlog"} for _ in range(300)])
    sizes = [1, 7, 50, 1, 200, 3, 1000, 13, 1, 99]
    expected = 300

    async def writer() -> None:
        nonlocal expected
        rng = random.Random(1)
        while expected < 5300:
            n = min(rng.choice(sizes), 5300 - expected)
            await store.append("llm_logs", [{"model": "live"} for _ in range(n)])
            expected += n
            if rng.random() < 0.3:
                await asyncio.sleep(0)

    tail = store.tail("llm_logs", start=TailStart.earliest(), max_batch=250)
    w = asyncio.create_task(writer())
    got = await collect(tail, 5300)
    await w
    assert len(got) == 5300
    seqs = [r.seq for r in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5300
    assert sum(r["model"] == "live" for r in got) == 5000
    assert await quiet(tail, 0.1) == []


async def test_tail_with_filters(store: Store) -> None:
    def row(i: int, prefix: str) -> dict[str, Any]:
        return msg(session_id="s1" if i % 3 == 0 else "s2", text=f"{prefix}{i}")

    expect = [f"b{i}" for i in range(0, 30, 3) if "1" in f"{i}"]
    expect += [f"l{i}" for i in range(30, 60, 3) if "1" in f"{i}"]
    await store.append("messages", [row(i, "b") for i in range(30)])
    filters = flt("messages", ("session_id", "eq", "s1"), ("content", "contains", "1"))
    tail = store.tail("messages", filters, start=TailStart.earliest(), max_batch=2)
    task = asyncio.create_task(collect(tail, len(expect)))
    for i in range(30, 60):
        await store.append("messages", [row(i, "l")])
    got = await task
    assert [r["content"]["text"] for r in got] == expect
    assert all(r["session_id"] == "s1" for r in got)
    await store.append("messages", [row(6, "w"), row(1, "y"), row(21, "x"), row(13, "z")])
    [late] = await collect(tail, 1)
    assert late["content"]["text"] == "x21"  # w6 has no "1"; y1 and z13 are in s2


async def test_two_concurrent_tails(store: Store) -> None:
    first = await store.append("events", [{"event_type": "a"} for _ in range(100)])
    t1 = asyncio.create_task(collect(store.tail("events", start=TailStart.earliest()), 600))
    t2 = asyncio.create_task(
        collect(store.tail("events", start=TailStart.after(first[49].seq), max_batch=7), 550)
    )
    for _ in range(50):
        await store.append("events", [{"event_type": "b"} for _ in range(10)])
    got1, got2 = await t1, await t2
    assert len(got1) == 600 and len(got2) == 550
    assert [r.seq for r in got1[50:]] == [r.seq for r in got2]
    assert len({r.seq for r in got1}) == 600


async def test_tail_resumes_after_a_row_inside_an_appended_batch(store: Store) -> None:
    """Sequence numbers are per row, whatever batches rows were appended in (Timeplus
    numbers insert batches; the contract does not)."""
    rows = await store.append("events", [{"event_type": f"e{i}"} for i in range(10)])
    assert len({r.seq for r in rows}) == 10
    tail = store.tail("events", start=TailStart.earliest(), max_batch=3)
    first = await collect(tail, 4)
    checkpoint = first[3].seq  # the consumer handled e0..e3: the 4th row of the batch
    await tail.aclose()  # type: ignore[attr-defined]
    more = await store.append("events", [{"event_type": "e10"}])
    resumed = await collect(store.tail("events", start=TailStart.after(checkpoint)), 7)
    assert [r["event_type"] for r in resumed] == [f"e{i}" for i in range(4, 11)]
    assert resumed[-1].seq == more[0].seq


async def test_reads_see_rows_as_soon_as_append_returns(store: Store) -> None:
    """Read your writes: no read misses a row append acknowledged, on any backend."""
    [u] = await store.append(
        "messages", [msg(session_id="rw", message_type="user_input", text="remember me")]
    )
    assert [r["id"] for r in await store.query("messages")] == [u["id"]]
    assert [r["id"] for r in await store.query("messages", order="asc")] == [u["id"]]
    assert [r["id"] for r in await store.unanswered()] == [u["id"]]
    assert await store.count("messages") == 1 and await store.last_seq("messages") == u.seq
    [a] = await store.append(
        "messages", [msg(session_id="rw", message_type="agent_response", reply_to=u["id"])]
    )
    assert await store.unanswered() == []
    assert [s.message_count for s in await store.sessions()] == [2]
    await store.append("cursors", [{"consumer": "channel:x", "position": a.seq}])
    [cursor] = await store.latest_by("cursors", "consumer")
    assert cursor["position"] == a.seq
    await store.append("llm_logs", [{"estimated_cost_usd": 0.5, "status": "success"}])
    assert (await store.cost_summary()).total.cost_usd == pytest.approx(0.5)
    got = await collect(store.tail("messages", start=TailStart.after(u.seq)), 1)
    assert [r.seq for r in got] == [a.seq]


# -- cost summary -------------------------------------------------------------------------

HOURS = ["2026-11-20T22", "2026-11-20T23", "2026-11-21T00", "2026-11-21T01", "2026-11-21T02"]


def llm_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """llm_logs rows over five hours across midnight, some right on hour boundaries."""
    rng = random.Random(seed)
    models = [("claude-sonnet-4-5", "anthropic"), ("gpt-4o-mini", "openai"), ("llama3", "ollama")]
    rows = []
    for i in range(n):
        model, provider = rng.choice(models)
        hour = rng.choice(HOURS)
        if i % 17 == 0:
            ts = f"{hour}:00:00.000Z"
        elif i % 19 == 0:
            ts = f"{hour}:59:59.999Z"
        else:
            minute, second, ms = rng.randrange(60), rng.randrange(60), rng.randrange(1000)
            ts = f"{hour}:{minute:02d}:{second:02d}.{ms:03d}Z"
        rows.append(
            {
                "timestamp": ts,
                "session_id": rng.choice(["", "s1", "s2", "s3"]),
                "model": model,
                "provider": provider,
                "origin": rng.choice(["chat", "task", "heartbeat"]),
                "input_tokens": rng.randrange(5000),
                "output_tokens": rng.randrange(2000),
                "cache_read_tokens": rng.randrange(300),
                "cache_write_tokens": rng.randrange(100),
                "estimated_cost_usd": rng.random() / (1 + rng.randrange(50)),
                "latency_ms": rng.randrange(100, 9000),
                "status": rng.choice(["success"] * 5 + ["error", "timeout", "rate_limited"]),
            }
        )
    return rows


def brute_force(rows: list[dict[str, Any]], since: str | None, until: str | None, by: str):
    keyfn: Callable[[dict[str, Any]], str] = {
        "": lambda r: "",
        "model": lambda r: r["model"],
        "provider": lambda r: r["provider"],
        "origin": lambda r: r["origin"],
        "session": lambda r: r["session_id"],
        "hour": lambda r: r["timestamp"][:13] + ":00:00.000Z",
        "day": lambda r: r["timestamp"][:10] + "T00:00:00.000Z",
    }[by]
    buckets: dict[str, CostBucket] = {}
    for r in rows:
        if (since and r["timestamp"] < since) or (until and r["timestamp"] >= until):
            continue
        b = buckets.setdefault(keyfn(r), CostBucket(key=keyfn(r)))
        b.requests += 1
        b.errors += r["status"] != "success"
        b.input_tokens += r["input_tokens"]
        b.output_tokens += r["output_tokens"]
        b.cache_read_tokens += r["cache_read_tokens"]
        b.cache_write_tokens += r["cache_write_tokens"]
        b.cost_usd += r["estimated_cost_usd"]
        b.latency_ms_sum += r["latency_ms"]
    return buckets


def same_bucket(got: CostBucket, want: CostBucket) -> None:
    assert got.key == want.key
    assert (got.requests, got.errors) == (want.requests, want.errors), got.key
    assert (got.input_tokens, got.output_tokens) == (want.input_tokens, want.output_tokens)
    assert (got.cache_read_tokens, got.cache_write_tokens) == (
        want.cache_read_tokens,
        want.cache_write_tokens,
    )
    assert got.cost_usd == pytest.approx(want.cost_usd, rel=1e-9, abs=1e-12)
    assert got.latency_ms_sum == pytest.approx(want.latency_ms_sum)


RANGES = [
    (None, None),
    ("2026-11-20T22:17:03.250Z", "2026-11-21T01:45:00.000Z"),  # partial hours at both ends
    ("2026-11-20T23:00:00.000Z", "2026-11-21T02:00:00.000Z"),  # whole hours only
    ("2026-11-21T00:10:00.000Z", "2026-11-21T00:50:00.000Z"),  # inside one hour
    ("2026-11-20T23:59:59.999Z", "2026-11-21T00:00:00.001Z"),  # across an hour boundary
    ("2026-11-21T00:30:00.000Z", None),
    (None, "2026-11-21T00:30:00.000Z"),
    ("2026-11-21T01:00:00.000Z", "2026-11-21T01:00:00.000Z"),  # empty
    ("2026-11-21T02:00:00.000Z", "2026-11-21T01:00:00.000Z"),  # reversed: empty
]


async def test_cost_summary_matches_brute_force(store: Store) -> None:
    rows = llm_rows(1500)
    for i in range(0, len(rows), 400):
        await store.append("llm_logs", rows[i : i + 400])
    for since, until in RANGES:
        for by in ("", *COST_GROUPS):
            want = brute_force(rows, since, until, by)
            got = await store.cost_summary(since, until, by)
            where = (since, until, by)
            total = CostBucket()
            for b in want.values():
                total.add(b)
            same_bucket(got.total, total)
            if not by:
                assert got.buckets == [], where
                continue
            assert sorted(b.key for b in got.buckets) == sorted(want), where
            for b in got.buckets:
                same_bucket(b, want[b.key])
            keys = [b.key for b in got.buckets]
            if by in ("hour", "day"):
                assert keys == sorted(keys), where
            else:
                costs = [b.cost_usd for b in got.buckets]
                assert costs == sorted(costs, reverse=True), where
    summary = await store.cost_summary(by="day")
    assert [b.key for b in summary.buckets] == [
        "2026-11-20T00:00:00.000Z",
        "2026-11-21T00:00:00.000Z",
    ]
    assert summary.total.avg_latency_ms == pytest.approx(
        sum(r["latency_ms"] for r in rows) / len(rows)
    )


async def test_cost_summary_of_nothing(store: Store) -> None:
    summary = await store.cost_summary(by="model")
    assert summary.buckets == [] and summary.total.requests == 0
    assert (await store.cost_summary()).total.cost_usd == 0.0


# -- sessions, unanswered, latest_by ------------------------------------------------------


async def test_sessions(store: Store) -> None:
    await store.append(
        "messages",
        [
            msg(session_id="s1", message_type="heartbeat", timestamp="2026-11-21T08:59:00Z"),
            msg(
                session_id="s1",
                message_type="user_input",
                text="plan my week",
                timestamp="2026-11-21T09:00:00Z",
            ),
            msg(session_id="s1", message_type="agent_response", timestamp="2026-11-21T09:00:05Z"),
            msg(
                session_id="s1",
                message_type="user_input",
                text="and next week?",
                timestamp="2026-11-21T09:01:00Z",
            ),
            msg(
                session_id="s2",
                message_type="user_input",
                text="weather?",
                timestamp="2026-11-21T10:00:00Z",
            ),
            msg(session_id="s3", message_type="scheduled_task", timestamp="2026-11-21T07:00:00Z"),
            msg(session_id="", message_type="heartbeat", timestamp="2026-11-21T11:00:00Z"),
        ],
    )
    got = await store.sessions()
    assert [s.session_id for s in got] == ["s2", "s1", "s3"]
    s2, s1, s3 = got
    assert (s1.message_count, s1.first_activity, s1.last_activity, s1.title) == (
        4,
        "2026-11-21T08:59:00.000Z",
        "2026-11-21T09:01:00.000Z",
        "plan my week",
    )
    assert (s2.message_count, s2.title) == (1, "weather?")
    assert (s3.message_count, s3.title) == (1, "")
    assert [s.session_id for s in await store.sessions(limit=2)] == ["s2", "s1"]


async def test_unanswered(store: Store) -> None:
    def typed(kind: str, mid: str, ts: str, reply_to: str = "") -> dict[str, Any]:
        return msg(id=mid, message_type=kind, timestamp=ts, reply_to=reply_to, session_id="s")

    await store.append(
        "messages",
        [
            typed("user_input", "old", "2026-11-20T09:00:00Z"),
            typed("user_input", "u1", "2026-11-21T09:00:00Z"),
            typed("agent_response", "a1", "2026-11-21T09:00:01Z", reply_to="u1"),
            typed("user_input", "u2", "2026-11-21T09:01:00Z"),
            typed("error", "e2", "2026-11-21T09:01:01Z", reply_to="u2"),
            typed("user_input", "u3", "2026-11-21T09:02:00Z"),
            typed("tool_call", "t3", "2026-11-21T09:02:01Z", reply_to="u3"),
            typed("scheduled_task", "k1", "2026-11-21T09:03:00Z"),
            typed("heartbeat", "h1", "2026-11-21T09:04:00Z"),
            typed("scheduled_task", "k2", "2026-11-21T09:05:00Z"),
            typed("agent_response", "a2", "2026-11-21T09:05:30Z", reply_to="k2"),
            typed("user_input", "u4", "2026-11-21T09:06:00Z"),
        ],
    )
    got = await store.unanswered()
    assert [r["id"] for r in got] == ["old", "u3", "k1", "u4"]
    got = await store.unanswered(since="2026-11-21T00:00:00Z")
    assert [r["id"] for r in got] == ["u3", "k1", "u4"]
    await store.append("messages", [typed("agent_response", "a4", "2026-11-21T09:07:00Z", "u4")])
    assert [r["id"] for r in await store.unanswered(since="2026-11-21T00:00:00Z")] == ["u3", "k1"]


async def test_latest_by(store: Store) -> None:
    await store.append(
        "tasks",
        [
            {"name": "news", "version": 1, "schedule": "every 1h", "enabled": True},
            {"name": "backup", "version": 1, "schedule": "0 3 * * *", "enabled": True},
            {"name": "news", "version": 2, "schedule": "every 2h", "enabled": False},
        ],
    )
    await store.append("tasks", [{"name": "backup", "version": 2, "deleted": True}])
    got = await store.latest_by("tasks", "name")
    assert [(r["name"], r["version"]) for r in got] == [("backup", 2), ("news", 2)]
    assert got[0]["deleted"] is True and got[1]["enabled"] is False
    await store.append("cursors", [{"consumer": "channel:telegram", "position": p} for p in (3, 9)])
    [cursor] = await store.latest_by("cursors", "consumer")
    assert cursor["position"] == 9
    assert await store.latest_by("events", "event_type") == []


async def test_schema_version_and_health(store: Store) -> None:
    assert await store.schema_version() == schema.SCHEMA_VERSION
    assert await store.health() == "ok"
    assert store.backend
