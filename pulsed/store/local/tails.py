"""Push-based tails of the local store.

The daemon is the only writer, so after each commit the writer hands the new rows to the
stream's running tails (``Tails.committed``, then ``loop.call_soon_threadsafe``): tails
get new rows without polling. A tail registers before it reads its backlog, so no row
falls between the two; when a slow tail's in-memory queue overflows it goes back to the
database from its last delivered row, so memory stays bounded and nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable

from pulsed.errors import StoreError
from pulsed.store.base import Row, TailStart
from pulsed.store.local.filters import Predicate

TAIL_QUEUE_ROWS = 10_000
"""Rows a tail may hold in memory before it falls back to reading the database."""


class Subscriber:
    """One running tail's inbox of live rows (lives on the event loop thread)."""

    __slots__ = ("preds", "rows", "event", "cap", "overflowed", "overflows", "closed")

    def __init__(self, preds: list[Predicate], cap: int) -> None:
        self.preds = preds
        self.rows: deque[Row] = deque()
        self.event = asyncio.Event()
        self.cap = cap
        self.overflowed = False
        self.overflows = 0
        self.closed = False

    def offer(self, rows: list[Row]) -> None:
        """Queue the matching ones of freshly committed ``rows``; on overflow drop the
        queue and mark the tail for a re-read from the database."""
        if self.closed or self.overflowed:
            return
        if self.preds:
            rows = [r for r in rows if all(c.match(r) for c in self.preds)]
            if not rows:
                return
        if len(self.rows) + len(rows) > self.cap:
            self.overflowed = True
            self.overflows += 1
            self.rows.clear()
        else:
            self.rows.extend(rows)
        self.event.set()

    def reset(self) -> None:
        """Forget queued rows (a backlog read from the database is about to cover them)."""
        self.rows.clear()
        self.overflowed = False

    def take(self, limit: int, after: int) -> list[Row]:
        """Up to ``limit`` queued rows with a seq above ``after``, in order."""
        out: list[Row] = []
        rows = self.rows
        while rows and len(out) < limit:
            r = rows.popleft()
            if r.seq > after:
                out.append(r)
        return out

    def close(self) -> None:
        """End the tail (the store closes)."""
        self.closed = True
        self.event.set()


class Tails:
    """Every running tail, per stream, and the hand-over of committed rows to them."""

    def __init__(self, queue_rows: int = TAIL_QUEUE_ROWS) -> None:
        self.queue_rows = max(1, queue_rows)
        self.subs: dict[str, set[Subscriber]] = {}
        self.overflows = 0
        """How often a tail's live queue overflowed and it re-read from the database."""
        self.loop: asyncio.AbstractEventLoop | None = None

    def committed(self, stream: str, rows: list[Row]) -> None:
        """Rows were committed (writer thread): hand them to the stream's tails."""
        if self.subs.get(stream) and self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has gone: nobody to tell
                self.loop.call_soon_threadsafe(self._publish, stream, rows)

    def _publish(self, stream: str, rows: list[Row]) -> None:
        """Hand freshly committed rows to the stream's tails (event loop thread)."""
        for sub in list(self.subs.get(stream, ())):
            before = sub.overflows
            sub.offer(rows)
            self.overflows += sub.overflows - before

    def close_all(self) -> None:
        """End every running tail."""
        for subs in self.subs.values():
            for sub in subs:
                sub.close()

    async def follow(
        self,
        stream: str,
        preds: list[Predicate],
        start: TailStart,
        max_batch: int,
        last_seq: Callable[[], Awaitable[int]],
        page: Callable[[int, int, int], Awaitable[list[Row]]],
    ) -> AsyncGenerator[list[Row], None]:
        """The rows of ``stream`` after ``start`` matching ``preds``, in batches of at
        most ``max_batch``, until the tail is closed.

        ``last_seq()`` reads the stream's highest seq; ``page(after, upto, limit)`` reads
        matching rows with ``after < seq <= upto`` from the database, in seq order.

        Raises:
            StoreError: a read failed (not when the store closed under it).
        """
        sub = Subscriber(preds, self.queue_rows)
        subs = self.subs.setdefault(stream, set())
        subs.add(sub)
        try:
            # Registered first: every row committed from here on reaches ``sub``; every
            # row committed before is at most the last sequence number read below.
            if start.kind == "latest":
                last = await last_seq()
                backlog = False
            else:
                last = start.seq if start.kind == "after" else 0
                backlog = True
            while not sub.closed:
                if backlog:
                    sub.reset()
                    hi = await last_seq()
                    while last < hi and not sub.closed:
                        rows = await page(last, hi, max_batch)
                        last = hi if len(rows) < max_batch else rows[-1].seq
                        if rows and not sub.closed:
                            yield rows
                    backlog = False
                    continue
                if sub.overflowed:
                    backlog = True
                    continue
                batch = sub.take(max_batch, last)
                if batch:
                    last = batch[-1].seq
                    yield batch
                    continue
                sub.event.clear()
                await sub.event.wait()
        except StoreError:
            if sub.closed:
                return  # the store closed under a running read
            raise
        finally:
            subs.discard(sub)
