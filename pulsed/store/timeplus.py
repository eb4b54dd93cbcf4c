"""The Timeplus backend: Pulse's streams in Timeplus Proton or Enterprise (``base.Store``).

How it keeps the contract over a remote, eventually-visible store:

- **Sequence numbers.** Timeplus numbers insert batches (``_tp_sn``), not rows, and an
  insert does not say which number it got. So the daemon gives each row its own ``seq``
  (a column of every stream): per stream, ``max(previous + 1, now in microseconds)``,
  starting above the highest seq stored. Seqs are unique and increase in append order, and
  stay ahead across restarts as long as the clock does not jump back. ``_tp_sn`` stays
  Timeplus' cursor: a streaming read resumes with ``WHERE _tp_sn > N`` after the last whole
  batch it read, and drops rows whose seq it already delivered.
- **One writer.** The daemon is the only writer of its streams (as with the local store):
  appends to a stream are serialised, so log order is seq order.
- **Read after write.** ``table()`` shows a row about 2 s after its insert. The store keeps
  the rows it appended in an in-memory window: every row with a seq above the stream's
  *floor* is in it (rows leave it only once sent and older than ``WINDOW_S``; the floor
  rises as they leave). A query reads ``table()`` for ``seq <= floor`` and merges the window
  above it, so nothing the daemon wrote is ever missing and nothing is counted twice.
- **Tails.** A tail delivers rows above its position from the window as soon as they are
  appended (when the window holds everything above that position), and otherwise from
  Timeplus: the historical store up to the last batch it holds, then an unbounded
  streaming query from that ``_tp_sn`` on the streaming port, reconnecting with backoff.
  If the log no longer reaches back to the cursor (older than ``logstore_retention_ms``),
  it falls back to the historical store again.
- **Outages.** Health is a real ``SELECT 1``. When Timeplus cannot take an append, the rows
  go to a local durable spool (``spool.py``), are acknowledged, reach tails through the
  window, and are sent in order when Timeplus answers again (a batch whose earlier insert
  may have landed is first checked by id, so replays do not duplicate). Queries that need
  Timeplus answer UNAVAILABLE, saying so, unless the window alone answers them exactly.
- **Current state** of version logs (tasks, cursors) is ``arg_max(col, seq)`` per key:
  mutable streams are Enterprise-only.
- **Costs** are summed from ``table(llm_logs)`` (exact: late rows count). The hourly
  materialized view (a ``tumble`` window) is created for dashboards and streaming SQL; a
  tumble window is emitted only when a later event moves the watermark and drops late rows,
  so it cannot give exact figures for the current hour or back-filled history.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pulsed import __version__
from pulsed.config import TimeplusConfig
from pulsed.errors import InvalidArgument, PulseError, StoreError, Unavailable
from pulsed.store import schema
from pulsed.store import timeplus_sql as q
from pulsed.store.base import (
    CostBucket,
    CostSummary,
    Filter,
    Row,
    SessionInfo,
    Store,
    TailStart,
    check_grouping,
    new_id,
    now_iso,
    parse_iso,
    to_iso,
)
from pulsed.store.schema import Stream
from pulsed.store.spool import Batch, Spool
from pulsed.store.timeplus_http import (
    COMPACT,
    Endpoint,
    Http,
    RowStream,
    TimeplusConfigError,
    TimeplusQueryError,
    TimeplusUnreachable,
)

log = logging.getLogger("pulsed.store.timeplus")
T = TypeVar("T")

WINDOW_S = 30.0
"""How long appended rows stay in memory after Timeplus took them (well above the ~2 s
before ``table()`` shows them)."""
WINDOW_ROWS = 50_000
"""Most sent rows kept per stream; beyond it the oldest sent rows leave early."""
FLUSH_LAG_S = 3.0
"""How long before a landed insert is visible to ``table()`` (Timeplus flushes about
every 2 s); a replay of a batch whose insert may have landed waits this long first."""
RETRY_MIN_S = 0.2
RETRY_MAX_S = 15.0
TAIL_BUFFER_ROWS = 10_000
"""Rows a tail's streaming read may buffer ahead of its consumer."""
HISTORY_PAGE = 2000
IO_THREADS = 6
_FROM_LATEST = TailStart()
UNKNOWN_TABLE = 60
"""Timeplus' error code for a stream that does not exist."""


def _now_us() -> int:
    return time.time_ns() // 1000


# -- the window of recent rows ----------------------------------------------------------


@dataclass
class _Recent:
    """One stream's recent rows: parallel lists (seq order) from ``head`` on."""

    seqs: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    sent: list[bool] = field(default_factory=list)
    head: int = 0
    floor: int = 0
    """Every row of the stream with a higher seq is in this window."""
    events: set[asyncio.Event] = field(default_factory=set)


class _Window:
    """Rows this daemon appended and Timeplus may not show yet (event loop thread only)."""

    def __init__(self, keep_s: float = WINDOW_S, max_rows: int = WINDOW_ROWS) -> None:
        self.keep_s = keep_s
        self.max_rows = max_rows
        self.streams: dict[str, _Recent] = {name: _Recent() for name in schema.STREAMS}

    def set_floor(self, stream: str, floor: int) -> None:
        self.streams[stream].floor = floor

    def floor(self, stream: str) -> int:
        return self.streams[stream].floor

    def add(self, stream: str, rows: Sequence[Row], sent: bool) -> None:
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
        r = self.streams[stream]
        end = bisect_right(r.seqs, upto_seq, lo=r.head)
        for i in range(r.head, end):
            r.sent[i] = True
        self.evict(stream)

    def evict(self, stream: str) -> None:
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

    def after(self, stream: str, last: int, cs: Sequence[q.Check], limit: int) -> list[Row]:
        r = self.streams[stream]
        out: list[Row] = []
        for i in range(bisect_right(r.seqs, last, lo=r.head), len(r.seqs)):
            row = r.rows[i]
            if not cs or q.matches(row.values, cs):
                out.append(row)
                if len(out) >= limit:
                    break
        return out

    def above_floor(self, stream: str) -> list[Row]:
        r = self.streams[stream]
        start = bisect_right(r.seqs, r.floor, lo=r.head)
        return r.rows[start:]

    def unsent(self, stream: str) -> int:
        r = self.streams[stream]
        return sum(1 for i in range(r.head, len(r.sent)) if not r.sent[i])

    def max_seq(self, stream: str) -> int:
        r = self.streams[stream]
        return r.seqs[-1] if len(r.seqs) > r.head else 0

    def subscribe(self, stream: str) -> asyncio.Event:
        ev = asyncio.Event()
        self.streams[stream].events.add(ev)
        return ev

    def unsubscribe(self, stream: str, ev: asyncio.Event) -> None:
        self.streams[stream].events.discard(ev)

    def wake_all(self) -> None:
        for r in self.streams.values():
            for ev in r.events:
                ev.set()


# -- admin: DDL, versions, copies, SQL ----------------------------------------------------


def endpoint(tp: TimeplusConfig) -> Endpoint:
    """The Endpoint of a ``[store.timeplus]`` table."""
    return Endpoint(
        host=tp.host,
        batch_port=tp.batch_port,
        stream_port=tp.stream_port,
        user=tp.user,
        password=tp.password,
        database=tp.database,
        secure=tp.secure,
        verify=tp.verify,
        connect_timeout_s=tp.connect_timeout_s,
        query_timeout_s=tp.query_timeout_s,
    )


class TimeplusAdmin:
    """Schema and maintenance operations on one Timeplus database. Methods block."""

    def __init__(self, tp: TimeplusConfig, http: Http | None = None) -> None:
        self.cfg = tp
        self.names = q.Names(tp.database, tp.stream_prefix)
        self.keep = q.Retention(tp.logstore_retention_ms, tp.ttl_days)
        self.http = http or Http(endpoint(tp))

    @property
    def where(self) -> str:
        return f"{self.http.ep.where}, database {self.names.database}"

    def recorded_version(self) -> int:
        """The highest schema version recorded (0: none, or the streams do not exist).

        Raises:
            TimeplusUnreachable, TimeplusConfigError, TimeplusQueryError.
        """
        try:
            rows = self.http.query(q.schema_version(self.names), doing="reading the schema version")
        except TimeplusQueryError as e:
            if e.code == UNKNOWN_TABLE:
                return 0
            raise
        return int(rows[0].get("v") or 0) if rows else 0

    def init(self) -> list[str]:
        """Create what is missing (every statement is IF NOT EXISTS), add columns of later
        versions, record the schema version. Returns the statements run.

        Raises:
            StoreError: the recorded version is newer than this Pulse.
            TimeplusUnreachable, TimeplusConfigError, TimeplusQueryError.
        """
        recorded = self.recorded_version()
        self._refuse_newer(recorded)
        statements = q.ddl(self.names, self.keep) + q.migrations(self.names, recorded)
        for sql in statements:
            self.http.command(sql, doing="creating Pulse's streams")
        if recorded < schema.SCHEMA_VERSION:
            self._record_version()
        return statements

    def migrate(self) -> tuple[int, list[str]]:
        """Forward migrations from the recorded version (``ALTER STREAM ... ADD COLUMN``).

        Returns:
            (version before, statements run).

        Raises:
            FailedPrecondition-like StoreError: nothing is recorded yet (run init).
        """
        recorded = self.recorded_version()
        self._refuse_newer(recorded)
        if recorded == 0:
            raise StoreError(
                f"no Pulse schema in Timeplus at {self.where}: run `pulsectl store init` first"
            )
        statements = q.migrations(self.names, recorded)
        for sql in statements:
            self.http.command(sql, doing="migrating Pulse's streams")
        if recorded < schema.SCHEMA_VERSION:
            self._record_version()
        return recorded, statements

    def _refuse_newer(self, recorded: int) -> None:
        if recorded > schema.SCHEMA_VERSION:
            raise StoreError(
                f"Timeplus at {self.where} has Pulse schema version {recorded}, newer than "
                f"this Pulse ({schema.SCHEMA_VERSION}); upgrade Pulse"
            )

    def _record_version(self) -> None:
        row = {
            "version": schema.SCHEMA_VERSION,
            "pulse_version": __version__,
            "timestamp": q.now_tp(),
        }
        self.http.insert(
            self.names.of(q.META),
            list(row),
            q.rows_to_json([row]),
            doing="recording the schema version",
        )

    def counts(self) -> dict[str, int]:
        """Rows per stream in the historical store."""
        out = {}
        for name in schema.STREAMS:
            s = schema.STREAMS[name]
            rows = self.http.query(q.count_rows(self.names, s, 2**62), doing=f"counting {name}")
            out[name] = int(rows[0]["n"]) if rows else 0
        return out

    def max_seq(self, s: Stream) -> int:
        rows = self.http.query(q.max_seq(self.names, s), doing=f"reading the last seq of {s.name}")
        return int(rows[0].get("seq") or 0) if rows else 0

    def present_ids(self, s: Stream, ids: Sequence[str]) -> set[str]:
        """Which ``ids`` the historical store of ``s`` holds."""
        if not ids:
            return set()
        rows = self.http.query(q.ids_present(self.names, s, ids), doing=f"checking ids in {s.name}")
        return {str(r["id"]) for r in rows}

    def insert(self, s: Stream, encoded: list[dict[str, Any]]) -> None:
        columns = [*s.column_names, q.SEQ]
        self.http.insert(
            self.names.of(s.name), columns, q.rows_to_json(encoded), doing=f"appending to {s.name}"
        )

    def drop_all(self) -> None:
        """Drop every Pulse stream of this database and prefix (tests only)."""
        for name in (q.ROLLUP_VIEW, q.ROLLUP, q.META, *schema.STREAMS):
            kind = "VIEW" if name == q.ROLLUP_VIEW else "STREAM"
            with contextlib.suppress(PulseError):
                self.http.command(f"DROP {kind} IF EXISTS {self.names.of(name)}", doing="dropping")


# -- streaming reads of one stream ------------------------------------------------------


class LogReader:
    """The rows of one stream above a seq, in seq order, read from Timeplus resumably.

    Iterating blocks (run it in a thread) and yields lists of rows: first pages of the
    historical store up to the last insert batch it holds, then each row of an unbounded
    streaming query (``WHERE _tp_sn > N`` on the streaming port) as it arrives. When the
    connection drops or the server ends the query, it reconnects with backoff and resumes
    after the last whole batch it read; rows whose seq it already passed are dropped (a
    batch may be read twice). When the server refuses the resume point (the log no longer
    reaches back to it), it reads the historical store again from its position.

    ``last`` may be raised from another thread (the consumer got further another way).
    ``close()`` from any thread ends the iteration at once.

    Iteration raises:
        TimeplusQueryError: the server failed the query twice in a row (e.g. a mid-stream
            exception that is not about the resume point).
        TimeplusConfigError: Timeplus refused the user or database.
    """

    def __init__(
        self,
        http: Http,
        names: q.Names,
        stream: Stream,
        cs: Sequence[q.Check],
        after_seq: int,
        *,
        latest: bool = False,
        page: int = HISTORY_PAGE,
        retry_min_s: float = RETRY_MIN_S / 4,
        retry_max_s: float = 2.0,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.http = http
        self.names = names
        self.stream = stream
        self.cs = list(cs)
        self.last = after_seq
        self.latest = latest
        self.page = page
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.on_problem = on_problem or (lambda _msg: None)
        self.connects = 0
        """Streaming queries started (1 + reconnections)."""
        self._stop = threading.Event()
        self._current: RowStream | None = None
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            rs = self._current
        if rs is not None:
            rs.close()

    def _decode(self, obj: Mapping[str, Any]) -> Row:
        return Row(self.stream.name, q.seq_of(obj), q.decode_row(self.stream, obj))

    def _history(self) -> Iterator[list[Row]]:
        """Pages of the historical store above ``last``; sets the cursor ``_sn``."""
        pos = self.http.query(q.log_position(self.names, self.stream), doing="a tail's catch-up")
        n = int(pos[0].get("n") or 0) if pos else 0
        upto = int(pos[0].get("sn") or 0) if n else -1
        while not self.closed and n:
            stmt = q.catch_up(self.names, self.stream, self.cs, self.last, upto, self.page)
            objs = self.http.query(stmt, doing=f"a tail's catch-up on {self.stream.name}")
            rows = [r for r in map(self._decode, objs) if r.seq > self.last]
            if rows:
                self.last = rows[-1].seq
                yield rows
            if len(objs) < self.page:
                break
        self._sn: int | None = upto

    def __iter__(self) -> Iterator[list[Row]]:
        delay = self.retry_min_s
        self._sn = None
        first = True
        refused = 0
        while not self.closed:
            done_sn: int | None = None
            cur_sn: int | None = None
            try:
                if self._sn is None and not (first and self.latest):
                    yield from self._history()
                    if self.closed:
                        return
                after_sn: int | None = None if (first and self.latest) else self._sn
                stmt = q.tail_sql(self.names, self.stream, self.cs, after_sn, self.last)
                rs = self.http.stream(stmt, doing=f"the tail of {self.stream.name}")
                with self._lock:
                    self._current = rs
                if self.closed:
                    rs.close()
                    return
                self.connects += 1
                first = False
                for obj in rs:
                    sn = int(obj.get(q.TP_SN) or 0)
                    if cur_sn is None or sn != cur_sn:
                        done_sn = cur_sn if cur_sn is not None else after_sn
                        cur_sn = sn
                    refused = 0
                    delay = self.retry_min_s
                    seq = q.seq_of(obj)
                    if seq <= self.last:
                        continue
                    row = self._decode(obj)
                    self.last = seq
                    yield [row]
                if self.closed:
                    return
                self.on_problem(f"timeplus ended the tail of {self.stream.name}; resuming")
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_max_s)
            except TimeplusUnreachable as e:
                if self.closed:
                    return
                self.on_problem(e.message)
                self._stop.wait(delay)
                delay = min(delay * 2, self.retry_max_s)
            except TimeplusQueryError as e:
                if self.closed:
                    return
                refused += 1
                if refused > 1:
                    raise
                log.info("tail of %s: %s; reading the historical store", self.stream.name, e)
                self._sn = None  # the log may not reach back: history first again
                continue
            finally:
                with self._lock:
                    self._current = None
            # Resume after the last whole batch read (the batch in progress is re-read; its
            # rows already delivered are dropped by seq).
            if cur_sn is not None:
                self._sn = done_sn if done_sn is not None else cur_sn - 1
            elif first and self.latest:
                first = False
                self._sn = None
            first = False


class _Feed:
    """Runs a LogReader in a thread and hands its rows to a tail on the event loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, reader: LogReader, wake: asyncio.Event
    ) -> None:
        self.loop = loop
        self.reader = reader
        self.wake = wake
        self.rows: deque[Row] = deque()
        self.error: BaseException | None = None
        self._room = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f"pulse-tail-{reader.stream.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            for batch in self.reader:
                with self._room:
                    while len(self.rows) >= TAIL_BUFFER_ROWS and not self.reader.closed:
                        self._room.wait(0.1)
                if self.reader.closed:
                    return
                self._call(self._push, batch)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._call(self._fail, exc)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            self.loop.call_soon_threadsafe(fn, *args)

    def _push(self, batch: list[Row]) -> None:
        self.rows.extend(batch)
        self.wake.set()

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        self.wake.set()

    def take(self, limit: int, last: int) -> list[Row]:
        out: list[Row] = []
        while self.rows and len(out) < limit:
            row = self.rows.popleft()
            if row.seq > last:
                out.append(row)
                last = row.seq
        with self._room:
            self._room.notify_all()
        return out

    def close(self) -> None:
        self.reader.close()
        with self._room:
            self._room.notify_all()


# -- the store ------------------------------------------------------------------------------


class TimeplusStore(Store):
    """Pulse's streams in one Timeplus database (``[store.timeplus]``), with a local spool
    in ``data_dir`` for outages."""

    backend = "timeplus"

    def __init__(
        self,
        tp: TimeplusConfig,
        data_dir: Path,
        *,
        window_s: float = WINDOW_S,
        retry_max_s: float = RETRY_MAX_S,
        flush_lag_s: float = FLUSH_LAG_S,
    ) -> None:
        self.cfg = tp
        self.flush_lag_s = flush_lag_s
        self.admin = TimeplusAdmin(tp)
        self.http = self.admin.http
        self.names = self.admin.names
        self.spool = Spool(data_dir)
        self.retry_max_s = retry_max_s
        self._window = _Window(window_s)
        self._last: dict[str, int] = {name: 0 for name in schema.STREAMS}
        self._locks: dict[str, asyncio.Lock] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._io: ThreadPoolExecutor | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._open = False
        self._ready = False
        """Pulse's streams exist at the recorded version (direct inserts may go)."""
        self._version = 0
        self._down = ""
        """What went wrong talking to Timeplus last ('' while it answers)."""
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._feeds: set[_Feed] = set()
        self._warned = -1e9
        self.flushed_rows = 0
        """Rows sent from the spool since open."""

    # -- plumbing ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        return self.admin.where

    def _require_open(self) -> asyncio.AbstractEventLoop:
        if not self._open or self._loop is None:
            raise StoreError(f"the Timeplus store ({self.where}) is not open")
        return self._loop

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on the I/O threads."""
        loop = self._require_open()
        if self._io is None:
            raise StoreError("the Timeplus store is closed")
        try:
            return await loop.run_in_executor(self._io, fn, *args)
        except TimeplusUnreachable as e:
            self._down = e.message
            raise
        except RuntimeError:
            raise StoreError("the Timeplus store is closed") from None

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on the single writer thread (spool order)."""
        loop = self._require_open()
        if self._writer is None:
            raise StoreError("the Timeplus store is closed")
        return await loop.run_in_executor(self._writer, fn, *args)

    def _warn_partial(self, stream: str, e: TimeplusUnreachable) -> None:
        now = time.monotonic()
        if now - self._warned > 60:
            self._warned = now
            log.warning(
                "%s; reads of %s and other streams answer from the rows the daemon holds "
                "until Timeplus is back",
                e.message,
                stream,
            )

    def _unavailable(self, e: TimeplusUnreachable) -> Unavailable:
        return Unavailable(f"{e.message} ({self.spool.rows} rows spooled)")

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        if self._open:
            return
        self._loop = asyncio.get_running_loop()
        self._io = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="pulse-tp-io")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="pulse-tp-writer")
        self._wake = asyncio.Event()
        try:
            await self._loop.run_in_executor(self._writer, self.spool.open)
            batches = await self._loop.run_in_executor(self._writer, self.spool.all)
            self._open = True
            maxes: dict[str, int] = {}
            try:
                maxes = await self._connect()
            except TimeplusUnreachable as e:
                self._down = e.message
                log.warning(
                    "Timeplus is unreachable (%s); serving from the local spool until it answers",
                    e.message,
                )
            except TimeplusConfigError:
                raise
            except TimeplusQueryError as e:
                raise StoreError(f"cannot open Pulse's streams in Timeplus: {e.message}") from None
            self._restore(batches, maxes)
        except BaseException:
            self._open = False
            await self._shutdown()
            raise
        self._flusher = asyncio.create_task(self._flush_loop(), name="pulse-timeplus-flusher")
        if self.spool.rows:
            self._wake.set()

    async def _connect(self) -> dict[str, int]:
        """Health check, streams created or migrated, highest stored seq per stream."""
        loop = self._require_open()
        assert self._io is not None
        return await loop.run_in_executor(self._io, self._connect_sync)

    def _connect_sync(self) -> dict[str, int]:
        self.http.ping()
        recorded = self.admin.recorded_version()
        self.admin._refuse_newer(recorded)
        if recorded < schema.SCHEMA_VERSION:
            self.admin.init()
        self._version = schema.SCHEMA_VERSION
        self._ready = True
        self._down = ""
        return {name: self.admin.max_seq(s) for name, s in schema.STREAMS.items()}

    def _restore(self, batches: list[Batch], maxes: dict[str, int]) -> None:
        """Seq counters and window floors; spooled rows back into the window."""
        spooled: dict[str, list[Row]] = {}
        for b in batches:
            s = schema.STREAMS.get(b.stream)
            if s is None:
                continue
            for obj in b.rows:
                spooled.setdefault(b.stream, []).append(
                    Row(s.name, q.seq_of(obj), q.decode_row(s, obj))
                )
        now = _now_us()
        for name in schema.STREAMS:
            rows = spooled.get(name, [])
            top = max([maxes.get(name, 0), now, *(r.seq for r in rows)])
            self._last[name] = top
            floor = (rows[0].seq - 1) if rows else top
            self._window.set_floor(name, floor)
            if rows:
                self._window.add(name, rows, sent=False)

    async def close(self) -> None:
        if not self._open:
            return
        self._open = False
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        self._wake.set()
        for feed in list(self._feeds):
            feed.close()
        self._window.wake_all()
        await self._shutdown()

    async def _shutdown(self) -> None:
        io, writer = self._io, self._writer
        self._io = self._writer = None
        await asyncio.to_thread(self.http.close)
        for ex in (io, writer):
            if ex is not None:
                await asyncio.to_thread(ex.shutdown, True)
        await asyncio.to_thread(self.spool.close)

    # -- the spool flusher --------------------------------------------------------------

    async def _flush_loop(self) -> None:
        delay = RETRY_MIN_S
        while self._open:
            if not self.spool.batches and self._ready:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                if not self._ready:
                    maxes = await self._connect()
                    for name, top in maxes.items():
                        self._last[name] = max(self._last[name], top)
                    log.info("Timeplus answers again at %s", self.where)
                batch = await self._write(self.spool.first)
                if batch is not None:
                    # On an I/O thread: appends keep spooling while a slow insert runs.
                    await self._call(self._send_batch, batch)
                    top = max((q.seq_of(r) for r in batch.rows), default=0)
                    self._window.mark_sent(batch.stream, top)
                    self.flushed_rows += len(batch.rows)
                    if not self.spool.batches:
                        log.info("Timeplus spool sent; appends go to Timeplus directly again")
                self._down = ""
                delay = RETRY_MIN_S
            except asyncio.CancelledError:
                raise
            except TimeplusUnreachable as e:
                self._down = e.message
                await self._sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
            except PulseError as e:
                what = "the spooled rows" if self._ready else "Pulse's streams"
                self._down = f"timeplus at {self.where} refuses {what}: {e.message}"
                log.error("%s", self._down)
                await self._sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when something is appended or the store closes."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _send_batch(self, batch: Batch) -> None:
        """Insert one spooled batch, then forget it (an I/O thread; the spool locks)."""
        s = schema.STREAMS[batch.stream]
        if batch.uncertain:
            # Its earlier insert may have landed: skip ids Timeplus holds once it shows them.
            time.sleep(self.flush_lag_s)
            present = self.admin.present_ids(s, [str(r["id"]) for r in batch.rows])
            batch = self.spool.replace(batch, [r for r in batch.rows if r["id"] not in present])
        if batch.rows:
            self.admin.insert(s, batch.rows)
        self.spool.remove(batch)

    # -- contract: writes -------------------------------------------------------------

    def _lock(self, stream: str) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock

    async def append(
        self, stream: str, rows: Sequence[Mapping[str, Any]], *, durable: bool = False
    ) -> list[Row]:
        s = schema.stream(stream)
        if isinstance(rows, Mapping):
            raise InvalidArgument("append takes a sequence of rows, not one row")
        if not rows:
            return []
        self._require_open()
        now = now_iso()
        prepared = [q.prepare(s, raw, now, new_id) for raw in rows]
        if len(prepared) + self.spool.rows > self.cfg.spool_max_rows and (
            self.spool.batches or self._down or not self._ready
        ):
            raise Unavailable(
                f"timeplus unreachable and the local spool is full ({self.spool.rows} rows; "
                "[store.timeplus] spool_max_rows): nothing was stored; retry when Timeplus "
                f"answers ({self._down or 'reconnecting'})"
            )
        async with self._lock(stream):
            seq = self._last[stream]
            out = []
            for values in prepared:
                seq = max(seq + 1, _now_us())
                out.append(Row(s.name, seq, values))
            encoded = [q.encode_row(s, r.values, r.seq) for r in out]
            sent = False
            if not self.spool.batches and self._ready and not self._down:
                try:
                    await self._call(self.admin.insert, s, encoded)
                    sent = True
                except TimeplusUnreachable as e:
                    await self._spool(s, encoded, durable, uncertain=e.maybe_sent)
                except TimeplusQueryError as e:
                    raise StoreError(
                        f"appending to {s.name} in Timeplus failed (nothing of the batch was "
                        f"stored): {e.message}"
                    ) from None
            else:
                await self._spool(s, encoded, durable, uncertain=False)
            self._last[stream] = seq
            self._window.add(stream, out, sent=sent)
        return out

    async def _spool(
        self, s: Stream, encoded: list[dict[str, Any]], durable: bool, uncertain: bool
    ) -> None:
        try:
            await self._write(
                functools.partial(self.spool.add, durable=durable, uncertain=uncertain),
                s.name,
                encoded,
            )
        except StoreError as e:
            raise StoreError(
                f"timeplus unreachable ({self._down}) and the local spool failed, so nothing "
                f"of the batch was stored: {e.message}"
            ) from None
        self._wake.set()

    # -- contract: reads ----------------------------------------------------------------

    async def schema_version(self) -> int:
        return self._version

    async def health(self) -> str:
        try:
            if not self._open:
                return f"the Timeplus store ({self.where}) is not open"
            try:
                await asyncio.wait_for(self._call(self.http.ping), 5)
                if not self.spool.batches:
                    self._down = ""
            except TimeoutError:
                self._down = f"timeplus at {self.http.ep.where} did not answer SELECT 1 within 5 s"
            except TimeplusUnreachable:
                pass
            if self._down:
                return f"{self._down} ({self.spool.rows} rows spooled)"
            if self.spool.rows:
                return f"timeplus is back; sending {self.spool.rows} spooled rows"
            if not self._ready:
                return f"timeplus answers but Pulse's streams are not ready at {self.where}"
            return "ok"
        except PulseError as e:
            return e.message
        except Exception as e:
            return f"the Timeplus store ({self.where}) is not healthy: {e}"

    def _stream(self, stream: str) -> Stream:
        s = schema.stream(stream)
        self._require_open()
        return s

    async def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        since: str | None = None,
        until: str | None = None,
        order: str = "desc",
        limit: int = 100,
    ) -> list[Row]:
        s = self._stream(stream)
        cs = q.checks(s, filters)
        if order not in ("asc", "desc"):
            raise InvalidArgument(f"order must be asc or desc, not {order!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= q.MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {q.MAX_LIMIT}, not {limit!r}")
        lo, hi = _norm_time(since, "since"), _norm_time(until, "until")
        floor = self._window.floor(stream)
        recent = [
            r
            for r in self._window.above_floor(stream)
            if (not cs or q.matches(r.values, cs))
            and (lo is None or r.values["timestamp"] >= lo)
            and (hi is None or r.values["timestamp"] < hi)
        ]
        if order == "desc" and len(recent) >= limit:
            return recent[::-1][:limit]  # every row above the floor is here: exact
        stmt = q.select_rows(
            self.names, s, cs, upto_seq=floor, since=lo, until=hi, order=order, limit=limit
        )
        try:
            objs = await self._call(self.http.query, stmt, None, f"a query of {s.name}")
        except TimeplusUnreachable as e:
            # Serve what is at hand (the daemon's recent and spooled rows) so a chat turn
            # keeps its latest context; health and status say Timeplus is away.
            self._warn_partial(s.name, e)
            objs = []
        merged = {q.seq_of(o): Row(s.name, q.seq_of(o), q.decode_row(s, o)) for o in objs}
        for r in recent:
            merged[r.seq] = r
        ordered = sorted(merged.values(), key=lambda r: r.seq, reverse=order == "desc")
        return ordered[:limit]

    async def last_seq(self, stream: str) -> int:
        s = self._stream(stream)
        top = self._window.max_seq(stream)
        if top > self._window.floor(stream):
            return top
        try:
            return max(top, await self._call(self.admin.max_seq, s))
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None

    async def count(self, stream: str) -> int:
        s = self._stream(stream)
        floor = self._window.floor(stream)
        recent = len(self._window.above_floor(stream))
        try:
            objs = await self._call(
                self.http.query, q.count_rows(self.names, s, floor), None, f"counting {s.name}"
            )
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        return (int(objs[0]["n"]) if objs else 0) + recent

    async def cost_summary(
        self, since: str | None = None, until: str | None = None, by: str = ""
    ) -> CostSummary:
        check_grouping(by)
        self._stream("llm_logs")
        lo, hi = _norm_time(since, "since"), _norm_time(until, "until")
        if lo is not None and hi is not None and lo >= hi:
            return CostSummary()
        floor = self._window.floor("llm_logs")
        stmt = q.cost_summary(self.names, by, lo, hi, floor)
        try:
            objs = await self._call(self.http.query, stmt, None, "a cost summary")
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        buckets: dict[str, CostBucket] = {}
        for o in objs:
            n = int(o.get("requests") or 0)
            if not n:
                continue
            key = _cost_key(by, o.get("k"))
            b = buckets.setdefault(key, CostBucket(key=key))
            b.requests += n
            b.errors += int(o.get("errors") or 0)
            b.input_tokens += int(o.get("input_tokens") or 0)
            b.output_tokens += int(o.get("output_tokens") or 0)
            b.cache_read_tokens += int(o.get("cache_read_tokens") or 0)
            b.cache_write_tokens += int(o.get("cache_write_tokens") or 0)
            b.cost_usd += float(o.get("cost_usd") or 0.0)
            b.latency_ms_sum += float(o.get("latency_ms_sum") or 0.0)
        for r in self._window.above_floor("llm_logs"):
            v = r.values
            ts = v["timestamp"]
            if (lo is not None and ts < lo) or (hi is not None and ts >= hi):
                continue
            key = _cost_key(by, _row_cost_key(by, v))
            b = buckets.setdefault(key, CostBucket(key=key))
            b.requests += 1
            b.errors += v["status"] != "success"
            b.input_tokens += v["input_tokens"]
            b.output_tokens += v["output_tokens"]
            b.cache_read_tokens += v["cache_read_tokens"]
            b.cache_write_tokens += v["cache_write_tokens"]
            b.cost_usd += v["estimated_cost_usd"]
            b.latency_ms_sum += v["latency_ms"]
        return CostSummary.of(buckets, by)

    async def sessions(self, limit: int = 50) -> list[SessionInfo]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= q.MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {q.MAX_LIMIT}, not {limit!r}")
        self._stream("messages")
        floor = self._window.floor("messages")
        recent = [r for r in self._window.above_floor("messages") if r.values["session_id"]]
        agg: dict[str, list[Any]] = {}  # sid -> [count, first, last, last_seq]
        titles: dict[str, str] = {}

        def fold(sid: str, n: int, first: str, last: str, last_seq: int) -> None:
            a = agg.get(sid)
            if a is None:
                agg[sid] = [n, first, last, last_seq]
                return
            a[0] += n
            a[1] = min(a[1], first)
            a[2] = max(a[2], last)
            a[3] = max(a[3], last_seq)

        try:
            top = await self._call(
                self.http.query, q.sessions_top(self.names, floor, limit), None, "listing sessions"
            )
            wanted = {r.values["session_id"] for r in recent} - {str(o["session_id"]) for o in top}
            extra: list[dict[str, Any]] = []
            if wanted:
                extra = await self._call(
                    self.http.query,
                    q.sessions_by_id(self.names, sorted(wanted), floor),
                    None,
                    "listing sessions",
                )
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        for o in [*top, *extra]:
            fold(
                str(o["session_id"]),
                int(o["n"]),
                q.iso_datetime(str(o["first_ts"])),
                q.iso_datetime(str(o["last_ts"])),
                int(o["last_seq"]),
            )
        for r in recent:
            v = r.values
            fold(v["session_id"], 1, v["timestamp"], v["timestamp"], r.seq)
            if v["message_type"] == "user_input" and v["session_id"] not in titles:
                titles[v["session_id"]] = _text(v["content"])
        ordered = sorted(agg.items(), key=lambda kv: (kv[1][2], kv[1][3]), reverse=True)[:limit]
        need = [sid for sid, _ in ordered]
        if need:
            try:
                objs = await self._call(
                    self.http.query,
                    q.session_titles(self.names, need, floor),
                    None,
                    "reading session titles",
                )
            except TimeplusUnreachable as e:
                raise self._unavailable(e) from None
            for o in objs:
                content = o.get("content")
                with contextlib.suppress(ValueError):
                    titles[str(o["session_id"])] = _text(
                        json.loads(content) if isinstance(content, str) else content
                    )
        return [SessionInfo(sid, a[0], a[1], a[2], titles.get(sid, "")) for sid, a in ordered]

    async def unanswered(self, since: str | None = None) -> list[Row]:
        s = self._stream("messages")
        lo = _norm_time(since, "since")
        floor = self._window.floor("messages")
        recent = self._window.above_floor("messages")
        answered = {
            r.values["reply_to"]
            for r in recent
            if r.values["message_type"] in q.ANSWER_TYPES and r.values["reply_to"]
        }
        objs: list[dict[str, Any]] = []
        try:
            objs = await self._call(
                self.http.query, q.unanswered(self.names, lo, floor), None, "finding unanswered"
            )
        except TimeplusUnreachable as e:
            # Recovery at start-up must not stop the daemon: answer what is at hand.
            log.warning(
                "cannot read unanswered inputs from Timeplus (%s); only the local spool is checked",
                e.message,
            )
        out = [Row(s.name, q.seq_of(o), q.decode_row(s, o)) for o in objs]
        out += [
            r
            for r in recent
            if r.values["message_type"] in q.INPUT_TYPES
            and (lo is None or r.values["timestamp"] >= lo)
        ]
        return sorted((r for r in out if r.values["id"] not in answered), key=lambda r: r.seq)

    async def latest_by(self, stream: str, key: str) -> list[Row]:
        s = self._stream(stream)
        s.column(key)
        floor = self._window.floor(stream)
        try:
            objs = await self._call(
                self.http.query,
                q.latest_by(self.names, s, key, floor),
                None,
                f"reading the latest {s.name} per {key}",
            )
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        latest: dict[Any, Row] = {}
        for o in objs:
            obj = q.unprefix(o)
            row = Row(s.name, q.seq_of(obj), q.decode_row(s, obj))
            latest[row.values[key]] = row
        for r in self._window.above_floor(stream):
            latest[r.values[key]] = r
        return [latest[k] for k in sorted(latest, key=_sort_key)]

    # -- tails ----------------------------------------------------------------------------

    async def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        start: TailStart = _FROM_LATEST,
        max_batch: int = 500,
    ) -> AsyncGenerator[list[Row], None]:
        s = schema.stream(stream)
        cs = q.checks(s, filters)
        if max_batch < 1:
            raise InvalidArgument(f"max_batch must be at least 1, not {max_batch}")
        if start.kind not in ("earliest", "latest", "after"):
            raise InvalidArgument(f"unknown tail start {start.kind!r} (earliest, latest, after)")
        loop = self._require_open()
        if start.kind == "latest":
            last = self._last[stream]
        elif start.kind == "after":
            last = max(0, start.seq)
        else:
            last = 0
        wake = self._window.subscribe(stream)
        reader = LogReader(self.http, self.names, s, cs, last, latest=start.kind == "latest")
        feed = _Feed(loop, reader, wake)
        self._feeds.add(feed)
        feed.start()
        try:
            while self._open:
                wake.clear()
                if self._window.covers(stream, last):
                    rows = self._window.after(stream, last, cs, max_batch)
                    if rows:
                        last = rows[-1].seq
                        reader.last = max(reader.last, last)
                        yield rows
                        continue
                rows = feed.take(max_batch, last)
                if rows:
                    last = rows[-1].seq
                    yield rows
                    continue
                if feed.error is not None:
                    err = feed.error
                    if isinstance(err, PulseError):
                        raise err
                    raise StoreError(f"the tail of {stream} failed: {err}")
                await wake.wait()
        finally:
            self._window.unsubscribe(stream, wake)
            self._feeds.discard(feed)
            feed.close()

    # -- administration (the Store service) ----------------------------------------------

    async def init(self) -> list[str]:
        """Create or complete Pulse's streams now (what open() does when it can)."""
        statements = await self._call(self.admin.init)
        self._ready = True
        self._version = schema.SCHEMA_VERSION
        self._wake.set()
        return statements

    async def migrate(self) -> tuple[int, list[str]]:
        """Forward migrations now; see ``TimeplusAdmin.migrate``."""
        result = await self._call(self.admin.migrate)
        self._version = schema.SCHEMA_VERSION
        return result

    def spooled(self) -> int:
        """Rows waiting in the local spool."""
        return self.spool.rows

    async def sql(
        self, text: str, max_rows: int = 0
    ) -> AsyncGenerator[tuple[list[str], list[str], list[list[Any]]], None]:
        """Run read-only SQL on the streaming port; yield (columns, types, rows) batches
        as rows arrive (rows as lists in column order; the first batch may be empty and
        carries the columns). Closing the generator cancels the query on the server.

        Raises:
            InvalidArgument: not one read-only statement (see ``timeplus_sql.read_only``),
                or Timeplus failed it (the message is Timeplus' own).
            Unavailable: Timeplus is unreachable.
        """
        sql = q.read_only(text)
        if isinstance(max_rows, bool) or max_rows < 0:
            raise InvalidArgument("max_rows must be 0 (no limit) or more")
        loop = self._require_open()
        try:
            rs = await self._call(
                self.http.stream, q.Statement(sql), {"readonly": 2}, "your SQL", COMPACT
            )
            async with contextlib.aclosing(_pump(loop, rs, max_rows)) as batches:
                async for batch in batches:
                    yield rs.columns, rs.types, batch
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        except TimeplusQueryError as e:
            # The statement's own fault as far as the caller can tell (syntax, names,
            # limits): not an outage.
            raise InvalidArgument(e.message) from None


_END = object()


async def _pump(
    loop: asyncio.AbstractEventLoop, rs: RowStream, max_rows: int, batch: int = 500
) -> AsyncGenerator[list[Any], None]:
    """Read ``rs`` in a thread; yield its rows in batches of what has arrived. The first
    batch is yielded as soon as the column names are known, even without rows."""
    items: asyncio.Queue[Any] = asyncio.Queue(maxsize=batch * 4)

    def put(item: Any) -> bool:
        fut = asyncio.run_coroutine_threadsafe(items.put(item), loop)
        while not rs.closed:
            try:
                fut.result(0.2)
                return True
            except TimeoutError:
                continue
        fut.cancel()
        return False

    def run() -> None:
        n = 0
        try:
            for row in rs:
                if not put(row):
                    return
                n += 1
                if max_rows and n >= max_rows:
                    break
            put(_END)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            rs.close(kill=bool(max_rows) and n >= max_rows)

    thread = threading.Thread(target=run, name="pulse-tp-sql", daemon=True)
    thread.start()
    sent_header = False
    try:
        while True:
            if not sent_header:
                try:
                    first = await asyncio.wait_for(items.get(), 0.05)
                except TimeoutError:
                    if rs.columns:
                        sent_header = True
                        yield []
                    continue
            else:
                first = await items.get()
            out: list[Any] = []
            item = first
            while True:
                if item is _END:
                    if out or not sent_header:
                        yield out
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, PulseError):
                        raise item
                    raise StoreError(f"reading the SQL results failed: {item}")
                out.append(item)
                if len(out) >= batch:
                    break
                try:
                    item = items.get_nowait()
                except asyncio.QueueEmpty:
                    break
            sent_header = True
            yield out
    finally:
        rs.close()


async def copy_rows(
    source: Store,
    admin: TimeplusAdmin,
    streams: Sequence[str],
    batch_size: int,
    run: Callable[..., Any],
) -> AsyncGenerator[dict[str, Any], None]:
    """Copy every row of ``streams`` from ``source`` into Timeplus, keeping ids,
    timestamps and seqs; rows whose id Timeplus holds already are skipped (repeatable).
    Rows appended to the source after the copy of a stream began are left for the next
    copy. Yields progress dicts (stream, total, done, copied, skipped, finished).

    ``run(fn, *args)`` runs a blocking call off the event loop and returns its result.

    Raises:
        InvalidArgument: an unknown stream or a bad batch size.
        TimeplusUnreachable, TimeplusQueryError, TimeplusConfigError: Timeplus failed.
    """
    if not 1 <= batch_size <= q.MAX_LIMIT:
        raise InvalidArgument(f"batch_size must be between 1 and {q.MAX_LIMIT}")
    names = list(streams) or list(schema.STREAMS)
    for name in names:
        schema.stream(name)
    if await run(admin.recorded_version) == 0:
        await run(admin.init)
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
                    present = await run(admin.present_ids, s, [str(r["id"]) for r in batch])
                    fresh = [r for r in batch if r["id"] not in present]
                    if fresh:
                        encoded = [q.encode_row(s, r.values, r.seq) for r in fresh]
                        await run(admin.insert, s, encoded)
                    p["done"] += len(batch)
                    p["copied"] += len(fresh)
                    p["skipped"] += len(batch) - len(fresh)
                    if len(batch) < len(got) or (batch and batch[-1].seq >= top):
                        break
                    yield {**p, "finished": False}
        yield {**p, "finished": True}


def _norm_time(text: str | None, what: str) -> str | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"{what} must be ISO 8601 text, not {type(text).__name__}")
    return to_iso(parse_iso(text))


def _cost_key(by: str, raw: Any) -> str:
    if not by:
        return ""
    if by in ("hour", "day"):
        text = str(raw)
        return q.iso_datetime(text) if " " in text else text
    return str(raw)


def _row_cost_key(by: str, v: Mapping[str, Any]) -> str:
    ts = v["timestamp"]
    if by == "hour":
        return ts[:13] + ":00:00.000Z"
    if by == "day":
        return ts[:10] + "T00:00:00.000Z"
    if by == "session":
        return str(v["session_id"])
    return str(v.get(by, ""))


def _text(content: Any) -> str:
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""


def _sort_key(value: Any) -> Any:
    return (0, value.encode()) if isinstance(value, str) else (1, value)


# -- tests ---------------------------------------------------------------------------------


class _TestStore(TimeplusStore):
    """A store on its own stream prefix that drops its streams when closed."""

    async def close(self) -> None:
        await asyncio.to_thread(self.admin.drop_all)
        await super().close()


_test_ids = itertools.count()


def store_for_tests(url: str, name: str = "", **kw: Any) -> TimeplusStore:
    """A store on a fresh, empty set of streams of the server at ``url`` (the batch
    port, e.g. http://localhost:8123; the streaming port is taken as 3218 unless
    ``PULSE_TEST_TIMEPLUS_STREAM_PORT`` says otherwise). The streams get a unique prefix
    and are dropped on close; ``kw`` goes to ``TimeplusStore`` (e.g. ``window_s``).

    Raises:
        InvalidArgument: ``url`` is not an http(s) URL with a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            f"PULSE_TEST_TIMEPLUS_URL must be like http://localhost:8123, not {url!r}"
        )
    tag = "".join(c if c.isalnum() else "_" for c in name)[-24:]
    prefix = f"t{uuid.uuid4().hex[:8]}_{tag}_{next(_test_ids)}_"
    tp = TimeplusConfig(
        host=parts.hostname,
        batch_port=parts.port or (8443 if parts.scheme == "https" else 8123),
        stream_port=int(os.environ.get("PULSE_TEST_TIMEPLUS_STREAM_PORT", "3218")),
        user=parts.username or "default",
        password=parts.password or "",
        database=(parts.path.strip("/") or "default"),
        stream_prefix=prefix,
        secure=parts.scheme == "https",
    )
    return _TestStore(tp, Path(tempfile.mkdtemp(prefix="pulse-tp-spool-")), **kw)
