"""The store contract: one interface over every backend (local SQLite, Timeplus).

A store holds the streams of ``pulsed.store.schema``. Rows are appended, never updated.
Every row gets its own sequence number (``Row.seq``): unique within its stream, above 0,
increasing in append order, but not necessarily consecutive. (The local store counts
1, 2, 3...; the Timeplus store numbers rows itself, from microsecond timestamps, because
Timeplus' ``_tp_sn`` numbers insert batches, not rows, and is kept as its internal
resume cursor.) Readers either query history or tail: a tail resumes after any row's
sequence number, also one in the middle of an appended batch, and delivers every later
row exactly once, in order, including rows appended while it runs.

What every backend guarantees (tests/store/test_store_contract.py runs against each):

- Read your writes: once ``append`` returns, every read sees its rows (queries, counts,
  current state, sessions, unanswered inputs, cost summaries, tails), although Timeplus'
  ``table()`` shows a row only about 2 s after its insert.
- The daemon is the only writer of its streams; tails are gap-free for what it appends.
- Values are bound as parameters, never pasted into SQL.

What differs (tests/store/test_store_local.py, tests/timeplus/): the local store's
sequence numbers are consecutive (but for the gaps a ``purge_session`` leaves), it can
delete a session's rows and it is never unreachable. The Timeplus store can be:
then appends go to a local spool and are acknowledged (sent in order when Timeplus is
back), ``health`` says "timeplus unreachable: ... (N rows spooled)", ``query`` answers
from the rows the daemon holds (possibly incomplete) and the other reads raise
``Unavailable``.

How the contract is split: ``Store``'s public methods check their arguments the same way
for every backend (stream names, filters, limits, order, time bounds, tail starts, cost
groupings) and then call the protected methods a backend implements (``_query``,
``_tail``, ...) with checked, normalised values: a ``Stream``, ``Check`` filters and
schema datetime text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pulsed.errors import FailedPrecondition, InvalidArgument, StoreError
from pulsed.store import schema
from pulsed.store.memory_queries import MemoryQueries
from pulsed.store.schema import Column, Stream
from pulsed.store.values import INT64_MAX as INT64_MAX
from pulsed.store.values import convert_value as convert_value
from pulsed.store.values import parse_iso as parse_iso
from pulsed.store.values import to_iso as to_iso

OPS = ("eq", "ne", "contains", "gt", "ge", "lt", "le")
"""Filter operators. ``contains`` is a substring match on the column's text."""
ORDERS = ("asc", "desc")
"""How ``query`` orders rows by sequence number."""
MAX_LIMIT = 10_000
"""The most rows one ``query`` or ``sessions`` call returns."""
TAIL_STARTS = ("earliest", "latest", "after")
"""The kinds of ``TailStart``."""


def now_iso() -> str:
    """The current time as schema datetime text: ISO 8601, UTC, milliseconds, ``Z``."""
    return to_iso(datetime.now(UTC))


def new_id() -> str:
    """A new row id (UUID4 text)."""
    return str(uuid.uuid4())


@dataclass(slots=True)
class Row:
    """One stored row: its stream, its sequence number and its column values.

    ``values`` maps every column of the stream's schema to its Python value (see
    ``pulsed.store.schema``: datetimes as ISO 8601 text, json as decoded JSON).
    """

    stream: str
    seq: int
    """Unique in the stream, above 0, increasing in append order."""
    values: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        """The value of ``column``. Raises KeyError: not a column of the row."""
        return self.values[column]

    def get(self, column: str, default: Any = None) -> Any:
        """The value of ``column``, or ``default`` when the row has no such column."""
        return self.values.get(column, default)

    def to_json(self) -> str:
        """The row's values as a JSON object (compact, UTF-8 kept)."""
        return json.dumps(self.values, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class Filter:
    """A predicate on one column, as clients send it (``make_filters`` checks one
    against its stream and converts its value to the column's type)."""

    column: str
    op: str
    """One of ``OPS``."""
    value: Any


def _check_op(op: str) -> None:
    if op not in OPS:
        raise InvalidArgument(f"unknown filter operator {op!r} (operators: {', '.join(OPS)})")


def make_filters(stream: Stream, raw: Sequence[tuple[str, str, Any]]) -> list[Filter]:
    """Check ``(column, op, value)`` triples against ``stream`` and convert their values.

    An empty op means ``eq``.

    Raises:
        InvalidArgument: unknown column or operator, or a value of the wrong type.
    """
    out = []
    for column, op, value in raw:
        op = op or "eq"
        _check_op(op)
        col = stream.column(column)
        out.append(Filter(col.name, op, convert_value(col, value, op)))
    return out


def prepare_row(stream: Stream, values: Mapping[str, Any]) -> dict[str, Any]:
    """A complete row for ``stream``: unknown columns refused, defaults filled in.

    ``id`` defaults to a new UUID and ``timestamp`` to now.

    Raises:
        InvalidArgument: a column not in the stream.
    """
    names = stream.column_names
    for k in values:
        if k not in names:
            stream.column(k)  # raises with the list of columns
    row: dict[str, Any] = {}
    for col in stream.columns:
        v = values.get(col.name)
        if v is None:
            if col.name == "id":
                v = new_id()
            elif col.name == "timestamp":
                v = now_iso()
            else:
                v = col.default_value()
        elif col.type == "datetime" and isinstance(v, datetime):
            v = to_iso(v)
        row[col.name] = v
    return row


@dataclass(frozen=True, slots=True)
class TailStart:
    """Where a tail begins: ``earliest``, ``latest`` (only new rows), or after ``seq``."""

    kind: str = "latest"
    seq: int = 0

    @classmethod
    def earliest(cls) -> TailStart:
        """From the first row of the stream."""
        return cls("earliest")

    @classmethod
    def latest(cls) -> TailStart:
        """Only rows appended after the tail starts."""
        return cls("latest")

    @classmethod
    def after(cls, seq: int) -> TailStart:
        """Rows with a sequence number above ``seq`` (a consumer's checkpoint)."""
        return cls("after", seq)


_FROM_LATEST = TailStart()


@dataclass(slots=True)
class CostBucket:
    """Sums over a group of llm_logs rows. ``key`` is the group's value ('' for a total;
    for hour and day the UTC start as schema datetime text)."""

    key: str = ""
    requests: int = 0
    """Rows (LLM calls) summed."""
    errors: int = 0
    """Rows whose status is not ``success``."""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    """Sum of ``estimated_cost_usd``, US dollars."""
    latency_ms_sum: float = 0.0
    """Sum of ``latency_ms``, milliseconds."""

    @property
    def avg_latency_ms(self) -> float:
        """Mean latency per request in milliseconds (0 without requests)."""
        return self.latency_ms_sum / self.requests if self.requests else 0.0

    def add(self, other: CostBucket) -> None:
        """Add ``other``'s sums into this bucket."""
        self.requests += other.requests
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.cost_usd += other.cost_usd
        self.latency_ms_sum += other.latency_ms_sum


COST_GROUPS = ("model", "hour", "day", "session", "origin", "provider")
"""What ``cost_summary`` can group by (hour and day are UTC starts, ISO 8601)."""


@dataclass(slots=True)
class CostSummary:
    """``cost_summary``'s answer: the total and, when grouped, one bucket per key."""

    total: CostBucket = field(default_factory=CostBucket)
    buckets: list[CostBucket] = field(default_factory=list)

    @classmethod
    def of(cls, buckets: Mapping[str, CostBucket], by: str) -> CostSummary:
        """The summary of ``buckets`` keyed by group value (key '' alone when ``by`` is
        ''): ordered by key for hour/day, by cost descending otherwise, with their total."""
        out = cls()
        if not by:
            if "" in buckets:
                out.total = buckets[""]
            return out
        ordered = list(buckets.values())
        if by in ("hour", "day"):
            ordered.sort(key=lambda b: b.key)
        else:
            ordered.sort(key=lambda b: (-b.cost_usd, b.key))
        for b in ordered:
            out.total.add(b)
        out.buckets = ordered
        return out


@dataclass(slots=True)
class SessionInfo:
    """A session seen in the messages stream."""

    session_id: str
    message_count: int
    """Messages of the session (every message type)."""
    first_activity: str
    """Timestamp of its first message (schema datetime text, UTC)."""
    last_activity: str
    """Timestamp of its last message (schema datetime text, UTC)."""
    title: str
    """Text of its first user_input message ('' when it has none)."""


# -- argument checks every backend shares ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """A filter as backends get it: checked against its stream, with the ``Column`` and
    the value converted to the column's Python type (see ``convert_value``)."""

    col: Column
    op: str
    value: Any


def check_filters(stream: Stream, filters: Sequence[Filter]) -> list[Check]:
    """``filters`` checked against ``stream``, values converted (operators are not
    defaulted: a ``Filter`` always names one).

    Raises:
        InvalidArgument: unknown column or operator, or a value of the wrong type.
    """
    out = []
    for f in filters:
        _check_op(f.op)
        col = stream.column(f.column)
        out.append(Check(col, f.op, convert_value(col, f.value, f.op)))
    return out


def check_limit(limit: int) -> int:
    """``limit`` if it is an int (not a bool) in 1..``MAX_LIMIT``.

    Raises:
        InvalidArgument: anything else.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}, not {limit!r}")
    return limit


def check_order(order: str) -> str:
    """``order`` if it is one of ``ORDERS``.

    Raises:
        InvalidArgument: anything else.
    """
    if order not in ORDERS:
        raise InvalidArgument(f"order must be asc or desc, not {order!r}")
    return order


def check_tail(start: TailStart, max_batch: int) -> TailStart:
    """``start`` normalised (``after`` a negative seq is ``after(0)``), once ``start`` and
    ``max_batch`` are checked.

    Raises:
        InvalidArgument: ``max_batch`` below 1, an unknown start kind, or a seq above
            ``INT64_MAX`` (no row can have it).
    """
    if max_batch < 1:
        raise InvalidArgument(f"max_batch must be at least 1, not {max_batch}")
    if start.kind not in TAIL_STARTS:
        raise InvalidArgument(f"unknown tail start {start.kind!r} (earliest, latest, after)")
    if start.kind == "after" and start.seq > INT64_MAX:
        raise InvalidArgument(
            f"tail after seq {start.seq} is out of range: sequence numbers are 0..{INT64_MAX}"
        )
    if start.kind == "after" and start.seq < 0:
        return TailStart.after(0)
    return start


def norm_time(text: str | None, what: str) -> str | None:
    """A time bound as schema datetime text (UTC, milliseconds); None or '' = unbounded.

    ``what`` names the bound in the error message (``since``, ``until``).

    Raises:
        InvalidArgument: not text, or not an ISO 8601 datetime.
    """
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"{what} must be ISO 8601 text, not {type(text).__name__}")
    return to_iso(parse_iso(text))


def check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """Raises InvalidArgument when ``rows`` is one row (a mapping) instead of a sequence."""
    if isinstance(rows, Mapping):
        raise InvalidArgument("append takes a sequence of rows, not one row")


def bad_value(stream: str, col: Column, value: Any) -> InvalidArgument:
    """The error for an appended value that does not fit its column's type (backends
    check values while they encode them); the value is shown shortened to 60 characters."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgument(
        f"{stream}.{col.name} is {col.type}: {type(value).__name__} {shown} does not fit"
    )


def not_a_row(raw: object) -> InvalidArgument:
    """The error for an appended row that is not a mapping of columns (backends check
    each row while they encode it)."""
    return InvalidArgument(f"a row must be a mapping of columns, not {type(raw).__name__}")


def check_grouping(by: str) -> None:
    """Raises InvalidArgument unless ``by`` is '' or one of ``COST_GROUPS``."""
    if by not in COST_GROUPS and by != "":
        raise InvalidArgument(f"cannot group costs by {by!r} (groupings: {', '.join(COST_GROUPS)})")


class Store(MemoryQueries, ABC):
    """The contract every backend implements. All methods are safe to call from the event
    loop: backends do blocking I/O in threads.

    The public reads and ``append`` check their arguments here, identically for every
    backend, then call the protected method of the same name (``_query`` for ``query``,
    ...), which a backend implements and which gets checked, normalised arguments.
    """

    backend: str = ""

    # -- what a backend implements ---------------------------------------------------------

    @abstractmethod
    async def open(self) -> None:
        """Connect, create missing streams and migrate them to ``SCHEMA_VERSION``.

        Raises:
            StoreError: the store cannot be opened or migrated.
        """

    @abstractmethod
    async def close(self) -> None:
        """Flush and release everything; open tails end."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The schema version recorded in the store."""

    _write_failure: tuple[str, str] | None = None
    """(when, why) of the last append that failed, while no append has worked since."""

    async def health(self) -> str:
        """``"ok"``, or a sentence saying what is wrong: appends failing since the last
        one that failed (e.g. a full disk) while none has worked since, else what the
        backend finds (``_health``). Never raises."""
        if self._write_failure is not None:
            when, why = self._write_failure
            return f"appends are failing (since {when}): {why}"
        return await self._health()

    @abstractmethod
    async def _health(self) -> str:
        """The backend's own ``health``: ``"ok"`` or what is wrong. Never raises."""

    @abstractmethod
    def _require_open(self) -> asyncio.AbstractEventLoop:
        """The event loop the store was opened on.

        Raises:
            StoreError: the store is not open.
        """

    @abstractmethod
    async def _append(
        self, stream: Stream, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        """``append`` of a known stream and at least one row (each row still unchecked:
        the backend checks that it is a mapping, see ``not_a_row``, and its values)."""

    @abstractmethod
    def _tail(
        self, stream: Stream, checks: list[Check], start: TailStart, max_batch: int
    ) -> AsyncGenerator[list[Row], None]:
        """``tail`` with checked filters, a known start kind (``after`` a seq >= 0) and
        ``max_batch`` >= 1. Ends when the store closes; closed by the caller otherwise."""

    @abstractmethod
    async def _query(
        self,
        stream: Stream,
        checks: list[Check],
        since: str | None,
        until: str | None,
        order: str,
        limit: int,
    ) -> list[Row]:
        """``query`` with checked filters, bounds as schema datetime text (None =
        unbounded), ``order`` in ``ORDERS`` and ``limit`` in 1..``MAX_LIMIT``."""

    @abstractmethod
    async def _last_seq(self, stream: Stream) -> int:
        """``last_seq`` of a known stream."""

    @abstractmethod
    async def _count(self, stream: Stream) -> int:
        """``count`` of a known stream."""

    @abstractmethod
    async def _cost_summary(self, since: str | None, until: str | None, by: str) -> CostSummary:
        """``cost_summary`` with bounds as schema datetime text (``since < until`` when
        both are given) and ``by`` in ``COST_GROUPS`` or ''."""

    @abstractmethod
    async def _sessions(self, limit: int) -> list[SessionInfo]:
        """``sessions`` with ``limit`` in 1..``MAX_LIMIT``."""

    @abstractmethod
    async def _unanswered(self, since: str | None) -> list[Row]:
        """``unanswered`` with ``since`` as schema datetime text (None = unbounded)."""

    @abstractmethod
    async def _latest_by(self, stream: Stream, key: str) -> list[Row]:
        """``latest_by`` of a known stream and one of its columns."""

    async def _purge_session(self, session_id: str, keep_events: Sequence[str]) -> dict[str, int]:
        """``purge_session`` with a non-empty id. By default the backend's streams are
        append-only and it refuses."""
        raise FailedPrecondition(f"the {self.backend or 'store'} backend cannot delete rows")

    # -- the contract: arguments checked here, then the backend's method ------------------

    async def append(
        self, stream: str, rows: Sequence[Mapping[str, Any]], *, durable: bool = False
    ) -> list[Row]:
        """Append ``rows`` to ``stream`` in one batch and return them as stored.

        Missing columns get defaults (``id`` a new UUID, ``timestamp`` now). With
        ``durable`` the call returns only once the rows survive a power loss (fsync; on
        Timeplus: the server's acknowledgement, or the local spool's fsync). Appended
        rows reach running tails and every read at once. No rows: nothing happens.

        Raises:
            NotFound: unknown stream.
            InvalidArgument: one row instead of a sequence, a row that is not a mapping,
                a column not in the stream, or a value of the wrong type.
            Unavailable: (Timeplus) unreachable and the local spool is full.
            StoreError: the write failed; nothing of the batch was stored.
        """
        s = schema.stream(stream)
        check_rows(rows)
        if not rows:
            return []
        try:
            stored = await self._append(s, rows, durable)
        except StoreError as e:
            if self._write_failure is None:
                self._write_failure = (now_iso(), e.message)
            raise
        self._write_failure = None
        return stored

    async def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        start: TailStart = _FROM_LATEST,
        max_batch: int = 500,
    ) -> AsyncGenerator[list[Row], None]:
        """Rows of ``stream`` after ``start``, in sequence order, in batches of at most
        ``max_batch``; runs until the consumer stops iterating or the store closes.

        Gap-free: every matching row with a higher sequence number is delivered once,
        whatever batches the rows were appended in. A consumer checkpoints the seq of the
        last row it handled and resumes with ``TailStart.after(seq)``.

        Raises (when iteration starts, for the arguments):
            NotFound: unknown stream.
            InvalidArgument: unknown column, operator or start, or bad ``max_batch``.
            StoreError: the backend failed the read for good (Timeplus: a query error
                that a retry does not fix; an unreachable server is retried instead).
        """
        s = schema.stream(stream)
        checks = check_filters(s, filters)
        begin = check_tail(start, max_batch)
        async with contextlib.aclosing(self._tail(s, checks, begin, max_batch)) as batches:
            async for batch in batches:
                yield batch

    async def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        since: str | None = None,
        until: str | None = None,
        order: str = "desc",
        limit: int = 100,
    ) -> list[Row]:
        """Rows of ``stream`` matching ``filters`` with ``since <= timestamp < until``
        (ISO 8601 bounds, None or '' = unbounded), ordered by sequence number, at most
        ``limit`` (1..``MAX_LIMIT``) from the ``order`` end (``asc`` or ``desc``).

        Timeplus unreachable: answered from the rows the daemon holds (its recent and
        spooled appends), which may be incomplete; ``health`` says so.

        Raises:
            NotFound: unknown stream.
            InvalidArgument: bad order, limit, filter or time bound.
        """
        s = schema.stream(stream)
        checks = check_filters(s, filters)
        check_order(order)
        check_limit(limit)
        lo, hi = norm_time(since, "since"), norm_time(until, "until")
        return await self._query(s, checks, lo, hi, order, limit)

    async def last_seq(self, stream: str) -> int:
        """The highest sequence number in ``stream`` (0 when empty).

        Raises (every read below too):
            NotFound: unknown stream.
            Unavailable: (Timeplus) unreachable.
            StoreError: the store is not open, or the read failed.
        """
        return await self._last_seq(schema.stream(stream))

    async def count(self, stream: str) -> int:
        """How many rows ``stream`` holds."""
        return await self._count(schema.stream(stream))

    async def cost_summary(
        self, since: str | None = None, until: str | None = None, by: str = ""
    ) -> CostSummary:
        """Sum llm_logs over ``since <= timestamp < until`` (ISO 8601 bounds, None or ''
        = unbounded), grouped by ``by`` (one of ``COST_GROUPS`` or '' for the total
        only). Buckets are ordered by key for hour/day, by cost descending otherwise;
        an empty range (``since >= until``) sums nothing.

        Raises:
            InvalidArgument: unknown grouping, or a bad time bound.
        """
        check_grouping(by)
        lo, hi = norm_time(since, "since"), norm_time(until, "until")
        self._require_open()
        if lo is not None and hi is not None and lo >= hi:
            return CostSummary()
        return await self._cost_summary(lo, hi, by)

    async def sessions(self, limit: int = 50) -> list[SessionInfo]:
        """Sessions of the messages stream, most recently active first, at most
        ``limit`` (1..``MAX_LIMIT``).

        Raises:
            InvalidArgument: bad limit.
        """
        check_limit(limit)
        return await self._sessions(limit)

    async def unanswered(self, since: str | None = None) -> list[Row]:
        """Input messages (``schema.INPUT_TYPES``: user_input, scheduled_task, trigger)
        that no agent_response or error row
        answers (by ``reply_to``), oldest first, from ``since`` on (ISO 8601, None or ''
        = all). Used for recovery after a crash.

        Raises:
            InvalidArgument: a bad time bound.
        """
        return await self._unanswered(norm_time(since, "since"))

    async def latest_by(self, stream: str, key: str) -> list[Row]:
        """For append-only version logs (tasks, cursors): the newest row per value of
        column ``key``, ordered by key.

        Raises:
            NotFound: unknown stream. InvalidArgument: unknown column.
        """
        s = schema.stream(stream)
        return await self._latest_by(s, s.column(key).name)

    async def purge_session(
        self, session_id: str, keep_events: Sequence[str] = ()
    ) -> dict[str, int]:
        """Delete the conversation of session ``session_id`` in one transaction: its rows
        of messages and tool_logs, and the events whose payload's ``session_id`` is it,
        except those of the event types ``keep_events``. Its llm_logs rows stay with their
        message previews blanked (they record money spent: costs and budget caps still
        count them); memories learnt in it stay. Returns rows deleted per stream
        (messages, tool_logs, events; 0 included). The one change to stored rows.

        Raises:
            InvalidArgument: an empty session id.
            FailedPrecondition: the backend's streams are append-only (Timeplus).
            StoreError: the store is not open, or the change failed (nothing deleted).
        """
        if not isinstance(session_id, str) or not session_id:
            raise InvalidArgument("purge_session needs a session id")
        self._require_open()
        return await self._purge_session(session_id, keep_events)
