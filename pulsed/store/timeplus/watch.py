"""Streaming-SQL watches of the Timeplus backend: the queries of SQL triggers.

``plan_watch`` checks a trigger's SQL (one read-only SELECT, ``sqlpump.read_only``, that
reads a stream: not ``table(...)``, which ends) and decides whether it can resume:

**The resume rule.** A query resumes where it left off only when it is a plain
``SELECT <list> FROM <stream> [WHERE <condition>]``: one stream after FROM (``db.s``
allowed), and no JOIN, GROUP BY, ORDER BY, LIMIT, DISTINCT, UNION, WITH, SETTINGS, EMIT,
alias of the stream, subquery, window (``tumble``, ``hop``, ``session``...), aggregate or
stateful function (``count``, ``sum``, ``lag``, ``latest``...) or non-deterministic one
(``now``, ``rand``, ``uuid``...). It runs as ``SELECT <list>, _tp_sn FROM <stream>
WHERE (<condition>) AND _tp_sn > {after}``, which makes Timeplus seek its log to the
insert batch after ``after`` (reference/timeplus-notes.md). ``_tp_sn`` numbers insert
batches, not rows, so a position is a batch and the digests of the rows of that batch
already handled: a resumed read re-reads that batch and drops those rows (identical rows
count as often as they were handled). Any other query runs as written and starts from
the latest rows at each start and reconnection: rows arriving while the daemon is down
or disconnected are not seen (``WatchPlan.why`` says why; the trigger records an event).
Resuming assumes the stream has one shard (``_tp_sn`` is per shard).

``SqlReader`` runs a plan's query (blocking; in a thread), reconnecting with backoff;
``SqlWatcher`` checks SQL with the server (``EXPLAIN``) and hands a reader's rows to the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulsed.errors import InvalidArgument, PulseError, StoreError, Unavailable
from pulsed.store.timeplus.http import Http, TimeplusQueryError, TimeplusUnreachable
from pulsed.store.timeplus.reading import StreamingRead
from pulsed.store.timeplus.sqlparts import TP_SN, Statement
from pulsed.store.timeplus.sqlpump import read_only, tokens

MAX_SQL_CHARS = 20_000
"""Longest SQL a trigger may have."""
ROW_BITS = 20
"""A position packs (insert batch, rows of it handled) into one int,
``(sn + 1) << ROW_BITS | n`` (0: no position)."""
MAX_SN = 2 ** (63 - ROW_BITS) - 2
"""Highest ``_tp_sn`` a position can hold."""
AFTER_PARAM = "pulse_after_sn"
RETRY_MIN_S = 0.2
RETRY_MAX_S = 15.0
BUFFER_ROWS = 10_000
"""Rows a watch reads ahead of its consumer."""
SETTINGS = {"readonly": 2}

_STOP_WORDS = {
    "JOIN": "a JOIN",
    "UNION": "a UNION",
    "INTERSECT": "an INTERSECT",
    "EXCEPT": "an EXCEPT",
    "GROUP": "GROUP BY",
    "ORDER": "ORDER BY",
    "LIMIT": "LIMIT",
    "DISTINCT": "DISTINCT",
    "SETTINGS": "SETTINGS",
    "EMIT": "EMIT",
    "HAVING": "HAVING",
    "WINDOW": "a window",
    "OVER": "a window function",
    "PARTITION": "PARTITION BY",
    "ARRAY": "ARRAY JOIN",
    "SHUFFLE": "SHUFFLE BY",
}
_STATEFUL = (
    "count", "sum", "avg", "min", "max", "any", "arg_", "uniq", "unique", "group_",
    "quantile", "median", "stddev", "var_", "covar", "corr", "top_k", "lag", "latest",
    "earliest", "first_value", "last_value", "moving_", "running_", "neighbor", "histogram",
    "emit_", "retention", "window_funnel", "sequence_", "tumble", "hop", "session",
    "changelog", "dedup", "table", "now", "today", "rand", "uuid", "generate_uuid",
    "random",
)  # fmt: skip
"""Name starts of functions that keep state across rows, read windows or tables, or are
not deterministic: a query calling one does not resume."""


def mark(sn: int, n: int) -> int:
    """A position as one int (above 0): insert batch ``sn`` with ``n`` of its rows handled.

    Raises:
        StoreError: ``sn`` above ``MAX_SN`` or ``n`` outside ``[0, 2**ROW_BITS)``.
    """
    if not 0 <= sn <= MAX_SN or not 0 <= n < 2**ROW_BITS:
        raise StoreError(f"a SQL trigger's position cannot hold batch {sn}, row {n}")
    return (sn + 1) << ROW_BITS | n


def unmark(position: int) -> tuple[int, int] | None:
    """The (insert batch, rows of it handled) a ``mark`` packs (None for 0 and below)."""
    if position <= 0:
        return None
    return (position >> ROW_BITS) - 1, position & (2**ROW_BITS - 1)


@dataclass(frozen=True)
class WatchPlan:
    """A checked trigger query (see the module docstring).

    Attributes:
        sql: the query as given, without comments and trailing semicolons.
        resumable: whether it resumes by ``_tp_sn``.
        why: why it does not ('' when it does).
        select, source, cond: a resumable query's select list, stream and condition
            (comments removed; cond '' without WHERE).
        shows_sn: the select list names ``_tp_sn`` itself (it stays in the rows).
    """

    sql: str
    resumable: bool
    why: str = ""
    select: str = ""
    source: str = ""
    cond: str = ""
    shows_sn: bool = False

    def statement(self, after_sn: int | None) -> Statement:
        """The query to run: as written, or (resumable) with ``_tp_sn`` in each row and,
        given ``after_sn``, only batches after it (a bound parameter)."""
        if not self.resumable:
            return Statement(self.sql)
        where = [f"({self.cond})"] if self.cond else []
        params: dict[str, Any] = {}
        if after_sn is not None:
            where.append(f"{TP_SN} > {{{AFTER_PARAM}:int64}}")
            params[AFTER_PARAM] = after_sn
        # select/source/cond are the person's own query (one read-only SELECT, checked by
        # plan_watch and run with readonly=2), re-assembled; the position is bound above.
        text = f"SELECT {self.select}, {TP_SN} FROM {self.source}"
        if where:
            text += " WHERE " + " AND ".join(where)
        return Statement(text, params)


def plan_watch(sql: str) -> WatchPlan:
    """Check a SQL trigger's query and plan how it runs (see the module docstring).

    Raises:
        InvalidArgument: longer than ``MAX_SQL_CHARS``; not one read-only statement
            (``read_only``); not a SELECT; no FROM; FROM ``table(...)`` (bounded).
    """
    if len(sql) > MAX_SQL_CHARS:
        raise InvalidArgument(f"the trigger's SQL is longer than {MAX_SQL_CHARS} characters")
    read_only(sql)
    # Comments and the semicolons read_only allows at the end become spaces, so the
    # query can be extended (and its digest does not change with its comments).
    toks = [
        ("skip", " ") if k == "semi" or (k == "skip" and t.lstrip()[:2] in ("--", "/*")) else (k, t)
        for k, t in tokens(sql)
    ]
    checked = "".join(t for _, t in toks).strip()
    words = [(i, t.upper()) for i, (k, t) in enumerate(toks) if k == "word"]
    if words[0][1] not in ("SELECT", "WITH"):
        raise InvalidArgument(
            f"a SQL trigger runs a streaming SELECT, not {words[0][1]} "
            "(e.g. SELECT * FROM ingest WHERE source = 'sensor')"
        )
    depth, top = 0, []
    for i, (k, t) in enumerate(toks):
        if k == "other" and t == "(":
            depth += 1
        elif k == "other" and t == ")":
            depth -= 1
        elif k != "skip" and depth == 0:
            top.append(i)
    froms = [i for i in top if toks[i][0] == "word" and toks[i][1].upper() == "FROM"]
    if not froms:
        raise InvalidArgument(
            "a SQL trigger reads a stream: the query has no FROM (e.g. SELECT * FROM ingest)"
        )
    after_from = [i for i in range(froms[0] + 1, len(toks)) if toks[i][0] != "skip"]
    if (
        len(after_from) >= 2
        and toks[after_from[0]][1].lower() == "table"
        and toks[after_from[1]][1] == "("
    ):
        raise InvalidArgument(
            "a SQL trigger must be a streaming query: FROM table(...) reads the historical "
            "store once and ends; read the stream itself (FROM ingest ...)"
        )
    why = _why_not(toks, words, top, froms[0])
    if why:
        return WatchPlan(checked, False, why)
    j = top.index(froms[0])
    rest = top[j + 1 :]
    source_end = rest[0] + 1
    if len(rest) >= 3 and toks[rest[1]][1] == "." and toks[rest[2]][0] in ("word", "quoted"):
        source_end = rest[2] + 1
    tail = [i for i in rest if i >= source_end]
    cond = ""
    if tail:
        if toks[tail[0]][0] != "word" or toks[tail[0]][1].upper() != "WHERE":
            word = toks[tail[0]][1]
            return WatchPlan(checked, False, f"{word!r} follows the stream (only WHERE may)")
        cond = "".join(t for _, t in toks[tail[0] + 1 :]).strip()
    select = "".join(t for _, t in toks[words[0][0] + 1 : froms[0]]).strip()
    source = "".join(t for _, t in toks[rest[0] : source_end]).strip()
    shows = any(k == "word" and t.lower() == TP_SN for k, t in toks[words[0][0] : froms[0]])
    return WatchPlan(checked, True, "", select, source, cond, shows)


def _why_not(
    toks: Sequence[tuple[str, str]], words: Sequence[tuple[int, str]], top: list[int], at: int
) -> str:
    """Why a query does not resume ('' when it does); ``at`` is its top-level FROM."""
    if words[0][1] == "WITH":
        return "it starts with WITH"
    if sum(1 for _, w in words if w == "SELECT") > 1:
        return "it has a subquery"
    for _, w in words:
        if w in _STOP_WORDS:
            return f"it has {_STOP_WORDS[w]}"
    solid = [i for i, (k, _) in enumerate(toks) if k != "skip"]
    for a, b in zip(solid, solid[1:], strict=False):
        if toks[a][0] == "word" and toks[b][1] == "(":
            name = toks[a][1].lower()
            if name.startswith(_STATEFUL):
                return f"it calls {name}() (aggregate, window, table or non-deterministic)"
    rest = top[top.index(at) + 1 :]
    if not rest or toks[rest[0]][0] not in ("word", "quoted"):
        return "FROM is not followed by a stream name"
    return ""


@dataclass(frozen=True, slots=True)
class SqlRow:
    """One result row: its columns as Timeplus sent them (64-bit integers as text), the
    insert batch it came in (None: the query does not resume) and its digest."""

    values: dict[str, Any]
    sn: int | None
    digest: str


def digest_of(values: Mapping[str, Any]) -> str:
    """A short stable digest of a row's columns (to drop rows of a re-read batch)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class SqlRejected(StoreError):
    """Timeplus refused a trigger's query, or ended it by itself (a bounded query):
    retrying would not help."""


class SqlReader(StreamingRead):
    """The rows of a plan's query, read from Timeplus (iterate it in a thread).

    Starts after position ``sn`` with ``done`` (digests of rows of batch ``sn`` already
    handled; see the module docstring), or from the latest rows (``sn`` None, or the
    plan does not resume). A dropped connection is retried with backoff (``on_problem``
    is told); a resumable query resumes after its position (rows already yielded are
    dropped by digest) and says so (``reconnected``). When the server refuses the resume
    point, it starts once from the latest rows, saying so. ``close()`` from any thread
    ends the iteration.

    Iteration raises:
        SqlRejected: the server refused the query, failed it twice in a row without a
            row in between, or a query that does not resume ended by itself.
        TimeplusConfigError: Timeplus refused the user or database.
    """

    def __init__(
        self,
        http: Http,
        plan: WatchPlan,
        sn: int | None = None,
        done: Sequence[str] = (),
        *,
        on_problem: Callable[[str, str], None] | None = None,
        retry_min_s: float = RETRY_MIN_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.http = http
        self.plan = plan
        self.sn = sn if plan.resumable else None
        self.done: list[str] = list(done) if self.sn is not None else []
        self.on_problem = on_problem or (lambda _kind, _msg: None)
        super().__init__(retry_min_s, retry_max_s)

    def _row(self, obj: dict[str, Any]) -> SqlRow:
        sn: int | None = None
        if self.plan.resumable:
            raw = obj.get(TP_SN) if self.plan.shows_sn else obj.pop(TP_SN, None)
            sn = int(raw) if raw is not None else None
        return SqlRow(obj, sn, digest_of(obj))

    def __iter__(self) -> Iterator[SqlRow]:
        delay = self.retry_min_s
        failures = 0
        fell_back = False
        while not self.closed:
            after = self.sn - 1 if self.sn is not None else None
            skip = Counter(self.done)
            got = False
            try:
                rs = self._start(
                    self.http, self.plan.statement(after), SETTINGS, "a SQL trigger's query"
                )
                if rs is None:
                    return
                if self.connects > 1:
                    self.on_problem("reconnected", "the query runs again")
                for obj in rs:
                    row = self._row(obj)
                    got, failures, fell_back, delay = True, 0, False, self.retry_min_s
                    if row.sn is not None:
                        if self.sn is not None and row.sn < self.sn:
                            continue
                        if row.sn != self.sn:
                            self.sn, self.done, skip = row.sn, [], Counter()
                        if skip[row.digest] > 0:
                            skip[row.digest] -= 1
                            continue
                        self.done.append(row.digest)
                    yield row
                if self.closed:
                    return
                if not self.plan.resumable:
                    raise SqlRejected(
                        "Timeplus ended the query by itself: a SQL trigger must be a "
                        "streaming query that keeps running (not a bounded one)"
                    )
                failures += 1
                if failures > 2:
                    raise SqlRejected("Timeplus ended the query 3 times in a row without rows")
                self.on_problem("ended", "Timeplus ended the query; resuming")
            except TimeplusUnreachable as e:
                if self.closed:
                    return
                self.on_problem("dropped", e.message)
            except TimeplusQueryError as e:
                if self.closed:
                    return
                if after is not None and not got and not fell_back:
                    fell_back = True
                    self.sn, self.done = None, []
                    self.on_problem(
                        "from_latest",
                        f"{e.message}; starting from the latest rows (rows since the last "
                        "run may be missed)",
                    )
                    continue
                failures += 1
                if not got or failures > 1:
                    raise SqlRejected(e.message) from None
                self.on_problem("dropped", e.message)
            finally:
                self._release()
            delay = self._wait(delay)


class SqlWatcher:
    """SQL triggers' queries on one Timeplus server (``http``), from the event loop."""

    def __init__(self, http: Http) -> None:
        self.http = http

    async def check(self, sql: str) -> WatchPlan:
        """``plan_watch(sql)``, then ``EXPLAIN`` on the server (names, syntax, grants).

        Raises:
            InvalidArgument: what ``plan_watch`` raises, or Timeplus refused the query
                (its message). Unavailable: Timeplus is unreachable.
        """
        plan = plan_watch(sql)
        try:
            await asyncio.to_thread(
                self.http.query, Statement(f"EXPLAIN {plan.sql}"), SETTINGS, "checking the SQL"
            )
        except TimeplusQueryError as e:
            raise InvalidArgument(f"the trigger's SQL is refused: {e.message}") from None
        except TimeplusUnreachable as e:
            raise Unavailable(f"cannot check the trigger's SQL: {e.message}") from None
        return plan

    async def watch(
        self,
        plan: WatchPlan,
        sn: int | None,
        done: Sequence[str],
        notice: Callable[[str, str], Awaitable[None]],
        *,
        retry_min_s: float = RETRY_MIN_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> AsyncGenerator[list[SqlRow], None]:
        """Run ``plan`` (``SqlReader`` in a thread) and yield its rows in batches as
        they arrive; ``notice(kind, message)`` is awaited for each problem the reader
        rides out (kinds: dropped, ended, from_latest) and when it is connected again
        (reconnected). Closing the generator stops it.

        Raises:
            SqlRejected, TimeplusConfigError: see ``SqlReader``. StoreError: another
                failure of the reader.
        """
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        room = threading.Semaphore(BUFFER_ROWS)

        def put(kind: str, value: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody to tell
                loop.call_soon_threadsafe(items.put_nowait, (kind, value))

        reader = SqlReader(
            self.http,
            plan,
            sn,
            done,
            on_problem=lambda kind, msg: put("notice", (kind, msg)),
            retry_min_s=retry_min_s,
            retry_max_s=retry_max_s,
        )

        def run() -> None:
            try:
                for row in reader:
                    while not room.acquire(timeout=0.1):
                        if reader.closed:
                            return
                    put("row", row)
                put("end", None)
            except BaseException as exc:  # handed to the consumer, which raises it
                put("error", exc)

        threading.Thread(target=run, name="pulse-tp-trigger", daemon=True).start()
        try:
            while True:
                kind, value = await items.get()
                batch: list[SqlRow] = []
                while kind == "row":
                    batch.append(value)
                    room.release()
                    try:
                        kind, value = items.get_nowait()
                    except asyncio.QueueEmpty:
                        kind = ""
                if batch:
                    yield batch
                if kind == "notice":
                    await notice(*value)
                elif kind == "end":
                    return
                elif kind == "error":
                    if isinstance(value, PulseError):
                        raise value
                    raise StoreError(f"a SQL trigger's query failed: {value!r}")
        finally:
            reader.close()
