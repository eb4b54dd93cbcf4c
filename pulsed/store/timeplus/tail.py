"""Tails of the Timeplus backend that read from Timeplus itself.

``LogReader`` reads one stream above a seq, resumably: pages of the historical store
(``table()``) up to the last insert batch it holds, then an unbounded streaming query
from that ``_tp_sn`` on the streaming port, reconnecting with backoff. ``Feed`` runs a
LogReader on a thread of its own and hands its rows to a tail on the event loop (the
store's tail merges them with its window of recent appends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulsed.store.base import Check, Row
from pulsed.store.schema import Stream
from pulsed.store.timeplus import sql
from pulsed.store.timeplus.codec import decode_row, seq_of
from pulsed.store.timeplus.http import Http, TimeplusQueryError, TimeplusUnreachable
from pulsed.store.timeplus.reading import StreamingRead
from pulsed.store.timeplus.sqlparts import TP_SN, Names

log = logging.getLogger("pulsed.store.timeplus")

RETRY_MIN_S = 0.2
"""First wait before retrying Timeplus (doubling up to a maximum)."""
RETRY_MAX_S = 15.0
"""Longest wait between retries of the store's spool flusher."""
TAIL_BUFFER_ROWS = 10_000
"""Rows a tail's streaming read may buffer ahead of its consumer."""
HISTORY_PAGE = 2000
"""Rows per page of a tail's catch-up read of the historical store."""


class LogReader(StreamingRead):
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
        names: Names,
        stream: Stream,
        cs: Sequence[Check],
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
        self.on_problem = on_problem or (lambda _msg: None)
        super().__init__(retry_min_s, retry_max_s)

    def _decode(self, obj: Mapping[str, Any]) -> Row:
        return Row(self.stream.name, seq_of(obj), decode_row(self.stream, obj))

    def _history(self) -> Iterator[list[Row]]:
        """Pages of the historical store above ``last``; sets the cursor ``_sn``."""
        pos = self.http.query(sql.log_position(self.names, self.stream), doing="a tail's catch-up")
        n = int(pos[0].get("n") or 0) if pos else 0
        upto = int(pos[0].get("sn") or 0) if n else -1
        while not self.closed and n:
            stmt = sql.catch_up(self.names, self.stream, self.cs, self.last, upto, self.page)
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
                stmt = sql.tail_sql(self.names, self.stream, self.cs, after_sn, self.last)
                rs = self._start(self.http, stmt, None, f"the tail of {self.stream.name}")
                if rs is None:
                    return
                first = False
                for obj in rs:
                    sn = int(obj.get(TP_SN) or 0)
                    if cur_sn is None or sn != cur_sn:
                        done_sn = cur_sn if cur_sn is not None else after_sn
                        cur_sn = sn
                    refused = 0
                    delay = self.retry_min_s
                    seq = seq_of(obj)
                    if seq <= self.last:
                        continue
                    row = self._decode(obj)
                    self.last = seq
                    yield [row]
                if self.closed:
                    return
                self.on_problem(f"timeplus ended the tail of {self.stream.name}; resuming")
                delay = self._wait(delay)
            except TimeplusUnreachable as e:
                if self.closed:
                    return
                self.on_problem(e.message)
                delay = self._wait(delay)
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
                self._release()
            # Resume after the last whole batch read (the batch in progress is re-read; its
            # rows already delivered are dropped by seq).
            if cur_sn is not None:
                self._sn = done_sn if done_sn is not None else cur_sn - 1
            elif first and self.latest:
                first = False
                self._sn = None
            first = False


class Feed:
    """Runs a LogReader in a thread and hands its rows to a tail on the event loop.

    The thread waits while ``TAIL_BUFFER_ROWS`` rows are buffered and not taken. Rows go
    to ``rows`` and an error of the reader to ``error``, on the loop thread; ``wake`` is
    set after either.
    """

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
        """Start reading."""
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
        """Up to ``limit`` buffered rows with a seq above ``last``, in order (loop thread)."""
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
        """Stop the reader and its thread."""
        self.reader.close()
        with self._room:
            self._room.notify_all()
