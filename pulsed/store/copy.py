"""Copying history from one store into another (``pulsectl store copy``).

The source is any ``base.Store``, read through the contract (``count``, ``last_seq``,
``tail``). The target is a ``CopyTarget``: blocking calls that prepare its streams,
say which row ids it holds and insert rows keeping their ids, timestamps and seqs
(``pulsed.store.timeplus.TimeplusAdmin`` is one). A copy is repeatable: rows the target
holds already are skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from pulsed.errors import InvalidArgument
from pulsed.store import schema
from pulsed.store.base import MAX_LIMIT, Row, Store, TailStart
from pulsed.store.schema import Stream

T = TypeVar("T")


class CopyTarget(Protocol):
    """Where ``copy_rows`` writes. Every method blocks (it is called through ``run``)."""

    def prepare(self) -> None:
        """Create the target's streams if they do not exist yet."""

    def present_ids(self, s: Stream, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` stream ``s`` of the target holds."""

    def insert_rows(self, s: Stream, rows: Sequence[Row]) -> None:
        """Insert ``rows`` of ``s`` keeping their ids, timestamps and seqs."""


class Run(Protocol):
    """Runs a blocking call off the event loop: ``await run(fn, *args)`` is its result."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


async def copy_rows(
    source: Store,
    target: CopyTarget,
    streams: Sequence[str],
    batch_size: int,
    run: Run,
) -> AsyncGenerator[dict[str, Any], None]:
    """Copy every row of ``streams`` (all streams when empty) from ``source`` into
    ``target``, keeping ids, timestamps and seqs; rows whose id the target holds already
    are skipped (repeatable). Rows appended to the source after the copy of a stream
    began are left for the next copy.

    Yields progress dicts: ``stream``, ``total`` (rows in the source), ``done`` (rows
    looked at), ``copied``, ``skipped`` (ints) and ``finished`` (bool; True once per
    stream, last).

    Raises:
        InvalidArgument: an unknown stream, or a batch size outside 1..``MAX_LIMIT``.
        NotFound: an unknown stream (from the source).
        Whatever the target raises (for Timeplus: TimeplusUnreachable,
        TimeplusQueryError, TimeplusConfigError).
    """
    if not 1 <= batch_size <= MAX_LIMIT:
        raise InvalidArgument(f"batch_size must be between 1 and {MAX_LIMIT}")
    names = list(streams) or list(schema.STREAMS)
    for name in names:
        schema.stream(name)
    await run(target.prepare)
    for name in names:
        s = schema.STREAMS[name]
        total = await source.count(name)
        top = await source.last_seq(name)
        p: dict[str, Any] = {"stream": name, "total": total, "done": 0, "copied": 0, "skipped": 0}
        yield {**p, "finished": False}
        if top:
            tail = source.tail(name, start=TailStart.earliest(), max_batch=batch_size)
            async with contextlib.aclosing(tail) as rows_in:
                async for got in rows_in:
                    batch = [r for r in got if r.seq <= top]
                    present = await run(target.present_ids, s, [str(r["id"]) for r in batch])
                    fresh = [r for r in batch if r["id"] not in present]
                    if fresh:
                        await run(target.insert_rows, s, fresh)
                    p["done"] += len(batch)
                    p["copied"] += len(fresh)
                    p["skipped"] += len(batch) - len(fresh)
                    if len(batch) < len(got) or (batch and batch[-1].seq >= top):
                        break
                    yield {**p, "finished": False}
        yield {**p, "finished": True}
