"""What only the embedded SQLite backend promises: files, WAL, migrations, bounded tails."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pulsed.errors import StoreError
from pulsed.store import schema
from pulsed.store.base import Row, TailStart, make_filters
from pulsed.store.local import DB_NAME, ROLLUP_TABLE, LocalStore
from tests.store.test_store_contract import next_batch

TIMEOUT = 20


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(data_dir: Path) -> AsyncIterator[LocalStore]:
    s = LocalStore(data_dir)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def raw(data_dir: Path) -> sqlite3.Connection:
    """A plain connection to the store's file, for looking behind the store's back."""
    return sqlite3.connect(data_dir / DB_NAME, isolation_level=None)


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]


def llm(ts: str, model: str = "m", cost: float = 0.5, status: str = "success") -> dict[str, Any]:
    return {
        "timestamp": ts,
        "model": model,
        "provider": "p",
        "origin": "chat",
        "session_id": "s",
        "input_tokens": 10,
        "output_tokens": 5,
        "estimated_cost_usd": cost,
        "latency_ms": 100,
        "status": status,
    }


async def test_files_dir_and_permissions(store: LocalStore, data_dir: Path) -> None:
    assert store.backend == "local"
    assert store.path == data_dir / DB_NAME
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    await store.append("messages", [{"session_id": "s"}])
    assert stat.S_IMODE((data_dir / DB_NAME).stat().st_mode) == 0o600
    wal = data_dir / f"{DB_NAME}-wal"
    assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600


async def test_wal_mode_and_tables(store: LocalStore, data_dir: Path) -> None:
    conn = raw(data_dir)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for s in schema.STREAMS.values():
        assert columns(conn, s.name) == ["seq", *s.column_names]
        indexed = {
            r[0]
            for r in conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (s.name,)
            )
        }
        for col in ("timestamp", *s.indexes):
            assert any(f'("{col}")' in (sql or "") for sql in indexed), (s.name, col)
    conn.close()


async def test_persists_across_close_and_reopen(data_dir: Path) -> None:
    s = LocalStore(data_dir)
    await s.open()
    first = await s.append("messages", [{"session_id": "a", "content": {"text": "one"}}] * 3)
    await s.append("llm_logs", [llm("2026-11-21T09:10:00.000Z")], durable=True)
    await s.close()
    assert await s.health() != "ok"
    with pytest.raises(StoreError):
        await s.query("messages")

    s = LocalStore(data_dir)
    await s.open()
    try:
        back = await s.query("messages", order="asc")
        assert [r.values for r in back] == [r.values for r in first]
        more = await s.append("messages", [{"session_id": "b"}])
        assert more[0].seq == first[-1].seq + 1
        assert (await s.cost_summary()).total.requests == 1
    finally:
        await s.close()


async def test_batch_seqs_are_contiguous(store: LocalStore) -> None:
    for n in (1, 10, 1000):
        rows = await store.append("events", [{"event_type": "x"}] * n, durable=n == 10)
        assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + n))
    assert await store.last_seq("events") == 1011


async def test_failed_batch_stores_nothing_and_tails_see_nothing(
    store: LocalStore, data_dir: Path
) -> None:
    conn = raw(data_dir)
    conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.source = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    conn.close()
    tail = store.tail("messages", start=TailStart.earliest())
    waiting = asyncio.create_task(next_batch(tail))
    await store.append("messages", [{"source": "ok"}])
    assert [r["source"] for r in await waiting] == ["ok"]
    with pytest.raises(StoreError, match="nothing of the batch was stored"):
        await store.append("messages", [{"source": "fine"}, {"source": "boom"}])
    assert await store.count("messages") == 1
    after = await store.append("messages", [{"source": "later"}])
    [got] = await anext(tail)
    assert got.seq == after[0].seq and got["source"] == "later"
    await tail.aclose()  # type: ignore[attr-defined]


async def test_migrates_an_older_layout(data_dir: Path) -> None:
    """A version-0 file: llm_logs without later columns, no rollup, other streams missing."""
    data_dir.mkdir(mode=0o700)
    conn = raw(data_dir)
    conn.execute(
        'CREATE TABLE "llm_logs" (seq INTEGER PRIMARY KEY AUTOINCREMENT, "id" TEXT, '
        '"timestamp" TEXT, "session_id" TEXT, "model" TEXT, "provider" TEXT, "origin" TEXT, '
        '"input_tokens" INTEGER, "output_tokens" INTEGER, "estimated_cost_usd" REAL, '
        '"latency_ms" INTEGER, "status" TEXT)'
    )
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    old = [
        ("a", "2026-11-21T09:10:00.000Z", "s", "m1", "p", "chat", 10, 5, 0.25, 100, "success"),
        ("b", "2026-11-21T09:20:00.000Z", "s", "m1", "p", "chat", 20, 5, 0.5, 300, "error"),
        ("c", "2026-11-21T11:05:00.000Z", "t", "m2", "p", "task", 30, 5, 1.0, 200, "success"),
    ]
    conn.executemany(f"INSERT INTO llm_logs VALUES (NULL, {', '.join('?' * 11)})", old)
    conn.close()

    s = LocalStore(data_dir)
    await s.open()
    try:
        assert await s.schema_version() == schema.SCHEMA_VERSION
        conn = raw(data_dir)
        assert set(columns(conn, "llm_logs")) == {"seq", *schema.LLM_LOGS.column_names}
        assert conn.execute(f"SELECT count(*) FROM {ROLLUP_TABLE}").fetchone()[0] == 2
        conn.close()
        rows = await s.query("llm_logs", order="asc")
        assert [r.seq for r in rows] == [1, 2, 3]
        assert rows[0]["tools_called"] == [] and rows[0]["cache_read_tokens"] == 0
        assert rows[0]["error_message"] == "" and rows[0]["estimated_cost_usd"] == 0.25
        found = await s.query("llm_logs", make_filters(schema.LLM_LOGS, [("turn_id", "eq", "")]))
        assert len(found) == 3  # defaults were written, so SQL filters see them
        summary = await s.cost_summary(by="model")
        assert [(b.key, b.requests, b.errors) for b in summary.buckets] == [
            ("m2", 1, 0),  # by cost, descending
            ("m1", 2, 1),
        ]
        assert summary.total.cost_usd == pytest.approx(1.75)
        await s.append("llm_logs", [llm("2026-11-21T09:30:00.000Z", model="m1")])
        assert (await s.cost_summary(by="model")).buckets[0].requests == 3  # m1, 1.25 USD
        await s.append("messages", [{"session_id": "new stream table"}])
    finally:
        await s.close()


async def test_migrates_forward_to_a_new_column(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = LocalStore(data_dir)
    await s.open()
    await s.append("events", [{"event_type": "before"}])
    await s.close()

    events = schema.STREAMS["events"]
    added = schema.Column(
        "host", "string", "new", default="?", since_version=schema.SCHEMA_VERSION + 1
    )
    newer = dataclasses.replace(events, columns=(*events.columns, added), indexes=("host",))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setitem(schema.STREAMS, "events", newer)

    s = LocalStore(data_dir)
    await s.open()
    try:
        assert await s.schema_version() == schema.SCHEMA_VERSION
        await s.append("events", [{"event_type": "after", "host": "box"}])
        rows = await s.query("events", order="asc")
        assert [(r["event_type"], r["host"]) for r in rows] == [("before", "?"), ("after", "box")]
        hosts = await s.query("events", make_filters(newer, [("host", "eq", "?")]))
        assert [r["event_type"] for r in hosts] == ["before"]
    finally:
        await s.close()

    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION - 1)
    with pytest.raises(StoreError, match="newer"):
        await LocalStore(data_dir).open()


async def test_rebuilds_a_missing_rollup(data_dir: Path) -> None:
    s = LocalStore(data_dir)
    await s.open()
    await s.append("llm_logs", [llm(f"2026-11-21T{h:02d}:30:00.000Z") for h in range(10)])
    before = await s.cost_summary(by="hour")
    await s.close()
    conn = raw(data_dir)
    conn.execute(f"DROP TABLE {ROLLUP_TABLE}")
    conn.close()
    s = LocalStore(data_dir)
    await s.open()
    try:
        assert await s.cost_summary(by="hour") == before
        assert len(before.buckets) == 10
    finally:
        await s.close()


async def test_rollup_kept_by_appends_equals_one_built_from_the_rows(data_dir: Path) -> None:
    """The rollup the appends keep (summed in SQL per batch, upserted into existing hour
    rows) is the one a rebuild from all llm_logs rows gives, row for row."""
    s = LocalStore(data_dir)
    await s.open()
    try:
        for b in range(6):  # batches crossing hours, models and statuses, big and small
            n = 1 if b % 2 else 40
            await s.append(
                "llm_logs",
                [
                    llm(
                        f"2026-11-21T{(b * n + i) % 3:02d}:{i % 60:02d}:00.000Z",
                        model=f"m{i % 2}",
                        cost=0.25 * (i + b),
                        status="success" if i % 7 else "error",
                    )
                    for i in range(n)
                ],
            )
    finally:
        await s.close()
    conn = raw(data_dir)
    try:
        kept = conn.execute(f"SELECT * FROM {ROLLUP_TABLE} ORDER BY 1, 2, 3, 4, 5").fetchall()
        conn.execute(f"DELETE FROM {ROLLUP_TABLE}")
        conn.execute("DELETE FROM meta WHERE key = 'rollup_version'")
    finally:
        conn.close()
    s = LocalStore(data_dir)
    await s.open()  # the rollup version is gone: open() rebuilds it from the rows
    await s.close()
    conn = raw(data_dir)
    try:
        rebuilt = conn.execute(f"SELECT * FROM {ROLLUP_TABLE} ORDER BY 1, 2, 3, 4, 5").fetchall()
    finally:
        conn.close()
    assert len(kept) == 3 * 2  # hours x models
    assert sum(r[5] for r in kept) == 3 * 40 + 3 * 1  # requests: every row counted once
    assert kept == rebuilt


async def test_not_a_database_is_a_store_error(data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    s = LocalStore(data_dir)
    with pytest.raises(StoreError, match=str(data_dir)):
        await s.open()
    assert await s.health() != "ok"


async def test_slow_consumer_overflowing_its_queue_gets_every_row(data_dir: Path) -> None:
    s = LocalStore(data_dir, tail_queue_rows=50)
    await s.open()
    try:
        total = 3000
        got: list[Row] = []
        appended = asyncio.Event()
        subscribed = asyncio.Event()

        async def consume() -> None:
            tail = s.tail("events", start=TailStart.earliest(), max_batch=20)
            async with asyncio.timeout(TIMEOUT), contextlib.aclosing(tail):  # type: ignore[type-var]
                async for batch in tail:
                    got.extend(batch)
                    subscribed.set()
                    # slower than the writer, however fast this machine is: the first
                    # batch waits until every row is in, so the queue of 50 overflows
                    await appended.wait()
                    if len(got) >= total:
                        return

        consumer = asyncio.create_task(consume())
        await s.append("events", [{"event_type": "0"}])
        await subscribed.wait()  # the tail is live before the rest arrives
        sent = 1
        sizes = [1, 5, 40, 100, 3]
        while sent < total:
            n = min(sizes[sent % len(sizes)], total - sent)
            await s.append("events", [{"event_type": str(sent + i)} for i in range(n)])
            sent += n
        appended.set()
        await consumer
        assert [r["event_type"] for r in got] == [str(i) for i in range(total)]
        assert s.tail_overflows > 0
        assert all(not subs for subs in s._subs.values())  # the tail unregistered
    finally:
        await s.close()


async def test_close_ends_running_tails(data_dir: Path) -> None:
    s = LocalStore(data_dir)
    await s.open()
    await s.append("events", [{"event_type": "x"}] * 5)
    got: list[Row] = []

    async def consume() -> None:
        async for batch in s.tail("events", start=TailStart.earliest()):
            got.extend(batch)

    tails = [asyncio.create_task(consume()) for _ in range(3)]
    async with asyncio.timeout(TIMEOUT):
        while len(got) < 15:
            await asyncio.sleep(0.01)
    await s.close()
    async with asyncio.timeout(5):
        await asyncio.gather(*tails)
    assert len(got) == 15


async def test_tail_stopped_by_its_consumer_unregisters(store: LocalStore) -> None:
    await store.append("events", [{"event_type": "x"}])
    tail = store.tail("events", start=TailStart.earliest())
    await anext(tail)
    assert len(store._subs["events"]) == 1
    await tail.aclose()  # type: ignore[attr-defined]
    assert len(store._subs["events"]) == 0


async def test_reads_do_not_wait_for_a_long_write(store: LocalStore) -> None:
    await store.append("events", [{"event_type": "x"}])
    big = store.append("llm_logs", [llm("2026-11-21T09:00:00.000Z")] * 50_000)
    writing = asyncio.create_task(big)
    await asyncio.sleep(0.01)
    assert await store.count("events") == 1
    assert not writing.done()
    assert (await writing)[-1].seq == 50_000
    assert await store.health() == "ok"
