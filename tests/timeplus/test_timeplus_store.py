"""The Timeplus store against a loopback Timeplus (tests/fakes/timeplus.py): what it
sends, reading its own writes before ``table()`` shows them, outages and the spool.

The fake stores inserts but does not run SELECTs (it answers them with no rows unless a
test says otherwise), which is what a real server does for ~2 s after an insert.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from pulsed.config import TimeplusConfig
from pulsed.errors import InvalidArgument, Unavailable
from pulsed.store import schema
from pulsed.store.base import Row, TailStart, make_filters
from pulsed.store.local import LocalStore
from pulsed.store.timeplus import TimeplusAdmin, TimeplusStore, copy_rows
from pulsed.store.timeplus.spool import Spool
from tests.fakes.timeplus import Fail, FakeTimeplus, Live, Request, Rows

WAIT = 10.0


@pytest.fixture
def tp() -> AsyncIterator[FakeTimeplus]:
    with FakeTimeplus() as fake:
        yield fake  # type: ignore[misc]


def config(tp: FakeTimeplus, **kw: Any) -> TimeplusConfig:
    return TimeplusConfig(
        host="127.0.0.1", batch_port=tp.batch_port, stream_port=tp.stream_port, **kw
    )


@contextlib.asynccontextmanager
async def opened(tp: FakeTimeplus, data: Path, **kw: Any) -> AsyncIterator[TimeplusStore]:
    store = TimeplusStore(config(tp, **kw), data, retry_max_s=0.2, flush_lag_s=0.05)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def msg(**values: Any) -> dict[str, Any]:
    values.setdefault("content", {"text": values.pop("text", "")})
    return values


async def until(predicate: Any, what: str) -> None:
    async with asyncio.timeout(WAIT):
        while not predicate():
            await asyncio.sleep(0.01)


# -- opening and appending ---------------------------------------------------------------------


async def test_timeplus_store_creates_its_streams_and_records_the_version(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    async with opened(tp, tmp_path, stream_prefix="pulse_", ttl_days=30) as store:
        assert store.backend == "timeplus"
        assert await store.health() == "ok"
        assert await store.schema_version() == schema.SCHEMA_VERSION
        created = [r.sql for r in tp.queries("CREATE ")]
        for name in schema.STREAMS:
            assert any(f"`default`.`pulse_{name}` (" in sql for sql in created), name
        assert any("CREATE MATERIALIZED VIEW IF NOT EXISTS" in sql for sql in created)
        [version] = tp.rows("pulse_pulse_schema")
        assert version["version"] == schema.SCHEMA_VERSION
    async with opened(tp, tmp_path, stream_prefix="pulse_", ttl_days=30):
        pass  # opening again is harmless: every statement is IF NOT EXISTS


async def test_timeplus_store_gives_every_row_its_own_seq(tp: FakeTimeplus, tmp_path: Path) -> None:
    async with opened(tp, tmp_path) as store:
        first = await store.append("messages", [msg(text="a"), msg(text="b"), msg(text="c")])
        second = await store.append("messages", [msg(text="d")], durable=True)
        rows = first + second
        seqs = [r.seq for r in rows]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        stored = tp.rows("messages")
        assert [r["seq"] for r in stored] == seqs
        # Timeplus numbers insert batches: the first three rows share one _tp_sn.
        assert [r["_tp_sn"] for r in stored][:3] == [stored[0]["_tp_sn"]] * 3
        assert stored[3]["_tp_sn"] == stored[0]["_tp_sn"] + 1
        assert json.loads(stored[0]["content"]) == {"text": "a"}
        assert stored[0]["timestamp"][10] == " " and stored[0]["id"] == rows[0]["id"]


async def test_timeplus_store_reads_its_own_writes_before_table_shows_them(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    async with opened(tp, tmp_path) as store:
        [u] = await store.append(
            "messages",
            [msg(session_id="s1", message_type="user_input", text="plan my week")],
        )
        assert [r["id"] for r in await store.unanswered()] == [u["id"]]
        await store.append(
            "messages",
            [msg(session_id="s1", message_type="agent_response", reply_to=u["id"], text="ok")],
        )
        await store.append(
            "tasks", [{"name": "news", "version": 1}, {"name": "news", "version": 2}]
        )
        await store.append(
            "llm_logs",
            [{"model": "m", "estimated_cost_usd": 0.25, "input_tokens": 10, "status": "success"}],
        )
        got = await store.query(
            "messages", make_filters(schema.MESSAGES, [("session_id", "eq", "s1")])
        )
        assert [r["content"]["text"] for r in got] == ["ok", "plan my week"]
        assert await store.count("messages") == 2
        assert await store.unanswered() == []
        [task] = await store.latest_by("tasks", "name")
        assert task["version"] == 2
        [session] = await store.sessions()
        assert (session.session_id, session.message_count, session.title) == (
            "s1",
            2,
            "plan my week",
        )
        total = (await store.cost_summary()).total
        assert (total.requests, total.cost_usd, total.input_tokens) == (1, 0.25, 10)
        by_model = await store.cost_summary(by="model")
        assert [b.key for b in by_model.buckets] == ["m"]
        # The historical part of each read stops at the window's floor, so nothing is
        # counted twice once table() shows the rows.
        floor = store._window.floor("messages")
        counts = tp.queries("SELECT count() AS n FROM table(`default`.`messages`)")
        assert counts and counts[-1].params == {"p0": str(floor)}


async def test_timeplus_store_merges_history_with_recent_rows(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    old = [
        {
            "id": f"old{i}",
            "timestamp": "2026-11-20 09:00:00.000",
            "event_type": f"old{i}",
            "source": "",
            "severity": "",
            "payload": "{}",
            "tags": [],
            "seq": str(i),
        }
        for i in (1, 2, 3)
    ]

    def handler(req: Request) -> Rows | None:
        if req.sql.startswith("SELECT `id`") and "FROM table(`default`.`events`)" in req.sql:
            desc = "DESC" in req.sql
            return Rows(list(reversed(old)) if desc else old)
        return None

    tp.handler = handler
    async with opened(tp, tmp_path) as store:
        new = await store.append("events", [{"event_type": "new1"}, {"event_type": "new2"}])
        got = await store.query("events", limit=3)
        assert [r["event_type"] for r in got] == ["new2", "new1", "old3"]
        got = await store.query("events", order="asc", limit=4)
        assert [r["event_type"] for r in got] == ["old1", "old2", "old3", "new1"]
        assert all(r.seq < new[0].seq for r in got[:3])
        # With enough recent rows, the window alone answers a newest-first query.
        before = len(tp.queries("FROM table(`default`.`events`)"))
        got = await store.query("events", limit=2)
        assert [r["event_type"] for r in got] == ["new2", "new1"]
        assert len(tp.queries("FROM table(`default`.`events`)")) == before


# -- outages -------------------------------------------------------------------------------------


async def test_timeplus_store_spools_during_an_outage_and_flushes_in_order(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    async with opened(tp, tmp_path) as store:
        before = await store.append("events", [{"event_type": "before"}])
        tail = store.tail("events", start=TailStart.after(before[0].seq))
        tp.stop()
        during: list[Row] = []
        for i in range(5):
            during += await store.append(
                "events", [{"event_type": f"during{i}"}, {"event_type": "x"}], durable=i == 0
            )
        health = await store.health()
        assert health.startswith("timeplus unreachable at http://127.0.0.1:")
        assert health.endswith("(10 rows spooled)")
        assert store.spooled() == 10
        # Acknowledged rows reach tails and reads while Timeplus is away.
        got: list[Row] = []
        async with asyncio.timeout(WAIT):
            async for batch in tail:
                got += batch
                if len(got) >= 10:
                    break
        assert [r.seq for r in got] == [r.seq for r in during]
        recent = await store.query("events", limit=3)
        assert [r["event_type"] for r in recent] == ["x", "during4", "x"]
        # Reads answer from the rows at hand; exact ones (current state, counts) refuse.
        oldest = await store.query("events", order="asc", limit=2)
        assert [r["event_type"] for r in oldest] == ["before", "during0"]
        with pytest.raises(Unavailable, match=r"timeplus unreachable.*\(10 rows spooled\)"):
            await store.count("events")
        with pytest.raises(Unavailable):
            await store.latest_by("tasks", "name")
        tp.start()
        rows = await asyncio.to_thread(tp.wait_rows, "events", 11)
        assert [r["seq"] for r in rows] == [before[0].seq] + [r.seq for r in during]
        await until(lambda: store.spooled() == 0, "the spool to drain")
        assert await store.health() == "ok"
        after = await store.append("events", [{"event_type": "after"}])
        assert (await asyncio.to_thread(tp.wait_rows, "events", 12))[-1]["seq"] == after[0].seq
        await tail.aclose()  # type: ignore[attr-defined]


async def test_timeplus_store_opens_while_timeplus_is_down(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    tp.stop()
    async with opened(tp, tmp_path) as store:
        assert "timeplus unreachable" in await store.health()
        assert await store.schema_version() == 0
        rows = await store.append("messages", [msg(text="hello")])
        assert (await store.query("messages", limit=1))[0]["id"] == rows[0]["id"]
        tp.start()
        stored = await asyncio.to_thread(tp.wait_rows, "messages", 1)
        assert stored[0]["id"] == rows[0]["id"]
        assert tp.queries("CREATE STREAM IF NOT EXISTS `default`.`messages`")
        await until(lambda: store.spooled() == 0, "the spool to drain")
        assert await store.schema_version() == schema.SCHEMA_VERSION


async def test_timeplus_spooled_rows_survive_a_restart(tp: FakeTimeplus, tmp_path: Path) -> None:
    async with opened(tp, tmp_path) as store:
        tp.stop()
        rows = await store.append("messages", [msg(text="kept")], durable=True)
    async with opened(tp, tmp_path) as store:
        assert store.spooled() == 1
        [back] = await store.query("messages", limit=1)
        assert back.seq == rows[0].seq and back["content"] == {"text": "kept"}
        later = await store.append("messages", [msg(text="later")])
        assert later[0].seq > rows[0].seq
        tp.start()
        stored = await asyncio.to_thread(tp.wait_rows, "messages", 2)
        assert [r["seq"] for r in stored] == [rows[0].seq, later[0].seq]


async def test_timeplus_replayed_batch_is_not_stored_twice(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    """An insert whose answer never came may have landed: the replay checks ids first."""
    hang = {"n": 1}

    def handler(req: Request) -> Live | None:
        if req.sql.startswith("INSERT INTO `default`.`events`") and hang["n"]:
            hang["n"] -= 1
            tp._insert("`default`.`events`", req.data)  # it lands...
            return Live()  # ...but the answer never comes
        return None

    tp.handler = handler
    async with opened(tp, tmp_path, query_timeout_s=1.0) as store:
        rows = await store.append("events", [{"event_type": "once"}, {"event_type": "twice?"}])
        assert store.spooled() == 2
        await until(lambda: store.spooled() == 0, "the spool to drain")
        assert [r["id"] for r in tp.rows("events")] == [r["id"] for r in rows]
        assert tp.queries("SELECT DISTINCT `id` AS id FROM table(`default`.`events`)")


async def test_timeplus_full_spool_refuses_appends(tp: FakeTimeplus, tmp_path: Path) -> None:
    async with opened(tp, tmp_path, spool_max_rows=3) as store:
        tp.stop()
        await store.append("events", [{}, {}, {}])
        with pytest.raises(Unavailable, match="spool is full"):
            await store.append("events", [{}])
        assert store.spooled() == 3


# -- SQL and copies ------------------------------------------------------------------------------


async def test_timeplus_store_sql_streams_rows_and_cancels(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    lives: list[Live] = []

    def handler(req: Request) -> Live | None:
        if req.port == "stream" and "FROM messages" in req.sql:
            lives.append(Live())
            return lives[-1]
        return None

    tp.handler = handler
    async with opened(tp, tmp_path) as store:
        with pytest.raises(InvalidArgument):
            await anext(store.sql("DROP STREAM messages"))
        results = store.sql("SELECT id, seq FROM messages")
        first = asyncio.create_task(anext(results))
        await until(lambda: bool(lives) and lives[0].started.is_set(), "the query")
        req = lives[0].request
        assert req is not None and req.args["readonly"] == "2"
        assert req.sql.endswith("FORMAT JSONCompactEachRowWithNamesAndTypes")
        lives[0].items.put(["id", "seq"])
        lives[0].items.put(["string", "int64"])
        columns, types, rows = await asyncio.wait_for(first, WAIT)
        assert (columns, types, rows) == (["id", "seq"], ["string", "int64"], [])
        lives[0].items.put(["a", "1"])
        assert (await asyncio.wait_for(anext(results), WAIT))[2] == [["a", "1"]]
        await results.aclose()
        assert await asyncio.to_thread(lives[0].cancelled.wait, WAIT)
        kill = await asyncio.to_thread(tp.wait_request, lambda r: r.sql.startswith("KILL QUERY"))
        assert kill.params["p0"] == req.query_id


async def test_timeplus_copy_from_local_is_repeatable(tp: FakeTimeplus, tmp_path: Path) -> None:
    local = LocalStore(tmp_path / "local")
    await local.open()
    admin = TimeplusAdmin(config(tp))

    async def run(fn: Any, *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    try:
        src = await local.append("messages", [msg(text=f"m{i}") for i in range(25)])
        await local.append("events", [{"event_type": "e"}])

        async def copy() -> list[dict[str, Any]]:
            steps = []
            async with contextlib.aclosing(
                copy_rows(local, admin, ["messages", "events"], 10, run)
            ) as it:
                async for p in it:
                    steps.append(p)
            return steps

        steps = await copy()
        done = [p for p in steps if p["finished"]]
        assert [(p["stream"], p["copied"], p["skipped"], p["total"]) for p in done] == [
            ("messages", 25, 0, 25),
            ("events", 1, 0, 1),
        ]
        assert [p["done"] for p in steps if p["stream"] == "messages"] == [0, 10, 20, 25]
        stored = tp.rows("messages")
        assert [r["id"] for r in stored] == [r["id"] for r in src]
        assert [r["seq"] for r in stored] == [r.seq for r in src]
        assert tp.queries("CREATE STREAM")  # the target was prepared first
        again = [p for p in await copy() if p["finished"]]
        assert [(p["copied"], p["skipped"]) for p in again] == [(0, 25), (0, 1)]
        assert len(tp.rows("messages")) == 25
    finally:
        await asyncio.to_thread(admin.http.close)
        await local.close()


# -- the spool itself ------------------------------------------------------------------------------


def test_timeplus_spool_keeps_batches_in_order_across_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    spool.add("events", [{"id": "a", "seq": 1}], durable=True)
    spool.add("messages", [{"id": "b", "seq": 2}, {"id": "c", "seq": 3}], durable=False)
    spool.add("events", [{"id": "d", "seq": 4}], durable=False, uncertain=True)
    assert (spool.rows, spool.batches) == (4, 3)
    spool.close()
    assert oct(spool.path.stat().st_mode & 0o777) == "0o600"

    spool = Spool(tmp_path)
    spool.open()
    assert (spool.rows, spool.batches) == (4, 3)
    batches = spool.all()
    assert [(b.stream, [r["id"] for r in b.rows], b.uncertain) for b in batches] == [
        ("events", ["a"], False),
        ("messages", ["b", "c"], False),
        ("events", ["d"], True),
    ]
    first = spool.first()
    assert first is not None and first.rows == [{"id": "a", "seq": 1}]
    spool.remove(first)
    spool.remove(first)  # twice is harmless
    last = batches[2]
    kept = spool.replace(last, [])
    assert kept.rows == [] and not kept.uncertain
    assert (spool.rows, spool.batches) == (2, 2)
    spool.remove(kept)
    spool.remove(batches[1])
    assert spool.first() is None and (spool.rows, spool.batches) == (0, 0)
    spool.close()


async def test_timeplus_store_merges_history_into_every_read(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    """Rows Timeplus holds (answered here by the fake, as table() would) and rows only the
    daemon holds yet are merged: current state, sessions, unanswered inputs, costs."""

    def task(name: str, version: int, seq: int) -> dict[str, Any]:
        row: dict[str, Any] = {c: "" for c in schema.TASKS.column_names}
        row.update(
            name=name,
            version=str(version),
            timestamp="2026-11-20 08:00:00.000",
            enabled=True,
            deleted=False,
            options="{}",
            seq=str(seq),
        )
        return {f"v_{k}": v for k, v in row.items()}

    def message(mid: str, kind: str, seq: int, reply_to: str = "") -> dict[str, Any]:
        return {
            "id": mid,
            "timestamp": "2026-11-20 08:00:00.000",
            "source": "cli",
            "target": "agent",
            "session_id": "old",
            "message_type": kind,
            "content": '{"text":"from history"}',
            "user_id": "",
            "channel_metadata": "{}",
            "priority": "0",
            "reply_to": reply_to,
            "seq": str(seq),
        }

    def session(sid: str, n: int, first: str, last: str, seq: int) -> dict[str, Any]:
        return {
            "session_id": sid,
            "n": str(n),
            "first_ts": first,
            "last_ts": last,
            "last_seq": str(seq),
        }

    def handler(req: Request) -> Rows | None:
        sql = req.sql
        if "arg_max(" in sql and "`default`.`tasks`" in sql:
            return Rows([task("a", 1, 3), task("c", 4, 4)])
        if "ORDER BY last_ts DESC" in sql:
            return Rows(
                [
                    session("old", 3, "2026-11-20 08:00:00.000", "2026-11-20 09:00:00.000", 9),
                    session("s1", 2, "2026-11-20 07:00:00.000", "2026-11-20 07:30:00.000", 8),
                ]
            )
        if "arg_min(`content`" in sql:
            return Rows(
                [
                    {"session_id": "old", "content": '{"text":"old title"}'},
                    {"session_id": "s1", "content": '{"text":"s1 title"}'},
                ]
            )
        if "NOT IN (SELECT `reply_to`" in sql:
            return Rows([message("h1", "user_input", 6), message("h2", "user_input", 7)])
        if "AS cost_usd" in sql and "GROUP BY k" in sql:
            sums = {"requests": "2", "errors": "1", "input_tokens": "100", "output_tokens": "10"}
            return Rows(
                [
                    {
                        "k": "m",
                        **sums,
                        "cache_read_tokens": "0",
                        "cache_write_tokens": "0",
                        "cost_usd": 1.5,
                        "latency_ms_sum": 200,
                    }
                ]
            )
        return None

    tp.handler = handler
    async with opened(tp, tmp_path) as store:
        await store.append("tasks", [{"name": "a", "version": 2}, {"name": "b", "version": 1}])
        latest = await store.latest_by("tasks", "name")
        assert [(r["name"], r["version"]) for r in latest] == [("a", 2), ("b", 1), ("c", 4)]
        assert latest[2].seq == 4 and latest[2]["enabled"] is True

        await store.append(
            "messages",
            [
                msg(session_id="s1", message_type="agent_response", reply_to="h1"),
                msg(session_id="s2", message_type="user_input", id="w1", text="s2 title"),
            ],
        )
        sessions = await store.sessions()
        assert [(s.session_id, s.message_count, s.title) for s in sessions] == [
            ("s2", 1, "s2 title"),
            ("s1", 3, "s1 title"),
            ("old", 3, "old title"),
        ]
        assert sessions[1].first_activity == "2026-11-20T07:00:00.000Z"
        by_id = tp.queries("IN {p0:array(string)}")
        assert any(r.params.get("p0") == "['s2']" for r in by_id)

        unanswered = await store.unanswered()
        assert [r["id"] for r in unanswered] == ["h2", "w1"]

        await store.append(
            "llm_logs",
            [{"model": "m", "estimated_cost_usd": 0.5, "input_tokens": 1, "status": "success"}],
        )
        [bucket] = (await store.cost_summary(by="model")).buckets
        assert (bucket.key, bucket.requests, bucket.errors, bucket.input_tokens) == ("m", 3, 1, 101)
        assert bucket.cost_usd == pytest.approx(2.0)


async def test_timeplus_store_sql_errors_are_the_statements(
    tp: FakeTimeplus, tmp_path: Path
) -> None:
    tp.handler = lambda r: (
        Fail(47, "Missing columns: 'nope'", "UNKNOWN_IDENTIFIER", 404)
        if r.port == "stream" and "nope" in r.sql
        else None
    )
    async with opened(tp, tmp_path) as store:
        with pytest.raises(InvalidArgument, match="Missing columns: 'nope'"):
            async with contextlib.aclosing(store.sql("SELECT nope FROM messages")) as it:
                await anext(it)
        tp.stop()
        with pytest.raises(Unavailable, match="timeplus unreachable"):
            async with contextlib.aclosing(store.sql("SELECT 1")) as it:
                await anext(it)
