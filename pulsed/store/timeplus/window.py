"""The read-after-write window of the Timeplus backend: rows the daemon appended that
Timeplus' ``table()`` may not show yet.

``table()`` shows a row about 2 s after its insert. The store keeps the rows it appended
here: every row of a stream with a seq above the stream's *floor* is in the window (rows
leave only once sent to Timeplus and older than ``keep_s``, or beyond ``max_rows``; the
floor rises as they leave). A read asks Timeplus for ``seq <= floor`` and merges the
window above it, so nothing the daemon wrote is missing and nothing is counted twice.
Tails wait on the window's events for new rows. Event loop thread only.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from pulsed.store import schema
from pulsed.store.base import Check, Row
from pulsed.store.timeplus.filters import matches

WINDOW_S = 30.0
"""How long appended rows stay in memory after Timeplus took them (well above the ~2 s
before ``table()`` shows them)."""
WINDOW_ROWS = 50_000
"""Most sent rows kept per stream; beyond it the oldest sent rows leave early."""


@dataclass
class Recent:
    """One stream's recent rows: parallel lists (seq order) from ``head`` on."""

    seqs: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    """When each row came in (``time.monotonic()`` seconds)."""
    sent: list[bool] = field(default_factory=list)
    """Whether Timeplus took each row."""
    head: int = 0
    floor: int = 0
    """Every row of the stream with a higher seq is in this window."""
    events: set[asyncio.Event] = field(default_factory=set)


class Window:
    """Rows this daemon appended and Timeplus may not show yet, per stream."""

    def __init__(self, keep_s: float = WINDOW_S, max_rows: int = WINDOW_ROWS) -> None:
        self.keep_s = keep_s
        self.max_rows = max_rows
        self.streams: dict[str, Recent] = {name: Recent() for name in schema.STREAMS}

    def set_floor(self, stream: str, floor: int) -> None:
        """Set the floor (at open: the highest seq Timeplus holds, or below the first
        spooled row)."""
        self.streams[stream].floor = floor

    def floor(self, stream: str) -> int:
        """The seq at and below which reads go to Timeplus."""
        return self.streams[stream].floor

    def add(self, stream: str, rows: Sequence[Row], sent: bool) -> None:
        """Keep appended ``rows`` (in seq order, above every row kept) and wake tails."""
        r = self.streams[stream]
        now = time.monotonic()
        for row in rows:
            r.seqs.append(row.seq)
            r.rows.append(row)
            r.at.append(now)
            r.sent.append(sent)
        self.evict(stream)
        for ev in r.events:
            ev.set()

    def mark_sent(self, stream: str, upto_seq: int) -> None:
        """Timeplus took the rows up to ``upto_seq`` (from the spool): they may leave."""
        r = self.streams[stream]
        end = bisect_right(r.seqs, upto_seq, lo=r.head)
        for i in range(r.head, end):
            r.sent[i] = True
        self.evict(stream)

    def evict(self, stream: str) -> None:
        """Let sent rows older than ``keep_s`` (or beyond ``max_rows``) go; raise the
        floor past them and wake tails when any left."""
        r = self.streams[stream]
        now = time.monotonic()
        i = r.head
        n = len(r.seqs)
        while i < n and r.sent[i] and (now - r.at[i] > self.keep_s or n - i > self.max_rows):
            r.floor = max(r.floor, r.seqs[i])
            i += 1
        if i != r.head:
            r.head = i
            if r.head > 4096 and r.head * 2 > n:
                for lst in (r.seqs, r.rows, r.at, r.sent):
                    del lst[: r.head]
                r.head = 0
            for ev in r.events:
                ev.set()

    def covers(self, stream: str, last: int) -> bool:
        """Whether every row above ``last`` is here."""
        return last >= self.streams[stream].floor

    def after(self, stream: str, last: int, cs: Sequence[Check], limit: int) -> list[Row]:
        """Up to ``limit`` kept rows above seq ``last`` that match ``cs``, in seq order."""
        r = self.streams[stream]
        out: list[Row] = []
        for i in range(bisect_right(r.seqs, last, lo=r.head), len(r.seqs)):
            row = r.rows[i]
            if not cs or matches(row.values, cs):
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def above_floor(self, stream: str) -> list[Row]:
        """Every kept row above the floor, in seq order (what reads merge in)."""
        r = self.streams[stream]
        start = bisect_right(r.seqs, r.floor, lo=r.head)
        return r.rows[start:]

    def unsent(self, stream: str) -> int:
        """How many kept rows Timeplus has not taken yet."""
        r = self.streams[stream]
        return sum(1 for i in range(r.head, len(r.sent)) if not r.sent[i])

    def max_seq(self, stream: str) -> int:
        """The highest kept seq (0 when none is kept)."""
        r = self.streams[stream]
        return r.seqs[-1] if len(r.seqs) > r.head else 0

    def subscribe(self, stream: str) -> asyncio.Event:
        """An event set whenever rows of ``stream`` come in or leave."""
        ev = asyncio.Event()
        self.streams[stream].events.add(ev)
        return ev

    def unsubscribe(self, stream: str, ev: asyncio.Event) -> None:
        """Forget an event of ``subscribe``."""
        self.streams[stream].events.discard(ev)

    def wake_all(self) -> None:
        """Set every subscribed event (the store closes)."""
        for r in self.streams.values():
            for ev in r.events:
                ev.set()
