"""Stream triggers: tasks whose runs start when matching rows arrive on a stream.

Each enabled trigger task (schedule ``on <stream>`` or, on the Timeplus backend, ``sql
<query>``; definition in ``pulsed.scheduling.where``) has a ``Consumer`` that reads its
source from its position (``pulsed.scheduling.sources``: the store's tail of the stream,
or the rows of the streaming query) and holds the matching rows until a run takes
them. A run is a ``trigger`` row in messages (session ``task:<name>``, origin
``trigger``) started through the scheduler (``Scheduler.start_run``), so timeouts,
no-overlap, back-off, history and delivery are those of every task.

**Exactly once.** A consumer's position P means: every matching row with seq <= P has
been handled (carried by a run, dropped with an event, or not matching). It is kept in
two places: each run's input row records the seq range it covers (``after_seq``,
``upto_seq``, with the ``seqs`` it carries) and is durable before the turn starts;
``cursors`` rows (consumer ``task:<name>``) record the position past rows that did not
match or were dropped. At start the position is the highest of the newest cursor row,
the newest run's ``upto_seq`` and the ``from_seq`` the trigger was defined at. So a
kill -9 after a row's append and before its run's input is durable leaves P below the
row (it fires after the restart); one after the input is durable leaves P at or above
it (the run is recovered by the turn manager, and the row never fires again).

A SQL trigger keeps its position the same way, as ``watch.mark(sn, n)`` with the
digests of the rows handled (``sources.SqlSource``); a query that cannot resume by
``_tp_sn`` starts from the latest rows (``watch`` has the rule). When Timeplus refuses
its query, the trigger stops reading, says so in its task's ``last_status`` and in a
``trigger_sql_failed`` event, until the task is changed or the daemon restarts.

**Guards.** A trigger never fires on rows of its own runs (session ``task:<name>``), its
own cursor rows, or events about the task. Rows written by a trigger's run carry its
chain depth; a row that would start a run deeper than ``MAX_CHAIN_DEPTH`` is skipped with a
``trigger_chain_stopped`` event. ``batch_s`` gathers rows arriving within the window
into one run; while a run goes on, rows wait for the next; over ``max_runs_per_hour``
rows wait (``queue``) or are dropped with a ``trigger_dropped`` event (``drop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pulsed.agent.intake import TurnInput
from pulsed.errors import FailedPrecondition, InvalidArgument
from pulsed.scheduling.book import (
    NEEDS_TIMEPLUS,
    TaskBook,
    run_budget,
    session_of,
    trigger_of,
)
from pulsed.scheduling.runner import Scheduler
from pulsed.scheduling.sources import SqlSource, StreamSource, consumer_of
from pulsed.scheduling.task_views import TaskView
from pulsed.scheduling.where import SQL_SOURCE, TriggerDef
from pulsed.store import rows
from pulsed.store.base import Filter, Row, Store, parse_iso, prepare_row, to_iso
from pulsed.store.schema import stream as schema_stream
from pulsed.timeutil import Clock

if TYPE_CHECKING:
    from pulsed.scheduling.sources import Source
    from pulsed.store.timeplus.watch import SqlWatcher

log = logging.getLogger("pulsed.triggers")

MAX_CHAIN_DEPTH = 3
"""Most triggers chained: a run whose rows start another trigger's run, and so on."""
MAX_ROWS_PER_RUN = 500
"""Rows one run carries at most; more wait for the next run."""
MAX_PENDING = 10_000
"""Matching rows a consumer holds in memory; past it, it stops reading until runs take
some (the rest stays in the store, behind its position)."""
MAX_ROW_CHARS = 2_000
"""Longest JSON of one row in a run's prompt."""
MAX_ROWS_CHARS = 16_000
"""Longest JSON of all rows in a run's prompt; the rest are named by seq only."""
CURSOR_EVERY_S = 1.0
"""How often a consumer records its position past rows that did not match."""
BUSY_RECHECK_S = 1.0
"""How often a consumer whose task is running (or cannot start) looks again."""
DROPPED = "trigger_dropped"
CHAIN_STOPPED = "trigger_chain_stopped"
HOUR = timedelta(hours=1)


def row_doc(row: Row) -> dict[str, Any]:
    """A row as the JSON object a run's prompt shows: its seq and its columns (a SQL
    trigger's row: its columns only, its seq being a position)."""
    if row.stream == SQL_SOURCE:
        return dict(row.values)
    return {"seq": row.seq, **row.values}


def prompt_text(prompt: str, label: str, matched: Sequence[Row], hint: str = "") -> str:
    """A run's prompt: the task's prompt, then the rows (of ``label``: ``stream ingest``)
    as JSON lines (each cut to ``MAX_ROW_CHARS``, all to ``MAX_ROWS_CHARS``; the rest
    named by their seqs, with ``hint`` on where to read them)."""
    n = len(matched)
    lines = [f"{n} new row{'s' if n != 1 else ''} of {label} matched this trigger:"]
    used = 0
    for i, r in enumerate(matched):
        text = json.dumps(row_doc(r), ensure_ascii=False, separators=(",", ":"), default=str)
        if len(text) > MAX_ROW_CHARS:
            text = text[:MAX_ROW_CHARS] + " …(cut)"
        if used + len(text) > MAX_ROWS_CHARS:
            lines.append(
                f"… and {n - i} more row(s) not shown (seqs {r.seq}..{matched[-1].seq}"
                + (f"; {hint})" if hint else ")")
            )
            break
        lines.append(text)
        used += len(text) + 1
    return f"{prompt}\n\n" + "\n".join(lines)


@dataclass(slots=True)
class _Held:
    row: Row
    depth: int


class Consumer:
    """One trigger task's reader of its stream and the runs it starts (see the module
    docstring). ``start`` loads its position from the store; ``stop`` records it."""

    def __init__(self, engine: Triggers, row: Row, trig: TriggerDef, source: Source) -> None:
        self.engine = engine
        self.row = row
        self.trig = trig
        self.source = source
        self.name = str(row["name"])
        self.session = session_of(self.name)
        self.position = 0
        self.scanned = 0
        self.recorded = 0
        self.pending: list[_Held] = []
        self.first_at: datetime | None = None
        self.fired: deque[datetime] = deque()
        self.last_fired = ""
        self.wake = asyncio.Event()
        self._room = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_record: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Load the position and the past hour's runs, then start reading and firing."""
        store, clock, key = self.engine.store, self.engine.clock, self.source.key
        pos = self.trig.from_seq
        record: Mapping[str, Any] = {}
        cursors = await store.query(
            "cursors", [Filter("consumer", "eq", consumer_of(self.name))], limit=20
        )
        for c in cursors:
            detail = c["detail"] if isinstance(c["detail"], dict) else {}
            if c["stream"] == key and self.source.accepts(detail):
                if int(c["position"]) > pos:
                    pos, record = int(c["position"]), detail
                break
        since = to_iso(clock.now() - HOUR)
        runs = await store.query(
            "messages",
            [Filter("session_id", "eq", self.session), Filter("message_type", "eq", "trigger")],
            order="desc",
            limit=1000,
        )
        for i, r in enumerate(runs):
            content = r["content"] if isinstance(r["content"], dict) else {}
            if i == 0:
                self.last_fired = str(r["timestamp"])
                self.engine.depths[self.session] = int(content.get("depth") or 1)
            if content.get("stream") == key and self.source.accepts(content):
                upto = int(content.get("upto_seq") or 0)
                if upto > pos:
                    pos, record = upto, content
            if str(r["timestamp"]) >= since and content.get("trigger") == "stream":
                self.fired.appendleft(parse_iso(str(r["timestamp"])))
        self.source.resume(pos, record)
        self.position = self.scanned = self.recorded = pos
        self._room.set()
        self._tasks = [
            asyncio.create_task(self._read(), name=f"trigger-read:{self.name}"),
            asyncio.create_task(self._fire_loop(), name=f"trigger-fire:{self.name}"),
        ]
        log.info("trigger %s: consuming %s after seq %d", self.name, self.source.label, pos)

    async def stop(self) -> None:
        """Stop reading and firing, then record the position (best effort)."""
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        if not self.pending:
            self.position = max(self.position, self.scanned)
        with contextlib.suppress(Exception):
            await self._record(durable=True)

    # -- reading ---------------------------------------------------------------------

    async def _read(self) -> None:
        stopped: list[Row] = []
        async for batch in self.source.rows(self.position):
            for r in batch:
                self.scanned = r.seq
                if not self.source.wanted(r.values):
                    continue
                depth = self.engine.depth_of(r.values) + 1
                if depth > MAX_CHAIN_DEPTH:
                    stopped.append(r)
                    continue
                if not self.pending:
                    self.first_at = self.engine.clock.now()
                self.pending.append(_Held(r, depth))
            if stopped:
                await self._chain_stopped(stopped)
                stopped = []
            self.wake.set()
            if len(self.pending) >= MAX_PENDING:
                self._room.clear()
                await self._room.wait()

    async def _chain_stopped(self, stopped: list[Row]) -> None:
        log.warning(
            "trigger %s: %d row(s) skipped: chain of triggers deeper than %d",
            self.name,
            len(stopped),
            MAX_CHAIN_DEPTH,
        )
        await self.engine.event(
            CHAIN_STOPPED,
            {
                "task": self.name,
                "stream": self.source.key,
                "rows": len(stopped),
                "seqs": [r.seq for r in stopped[:100]],
                "max_depth": MAX_CHAIN_DEPTH,
                "reason": f"the rows come from a chain of more than {MAX_CHAIN_DEPTH} triggers",
            },
        )

    # -- firing ----------------------------------------------------------------------

    async def _fire_loop(self) -> None:
        while True:
            self.wake.clear()
            try:
                when = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("trigger %s: step failed; retrying", self.name)
                when = self.engine.clock.now() + timedelta(seconds=BUSY_RECHECK_S)
            await self.engine.clock.sleep_until(when, self.wake)

    async def _step(self) -> datetime | None:
        """Fire, drop or wait; returns when to look again (None: when woken)."""
        now = self.engine.clock.now()
        if not self.pending:
            self.position = max(self.position, self.scanned)
            if self.position > self.recorded:
                due = (self._last_record or now - HOUR) + timedelta(seconds=CURSOR_EVERY_S)
                if now < due:
                    return due
                await self._record()
            return None
        if self.trig.batch_s and self.first_at is not None:
            due = self.first_at + timedelta(seconds=self.trig.batch_s)
            if now < due:
                return due
        recheck = now + timedelta(seconds=BUSY_RECHECK_S)
        scheduler = self.engine.scheduler
        if scheduler.running(self.name):
            return recheck
        backoff = scheduler.backoff_until(self.name)
        if backoff is not None:
            return backoff
        free_at = self._rate_free_at(now)
        if free_at is not None:
            if self.trig.overflow == "drop":
                await self._drop(now)
                return None
            return free_at
        await self._fire(now)
        return None

    def _rate_free_at(self, now: datetime) -> datetime | None:
        """When the next run is allowed under ``max_runs_per_hour`` (None: now)."""
        limit = self.trig.max_runs_per_hour
        while self.fired and self.fired[0] <= now - HOUR:
            self.fired.popleft()
        if not limit or len(self.fired) < limit:
            return None
        return self.fired[0] + HOUR

    def _take(self) -> tuple[list[_Held], int]:
        """The rows the next run carries and the seq up to which it covers the stream."""
        take = self.pending[:MAX_ROWS_PER_RUN]
        rest = self.pending[len(take) :]
        upto = rest[0].row.seq - 1 if rest else self.scanned
        return take, upto

    async def _fire(self, now: datetime) -> None:
        take, upto = self._take()
        depth = max(h.depth for h in take)
        matched = [h.row for h in take]
        turn_input = TurnInput(
            source="trigger",
            session_id=self.session,
            text=prompt_text(
                str(self.row["prompt"]), self.source.label, matched, self.source.more_hint()
            ),
            message_type="trigger",
            user_id="trigger",
            channel_metadata={"deliver_to": self.row["deliver_to"]},
            run=rows.trigger_run(
                task=self.name,
                version=int(self.row["version"]),
                stream=self.source.key,
                after_seq=self.position,
                upto_seq=upto,
                seqs=[r.seq for r in matched],
                depth=depth,
            )
            | self.source.record(upto)
            | run_budget(self.row),
            origin="trigger",
        )
        self.engine.depths[self.session] = depth
        msg = await self.engine.scheduler.start_run(self.row, turn_input)
        del self.pending[: len(take)]
        self.first_at = now if self.pending else None
        self.position = upto
        self.fired.append(now)
        self.last_fired = str(msg["timestamp"])
        self._room.set()
        log.info("trigger %s: run %s carries %d row(s)", self.name, msg["id"], len(take))
        await self._record(detail={"message_id": msg["id"], "rows": len(take)})

    async def _drop(self, now: datetime) -> None:
        take, upto = self._take()
        limit = self.trig.max_runs_per_hour
        await self.engine.event(
            DROPPED,
            {
                "task": self.name,
                "stream": self.source.key,
                "rows": len(take),
                "seqs": [h.row.seq for h in take[:100]],
                "reason": f"over the limit of {limit} run(s) per hour (overflow = drop)",
            },
            severity="warning",
        )
        del self.pending[: len(take)]
        self.first_at = now if self.pending else None
        self.position = upto
        self._room.set()
        await self._record(durable=True, detail={"dropped": len(take)})

    async def _record(self, durable: bool = False, detail: dict[str, Any] | None = None) -> None:
        """Append a cursor row at the current position."""
        pos = self.position
        await self.engine.store.append(
            "cursors",
            [
                rows.cursor(
                    consumer=consumer_of(self.name),
                    stream=self.source.key,
                    position=pos,
                    detail={**self.source.record(pos), **(detail or {})} or None,
                )
            ],
            durable=durable,
        )
        self.recorded = max(self.recorded, pos)
        self._last_record = self.engine.clock.now()


class Triggers:
    """Every trigger task's consumer. ``await start()`` after the scheduler started
    (recovered runs count as running), ``await stop()`` before the turns shut down;
    ``notify(name)`` (a TaskBook listener) reloads a task."""

    def __init__(
        self, store: Store, book: TaskBook, scheduler: Scheduler, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.book = book
        self.scheduler = scheduler
        self.clock: Clock = clock or scheduler.clock
        self.consumers: dict[str, Consumer] = {}
        self.depths: dict[str, int] = {}
        """Chain depth of the newest run per trigger session (``task:<name>``)."""
        self._watcher: SqlWatcher | None = None
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        book.listeners.append(self.notify)
        scheduler.run_listeners.append(self._run_ended)

    async def start(self) -> None:
        """Start a consumer per enabled trigger task."""
        for name, row in sorted((await self.book.current()).items()):
            try:
                await self._load(name, row)
            except Exception:
                log.exception("trigger %s: cannot start", name)
        self._loop_task = asyncio.create_task(self._loop(), name="triggers")

    async def stop(self) -> None:
        """Stop every consumer (each records its position)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        consumers, self.consumers = list(self.consumers.values()), {}
        await asyncio.gather(*(c.stop() for c in consumers), return_exceptions=True)

    def notify(self, name: str) -> None:
        """A task changed: reload it."""
        self._dirty.add(name)
        self._wake.set()

    def _run_ended(self, name: str) -> None:
        consumer = self.consumers.get(name)
        if consumer is not None:
            consumer.wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty:
                name = self._dirty.pop()
                try:
                    row = (await self.book.current()).get(name)
                    await self._load(name, row)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("trigger %s: cannot reload", name)

    async def _load(self, name: str, row: Row | None) -> None:
        """(Re)start, update or stop the consumer of ``name`` after a change."""
        old = self.consumers.get(name)
        trig = trigger_of(row) if row is not None else None
        if row is None or trig is None or not row["enabled"] or row["deleted"]:
            if old is not None:
                del self.consumers[name]
                await old.stop()
            return
        where = trig.check()
        same = (old.trig.on, old.trig.where, old.trig.sql) if old is not None else None
        if same == (trig.on, trig.where, trig.sql):
            assert old is not None
            old.row, old.trig = row, trig  # prompt, batch, limits: apply in place
            old.wake.set()
            return
        if old is not None:
            del self.consumers[name]
            await old.stop()
        source: Source
        if trig.sql:
            source = SqlSource(self.watcher(), name, trig, self._source_event)
        else:
            source = StreamSource(self.store, name, trig, where)
        consumer = Consumer(self, row, trig, source)
        await consumer.start()
        self.consumers[name] = consumer

    # -- what consumers share --------------------------------------------------------

    def watcher(self) -> SqlWatcher:
        """The Timeplus store's runner of SQL triggers' queries.

        Raises:
            FailedPrecondition: the store is not Timeplus (the message says what to set).
        """
        if self._watcher is None:
            if self.store.backend != "timeplus":
                raise FailedPrecondition(NEEDS_TIMEPLUS)
            from pulsed.store.timeplus import TimeplusStore
            from pulsed.store.timeplus.watch import SqlWatcher

            if not isinstance(self.store, TimeplusStore):
                raise FailedPrecondition(NEEDS_TIMEPLUS)
            self._watcher = SqlWatcher(self.store.http)
        return self._watcher

    async def check_sql(self, trig: TriggerDef) -> None:
        """Check a SQL trigger before it is saved: its fields, the backend, and its query
        with Timeplus (``EXPLAIN``). Nothing for a stream trigger beyond ``check``.

        Raises:
            InvalidArgument: see ``TriggerDef.check``; Timeplus refused the query.
            FailedPrecondition: the store is not Timeplus. Unavailable: Timeplus is down.
        """
        trig.check()
        if trig.sql:
            await self.watcher().check(trig.sql)

    async def _source_event(self, kind: str, payload: dict[str, Any], severity: str) -> None:
        await self.event(kind, payload, severity=severity)

    def depth_of(self, values: Mapping[str, Any]) -> int:
        """The chain depth of a row: that of the trigger run that wrote it (by its
        session, or the task an event is about), 0 for rows from elsewhere."""
        sid = values.get("session_id")
        if isinstance(sid, str) and sid in self.depths:
            return self.depths[sid]
        payload = values.get("payload")
        if isinstance(payload, dict) and isinstance(payload.get("task"), str):
            return self.depths.get(session_of(payload["task"]), 0)
        return 0

    async def event(self, kind: str, payload: dict[str, Any], severity: str = "warning") -> None:
        """Append an event of the triggers (source scheduler, tags scheduler, trigger)."""
        await self.store.append(
            "events",
            [
                rows.event(
                    kind,
                    source="scheduler",
                    payload=payload,
                    severity=severity,
                    tags=["scheduler", "trigger"],
                )
            ],
        )

    # -- queries ---------------------------------------------------------------------

    def annotate(self, view: TaskView) -> TaskView:
        """Add the rows waiting and the last run's time of a trigger task to ``view``."""
        consumer = self.consumers.get(view.name)
        if consumer is not None:
            view.rows_waiting = len(consumer.pending)
            view.last_fired = consumer.last_fired or view.last_fired
            if consumer.source.problem:
                view.last_status = f"sql error: {consumer.source.problem}"
        return view

    async def test(self, name: str, values: Mapping[str, Any]) -> tuple[bool, str, str]:
        """Whether a row of ``values`` would fire trigger task ``name``, why not, and the
        prompt its run would get; nothing is stored or run.

        Raises:
            NotFound: no such task. FailedPrecondition: it is not a stream trigger, or it
                is a SQL trigger (Timeplus decides what its query returns).
            InvalidArgument: a column the stream does not have.
        """
        row = await self.book.get(name)
        trig = trigger_of(row)
        if trig is None:
            raise FailedPrecondition(
                f"task {name!r} runs on a schedule ({row['schedule']}), not on a stream"
            )
        if trig.sql:
            raise FailedPrecondition(
                f"task {name!r} is a SQL trigger: Timeplus decides which rows its query "
                "returns, so a row cannot be tested here; try the query with: pulsectl sql"
            )
        where = trig.check()
        s = schema_stream(trig.on)
        full = prepare_row(s, values)
        probe = Row(s.name, 0, full)
        for cond in where.conds:
            if not cond.matches(full):
                return False, f"{cond.text()} does not match", ""
        hint = f"read them with: pulsectl streams query {s.name}"
        return True, "", prompt_text(str(row["prompt"]), f"stream {s.name}", [probe], hint)

    async def latest_matching(self, trig: TriggerDef, count: int) -> list[Row]:
        """The newest ``count`` rows of the trigger's stream that match it, newest
        first (among the last 1,000 rows).

        Raises:
            NotFound, InvalidArgument: see ``TriggerDef.check``.
            FailedPrecondition: a SQL trigger (its rows come from Timeplus).
        """
        where = trig.check()
        if trig.sql:
            raise FailedPrecondition(
                "a SQL trigger has no preview of matching rows: run its query with pulsectl sql"
            )
        if count < 1:
            raise InvalidArgument("count must be at least 1")
        recent = await self.store.query(trig.on, order="desc", limit=1000)
        return [r for r in recent if where.matches(r.values)][:count]
