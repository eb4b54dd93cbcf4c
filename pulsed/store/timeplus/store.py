"""``TimeplusStore``: Pulse's streams in Timeplus Proton or Enterprise (``base.Store``).

How it keeps the contract over a remote, eventually-visible store:

- **Sequence numbers.** Timeplus numbers insert batches (``_tp_sn``), not rows, and an
  insert does not say which number it got. So the daemon gives each row its own ``seq``
  (a column of every stream): per stream, ``max(previous + 1, now in microseconds)``,
  starting above the highest seq stored. Seqs are unique and increase in append order, and
  stay ahead across restarts as long as the clock does not jump back.
- **One writer.** The daemon is the only writer of its streams (as with the local store):
  appends to a stream are serialised, so log order is seq order.
- **Read after write.** Appended rows stay in the window (``window.py``) until
  ``table()`` surely shows them; reads merge it in (``merge.py``).
- **Tails** deliver rows above their position from the window as soon as they are
  appended (when the window holds everything above that position), and otherwise from
  Timeplus (``tail.py``).
- **Outages.** Health is a real ``SELECT 1``. When Timeplus cannot take an append, the rows
  go to a local durable spool (``spool.py``), are acknowledged, reach tails through the
  window, and are sent in order when Timeplus answers again (a batch whose earlier insert
  may have landed is first checked by id, so replays do not duplicate). Queries that need
  Timeplus answer UNAVAILABLE, saying so, unless the window alone answers them exactly.
- **Current state** of version logs (tasks, cursors) is ``arg_max(col, seq)`` per key:
  mutable streams are Enterprise-only.
- **Costs** are summed from ``table(llm_logs)`` (exact: late rows count); see ``ddl.py``
  for the hourly materialized view kept for dashboards.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pulsed.config import TimeplusConfig
from pulsed.errors import FailedPrecondition, InvalidArgument, PulseError, StoreError, Unavailable
from pulsed.store import keyword, schema, vectors
from pulsed.store.base import (
    Check,
    CostSummary,
    Row,
    SessionInfo,
    Store,
    TailStart,
    new_id,
    now_iso,
)
from pulsed.store.schema import Stream
from pulsed.store.timeplus import memory_sql, merge, sql
from pulsed.store.timeplus.admin import TimeplusAdmin
from pulsed.store.timeplus.codec import encode_row, prepare, seq_of
from pulsed.store.timeplus.filters import refine
from pulsed.store.timeplus.http import (
    COMPACT,
    TimeplusConfigError,
    TimeplusQueryError,
    TimeplusUnreachable,
)
from pulsed.store.timeplus.spool import Batch, Spool
from pulsed.store.timeplus.sqlparts import Statement
from pulsed.store.timeplus.sqlpump import pump, read_only
from pulsed.store.timeplus.tail import RETRY_MAX_S, RETRY_MIN_S, Feed, LogReader
from pulsed.store.timeplus.window import WINDOW_S, Window

log = logging.getLogger("pulsed.store.timeplus")
T = TypeVar("T")

FLUSH_LAG_S = 3.0
"""How long before a landed insert is visible to ``table()`` (Timeplus flushes about
every 2 s); a replay of a batch whose insert may have landed waits this long first."""
IO_THREADS = 6
"""Threads for blocking Timeplus calls (reads, inserts, the spool flusher's sends)."""


def _now_us() -> int:
    return time.time_ns() // 1000


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
        self._window = Window(window_s)
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
        self._feeds: set[Feed] = set()
        self._warned = -1e9
        self.flushed_rows = 0
        """Rows sent from the spool since open."""

    # -- plumbing ---------------------------------------------------------------------

    @property
    def where(self) -> str:
        """Where the streams are, for messages: ``http://host:8123, database name``."""
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
        """Open the spool, then connect: create or migrate Pulse's streams and read the
        highest seq per stream. An unreachable Timeplus does not fail the open: the
        store serves from the spool and connects later. Idempotent.

        Raises:
            TimeplusConfigError: Timeplus refused the user, password or database.
            StoreError: the spool cannot be opened, Timeplus failed creating the streams,
                or its schema is newer than this Pulse.
        """
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
        self.admin.refuse_newer(recorded)
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
                spooled.setdefault(b.stream, []).append(merge.row_of(s, obj))
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
        """Stop the spool flusher, end running tails, close clients and the spool (rows
        still spooled stay for the next open). Idempotent."""
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
                    top = max((seq_of(r) for r in batch.rows), default=0)
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

    async def _append(
        self, s: Stream, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        stream = s.name
        self._require_open()
        now = now_iso()
        prepared = [prepare(s, raw, now, new_id) for raw in rows]
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
            encoded = [encode_row(s, r.values, r.seq) for r in out]
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
        """The schema version of Pulse's streams (0 until they are known to exist)."""
        return self._version

    async def _health(self) -> str:
        """``"ok"``; or that Timeplus is unreachable (with the rows spooled), that the
        spool is being sent, or that the streams are not ready. Runs ``SELECT 1`` (5 s
        at most). Never raises."""
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

    async def _query(
        self,
        s: Stream,
        checks: list[Check],
        since: str | None,
        until: str | None,
        order: str,
        limit: int,
    ) -> list[Row]:
        self._require_open()
        cs = refine(s, checks)
        floor = self._window.floor(s.name)
        recent = merge.in_range(self._window.above_floor(s.name), cs, since, until)
        if order == "desc" and len(recent) >= limit:
            return recent[::-1][:limit]  # every row above the floor is here: exact
        stmt = sql.select_rows(
            self.names, s, cs, upto_seq=floor, since=since, until=until, order=order, limit=limit
        )
        try:
            objs = await self._call(self.http.query, stmt, None, f"a query of {s.name}")
        except TimeplusUnreachable as e:
            # Serve what is at hand (the daemon's recent and spooled rows) so a chat turn
            # keeps its latest context; health and status say Timeplus is away.
            self._warn_partial(s.name, e)
            objs = []
        return merge.query_rows(s, objs, recent, order, limit)

    async def _last_seq(self, s: Stream) -> int:
        self._require_open()
        top = self._window.max_seq(s.name)
        if top > self._window.floor(s.name):
            return top
        try:
            return max(top, await self._call(self.admin.max_seq, s))
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None

    async def _count(self, s: Stream) -> int:
        self._require_open()
        floor = self._window.floor(s.name)
        recent = len(self._window.above_floor(s.name))
        stmt = sql.count_rows(self.names, s, floor)
        try:
            objs = await self._call(self.http.query, stmt, None, f"counting {s.name}")
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        return (int(objs[0]["n"]) if objs else 0) + recent

    async def _cost_summary(self, since: str | None, until: str | None, by: str) -> CostSummary:
        floor = self._window.floor("llm_logs")
        stmt = sql.cost_summary(self.names, by, since, until, floor)
        try:
            objs = await self._call(self.http.query, stmt, None, "a cost summary")
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        recent = self._window.above_floor("llm_logs")
        return CostSummary.of(merge.cost_buckets(by, objs, recent, since, until), by)

    async def _sessions(self, limit: int) -> list[SessionInfo]:
        self._require_open()
        floor = self._window.floor("messages")
        folded = merge.Sessions(
            [r for r in self._window.above_floor("messages") if r.values["session_id"]]
        )
        try:
            top = await self._call(
                self.http.query,
                sql.sessions_top(self.names, floor, limit),
                None,
                "listing sessions",
            )
            wanted = folded.wanted(top)
            extra: list[dict[str, Any]] = []
            if wanted:
                extra = await self._call(
                    self.http.query,
                    sql.sessions_by_id(self.names, wanted, floor),
                    None,
                    "listing sessions",
                )
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        folded.add_history([*top, *extra])
        need = folded.top(limit)
        if need:
            try:
                objs = await self._call(
                    self.http.query,
                    sql.session_titles(self.names, need, floor),
                    None,
                    "reading session titles",
                )
            except TimeplusUnreachable as e:
                raise self._unavailable(e) from None
            folded.add_titles(objs)
        return folded.infos(need)

    async def _purge_session(self, session_id: str, keep_events: Sequence[str]) -> dict[str, int]:
        raise FailedPrecondition(
            "the Timeplus backend cannot purge a session: its streams are append-only; "
            "rows leave them when [store.timeplus] ttl_days expires them (remove the "
            "session without --purge to hide it)"
        )

    async def _unanswered(self, since: str | None) -> list[Row]:
        self._require_open()
        floor = self._window.floor("messages")
        recent = self._window.above_floor("messages")
        objs: list[dict[str, Any]] = []
        try:
            objs = await self._call(
                self.http.query,
                sql.unanswered(self.names, since, floor),
                None,
                "finding unanswered",
            )
        except TimeplusUnreachable as e:
            # Recovery at start-up must not stop the daemon: answer what is at hand.
            log.warning(
                "cannot read unanswered inputs from Timeplus (%s); only the local spool is checked",
                e.message,
            )
        return merge.unanswered(schema.MESSAGES, objs, recent, since)

    async def _latest_by(self, s: Stream, key: str) -> list[Row]:
        self._require_open()
        floor = self._window.floor(s.name)
        try:
            objs = await self._call(
                self.http.query,
                sql.latest_by(self.names, s, key, floor),
                None,
                f"reading the latest {s.name} per {key}",
            )
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        return merge.latest(s, key, objs, self._window.above_floor(s.name))

    async def _memory_candidates(self, stmt: Statement) -> list[Row]:
        """Current memories from a ``memory_sql`` statement, merged with the newer
        versions the daemon holds (those may add, change or forget a memory)."""
        self._require_open()
        recent = self._window.above_floor("memory")
        try:
            objs = await self._call(self.http.query, stmt, None, "a memory search")
        except TimeplusUnreachable as e:
            self._warn_partial("memory", e)
            objs = []
        objs = [{k: v for k, v in o.items() if k != "v_distance"} for o in objs]
        return merge.latest(schema.MEMORY, "id", objs, recent)

    async def _memory_search(self, terms: list[str], limit: int) -> list[tuple[Row, float]]:
        floor = self._window.floor("memory")
        words = sorted({t.lower() for t in terms if t.strip()})
        rows = await self._memory_candidates(memory_sql.token_match(self.names, words, floor))
        return keyword.rank(rows, terms, limit)

    async def _memory_nearest(self, vector: list[float], limit: int) -> list[tuple[Row, float]]:
        floor = self._window.floor("memory")
        rows = await self._memory_candidates(memory_sql.nearest(self.names, vector, limit, floor))
        return vectors.nearest(rows, vector, limit)

    # -- tails ----------------------------------------------------------------------------

    async def _tail(
        self, s: Stream, checks: list[Check], start: TailStart, max_batch: int
    ) -> AsyncGenerator[list[Row], None]:
        stream = s.name
        cs = refine(s, checks)
        loop = self._require_open()
        if start.kind == "latest":
            last = self._last[stream]
        elif start.kind == "after":
            last = start.seq
        else:
            last = 0
        wake = self._window.subscribe(stream)
        reader = LogReader(self.http, self.names, s, cs, last, latest=start.kind == "latest")
        feed = Feed(loop, reader, wake)
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
        """Create or complete Pulse's streams now (what open() does when it can); the
        statements run. Raises what ``TimeplusAdmin.init`` raises."""
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
            InvalidArgument: not one read-only statement (see ``sqlpump.read_only``), a
                negative ``max_rows``, or Timeplus failed it (the message is Timeplus').
            Unavailable: Timeplus is unreachable.
        """
        checked = read_only(text)
        if isinstance(max_rows, bool) or max_rows < 0:
            raise InvalidArgument("max_rows must be 0 (no limit) or more")
        loop = self._require_open()
        try:
            rs = await self._call(
                self.http.stream, Statement(checked), {"readonly": 2}, "your SQL", COMPACT
            )
            async with contextlib.aclosing(pump(loop, rs, max_rows)) as batches:
                async for batch in batches:
                    yield rs.columns, rs.types, batch
        except TimeplusUnreachable as e:
            raise self._unavailable(e) from None
        except TimeplusQueryError as e:
            # The statement's own fault as far as the caller can tell (syntax, names,
            # limits): not an outage.
            raise InvalidArgument(e.message) from None
