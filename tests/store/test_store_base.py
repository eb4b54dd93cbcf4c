"""The contract's own argument checks (``pulsed.store.base.Store``): what a backend's
protected methods are given, and what they are spared. A recording backend stands in
for the real ones, which tests/store/test_store_contract.py runs."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import pytest

from pulsed.errors import InvalidArgument, NotFound, StoreError
from pulsed.store import schema
from pulsed.store.base import (
    MAX_LIMIT,
    Check,
    CostSummary,
    Filter,
    Row,
    SessionInfo,
    Store,
    TailStart,
    check_filters,
    norm_time,
)
from pulsed.store.schema import Stream


class Recording(Store):
    """A backend that records the calls of its protected methods and answers nothing."""

    backend = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.opened = True

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.opened = False

    async def schema_version(self) -> int:
        return schema.SCHEMA_VERSION

    async def _health(self) -> str:
        return "ok"

    def _require_open(self) -> asyncio.AbstractEventLoop:
        if not self.opened:
            raise StoreError("closed")
        return asyncio.get_running_loop()

    async def _append(
        self, stream: Stream, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        self.calls.append(("append", (stream, list(rows), durable)))
        return []

    async def _tail(
        self, stream: Stream, checks: list[Check], start: TailStart, max_batch: int
    ) -> AsyncGenerator[list[Row], None]:
        self.calls.append(("tail", (stream, checks, start, max_batch)))
        try:
            yield [Row(stream.name, 1, {})]
        finally:
            self.calls.append(("tail closed", ()))

    async def _query(
        self,
        stream: Stream,
        checks: list[Check],
        since: str | None,
        until: str | None,
        order: str,
        limit: int,
    ) -> list[Row]:
        self.calls.append(("query", (stream, checks, since, until, order, limit)))
        return []

    async def _last_seq(self, stream: Stream) -> int:
        self.calls.append(("last_seq", (stream,)))
        return 0

    async def _count(self, stream: Stream) -> int:
        self.calls.append(("count", (stream,)))
        return 0

    async def _cost_summary(self, since: str | None, until: str | None, by: str) -> CostSummary:
        self.calls.append(("cost_summary", (since, until, by)))
        return CostSummary()

    async def _sessions(self, limit: int) -> list[SessionInfo]:
        self.calls.append(("sessions", (limit,)))
        return []

    async def _unanswered(self, since: str | None) -> list[Row]:
        self.calls.append(("unanswered", (since,)))
        return []

    async def _latest_by(self, stream: Stream, key: str) -> list[Row]:
        self.calls.append(("latest_by", (stream, key)))
        return []


async def test_query_gets_a_stream_checked_filters_and_normalised_bounds() -> None:
    store = Recording()
    await store.query(
        "messages",
        [Filter("priority", "ge", "1"), Filter("session_id", "contains", 5)],
        since="2026-11-21T10:30:00+01:00",
        until="",
        order="asc",
        limit=MAX_LIMIT,
    )
    [(name, (stream, checks, since, until, order, limit))] = store.calls
    assert (name, stream) == ("query", schema.MESSAGES)
    assert checks == [
        Check(schema.MESSAGES.column("priority"), "ge", 1),
        Check(schema.MESSAGES.column("session_id"), "contains", "5"),
    ]
    assert (since, until, order, limit) == ("2026-11-21T09:30:00.000Z", None, "asc", MAX_LIMIT)


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"limit": 0}, "limit must be between 1 and 10000, not 0"),
        ({"limit": MAX_LIMIT + 1}, "limit must be between 1 and 10000"),
        ({"limit": True}, "limit must be between 1 and 10000, not True"),
        ({"limit": 2.0}, "limit must be between 1 and 10000, not 2.0"),
        ({"order": "up"}, "order must be asc or desc, not 'up'"),
        ({"since": "yesterday"}, "'yesterday' is not an ISO 8601 datetime"),
        ({"until": 5}, "until must be ISO 8601 text, not int"),
        ({"filters": [Filter("colour", "eq", "red")]}, "stream messages has no column 'colour'"),
        ({"filters": [Filter("session_id", "like", "a%")]}, "unknown filter operator 'like'"),
        ({"filters": [Filter("priority", "eq", "high")]}, "column priority is int: 'high'"),
    ],
)
async def test_query_refuses_bad_arguments_before_the_backend(
    kwargs: dict[str, Any], says: str
) -> None:
    store = Recording()
    with pytest.raises(InvalidArgument, match=re.escape(says)):
        await store.query("messages", **kwargs)
    assert store.calls == []


async def test_unknown_streams_and_columns_never_reach_the_backend() -> None:
    store = Recording()
    for call in (
        store.append("nope", [{}]),
        store.query("nope"),
        store.last_seq("nope"),
        store.count("nope"),
        store.latest_by("nope", "id"),
    ):
        with pytest.raises(NotFound, match="unknown stream 'nope'"):
            await call
    with pytest.raises(NotFound):
        await anext(store.tail("nope"))
    with pytest.raises(InvalidArgument, match="stream tasks has no column 'colour'"):
        await store.latest_by("tasks", "colour")
    assert store.calls == []
    await store.latest_by("tasks", "name")
    await store.last_seq("events")
    await store.count("cursors")
    assert store.calls == [
        ("latest_by", (schema.TASKS, "name")),
        ("last_seq", (schema.EVENTS,)),
        ("count", (schema.CURSORS,)),
    ]


async def test_append_refuses_one_row_and_skips_empty_batches() -> None:
    store = Recording()
    with pytest.raises(InvalidArgument, match="a sequence of rows, not one row"):
        await store.append("events", {"event_type": "x"})  # type: ignore[arg-type]
    assert await store.append("events", []) == []
    assert store.calls == []
    await store.append("events", [{"event_type": "x"}], durable=True)
    assert store.calls == [("append", (schema.EVENTS, [{"event_type": "x"}], True))]


async def test_tail_checks_when_iteration_starts_and_closes_the_backends_tail() -> None:
    store = Recording()
    tail = store.tail("events", start=TailStart.after(-5), max_batch=3)
    assert store.calls == []  # nothing happens before iteration
    assert [r.seq for r in await anext(tail)] == [1]
    [(name, (stream, checks, start, max_batch))] = store.calls
    assert (name, stream, checks, start, max_batch) == (
        "tail",
        schema.EVENTS,
        [],
        TailStart.after(0),
        3,
    )
    await tail.aclose()
    assert store.calls[-1] == ("tail closed", ())
    for bad, says in (
        (store.tail("events", max_batch=0), "max_batch must be at least 1, not 0"),
        (store.tail("events", start=TailStart("sideways")), "unknown tail start 'sideways'"),
        (store.tail("events", [Filter("nope", "eq", "x")]), "no column 'nope'"),
    ):
        with pytest.raises(InvalidArgument, match=says):
            await anext(bad)
    assert len(store.calls) == 2


async def test_cost_summary_checks_grouping_and_bounds_and_answers_empty_ranges() -> None:
    store = Recording()
    with pytest.raises(InvalidArgument, match="cannot group costs by 'week'"):
        await store.cost_summary(by="week")
    with pytest.raises(InvalidArgument, match="not an ISO 8601 datetime"):
        await store.cost_summary(since="soon")
    empty = await store.cost_summary("2026-11-21T02:00:00Z", "2026-11-21T01:00:00Z", "model")
    assert empty == CostSummary()
    assert store.calls == []
    await store.cost_summary("2026-11-21T01:00:00+01:00", None, "day")
    assert store.calls == [("cost_summary", ("2026-11-21T00:00:00.000Z", None, "day"))]
    store.opened = False
    with pytest.raises(StoreError):
        await store.cost_summary("2026-11-21T02:00:00Z", "2026-11-21T01:00:00Z")


async def test_sessions_and_unanswered_arguments() -> None:
    store = Recording()
    for bad in (0, -1, MAX_LIMIT + 1, False):
        with pytest.raises(InvalidArgument, match="limit must be between 1 and 10000"):
            await store.sessions(limit=bad)
    with pytest.raises(InvalidArgument, match="since must be ISO 8601 text, not float"):
        await store.unanswered(since=1.5)  # type: ignore[arg-type]
    assert store.calls == []
    await store.sessions(limit=7)
    await store.unanswered(since="2026-11-21T00:00:00Z")
    await store.unanswered()
    assert store.calls == [
        ("sessions", (7,)),
        ("unanswered", ("2026-11-21T00:00:00.000Z",)),
        ("unanswered", (None,)),
    ]


def test_check_filters_and_norm_time_directly() -> None:
    [c] = check_filters(schema.TASKS, [Filter("enabled", "eq", "yes")])
    assert c == Check(schema.TASKS.column("enabled"), "eq", True)
    assert norm_time(None, "since") is None and norm_time("", "since") is None
    assert norm_time("2026-11-21T09:00:00Z", "since") == "2026-11-21T09:00:00.000Z"
