"""Where a trigger's rows come from: a Pulse stream's tail, or a Timeplus streaming query.

A ``Consumer`` (``pulsed.scheduling.triggers``) fires runs the same way whatever its
source; a source turns what it reads into ``Row``s with increasing seqs, says which of
them are wanted, and knows how its position is kept:

- ``StreamSource``: the store's tail of the trigger's stream after its position (a seq),
  keeping the rows that match its filters and were not written by the task itself.
- ``SqlSource`` (Timeplus backend): the rows of the trigger's streaming query
  (``pulsed.store.timeplus.watch``). A resumable query's position is
  ``watch.mark(sn, n)``: insert batch ``sn`` with ``n`` of its rows handled, and the
  run or cursor row that records it also holds the digests of those ``n`` rows
  (``done``) and a digest of the query (``query``: a position of another query is not
  used, nor one from before the trigger was last switched on: the digest covers
  ``sql_epoch``). Each row's seq is the position right after it, so the machinery that covers
  "every row up to seq P" covers batches and rows alike. A query that does not resume
  numbers its rows from its last position and starts from the latest rows.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pulsed.errors import PulseError
from pulsed.scheduling.where import SQL_SOURCE, TriggerDef, Where
from pulsed.store.base import Row, Store, TailStart

if TYPE_CHECKING:
    from pulsed.store.timeplus.watch import SqlWatcher

log = logging.getLogger("pulsed.triggers")

EventFn = Callable[[str, dict[str, Any], str], Awaitable[None]]
"""``(event_type, payload, severity)``: appends an event of the triggers."""
SQL_FAILED = "trigger_sql_failed"
SQL_RECONNECTING = "trigger_sql_reconnecting"
SQL_FROM_LATEST = "trigger_sql_from_latest"


def consumer_of(name: str) -> str:
    """The ``cursors`` consumer of trigger task ``name``."""
    return f"task:{name}"


class Source(Protocol):
    """What a Consumer reads from (see the module docstring)."""

    key: str
    """The ``stream`` its cursor rows and runs name: the stream, or ``sql``."""
    label: str
    """What the rows are, for prompts: ``stream ingest``, ``the SQL query``."""
    problem: str
    """Why reading stopped for good ('' while it reads)."""

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Whether a cursor row's detail or a run's content holds a position of this
        source (a run of another SQL query does not)."""
        ...

    def resume(self, position: int, record: Mapping[str, Any]) -> None:
        """Start after ``position``, which ``record`` (a cursor detail or a run's content,
        {} for none) recorded."""
        ...

    def rows(self, after: int) -> AsyncIterator[list[Row]]:
        """Batches of rows after ``after``, as they arrive (forever)."""
        ...

    def wanted(self, values: Mapping[str, Any]) -> bool:
        """Whether a row read may fire the trigger (else it is only passed)."""
        ...

    def record(self, position: int) -> dict[str, Any]:
        """What a run's content or a cursor row stores next to ``position``."""
        ...

    def more_hint(self) -> str:
        """How to read rows a prompt leaves out."""
        ...


class StreamSource:
    """Rows of the trigger's stream after a seq, through the store's tail."""

    def __init__(self, store: Store, name: str, trig: TriggerDef, where: Where) -> None:
        self.store = store
        self.name = name
        self.session = f"task:{name}"
        self.trig = trig
        self.where = where
        self.key = trig.on
        self.label = f"stream {trig.on}"
        self.problem = ""

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Every position in the stream is this source's."""
        return True

    def resume(self, position: int, record: Mapping[str, Any]) -> None:
        """Nothing to restore: ``rows`` is given the position."""

    async def rows(self, after: int) -> AsyncIterator[list[Row]]:
        """The store's tail after seq ``after``."""
        async for batch in self.store.tail(
            self.trig.on, start=TailStart.after(after), max_batch=1000
        ):
            yield batch

    def wanted(self, values: Mapping[str, Any]) -> bool:
        """Rows that match the filters and were not written by this task's runs, its
        cursor rows or events about it."""
        return not self._own(values) and self.where.matches(values)

    def _own(self, values: Mapping[str, Any]) -> bool:
        if values.get("session_id") == self.session:
            return True
        if values.get("consumer") == consumer_of(self.name):
            return True
        payload = values.get("payload")
        return (
            self.trig.on == "events"
            and isinstance(payload, dict)
            and payload.get("task") == self.name
        )

    def record(self, position: int) -> dict[str, Any]:
        """Nothing beyond the seq."""
        return {}

    def more_hint(self) -> str:
        """Where the rows are."""
        return f"read them with: pulsectl streams query {self.trig.on}"


def query_digest(sql: str, epoch: int = 0) -> str:
    """A short digest of a trigger's SQL and ``sql_epoch`` (positions are kept per query
    and per time it was switched on)."""
    return hashlib.blake2b(f"{epoch}\n{sql}".encode(), digest_size=8).hexdigest()


class SqlSource:
    """Rows of the trigger's streaming query on Timeplus (see the module docstring).

    ``problem`` is set when Timeplus refused the query (the consumer stops reading).
    """

    def __init__(
        self,
        watcher: SqlWatcher,
        name: str,
        trig: TriggerDef,
        event: EventFn,
    ) -> None:
        from pulsed.store.timeplus.watch import plan_watch

        self.watcher = watcher
        self.name = name
        self.trig = trig
        self.event = event
        self.plan = plan_watch(trig.sql)
        self.query = query_digest(self.plan.sql, trig.sql_epoch)
        self.key = SQL_SOURCE
        self.label = "the SQL query"
        self.problem = ""
        self._sn: int | None = None
        self._n = 0
        self._counter = 0
        self._digests: dict[int, list[str]] = {}
        self._told = False

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Positions recorded for this same query."""
        return record.get("query") == self.query

    def resume(self, position: int, record: Mapping[str, Any]) -> None:
        """Restore the batch, rows handled and their digests of ``position``."""
        from pulsed.store.timeplus.watch import unmark

        self._counter = max(position, 0)
        at = unmark(position) if self.plan.resumable else None
        if at is None:
            return
        self._sn, self._n = at
        done = record.get("done")
        digests = [str(d) for d in done] if isinstance(done, list) else []
        self._digests = {self._sn: digests[: self._n]}

    def _payload(self, **more: Any) -> dict[str, Any]:
        return {"task": self.name, "sql": self.plan.sql[:2000], **more}

    async def _notice(self, kind: str, message: str) -> None:
        if kind == "reconnected":
            log.info("trigger %s: %s", self.name, message)
            self._told = False  # the next outage gets its event too
            return
        log.warning("trigger %s: %s (%s)", self.name, message, kind)
        if kind == "from_latest":
            await self.event(SQL_FROM_LATEST, self._payload(reason=message), "warning")
            return
        if self._told:
            return
        self._told = True
        if not self.plan.resumable:
            message += "; this query cannot resume: rows arriving until it is back are not seen"
        await self.event(SQL_RECONNECTING, self._payload(kind=kind, reason=message), "warning")

    async def rows(self, after: int) -> AsyncIterator[list[Row]]:
        """The query's rows as Rows of stream ``sql`` whose seq is the position after
        each.

        Sets ``problem`` (and records a ``trigger_sql_failed`` event) and ends when the
        query cannot go on: Timeplus refused it, refused the user, or a position
        overflowed.
        """
        from pulsed.store.timeplus.watch import mark

        if not self.plan.resumable:
            await self.event(
                SQL_FROM_LATEST,
                self._payload(reason=f"the query starts from the latest rows: {self.plan.why}"),
                "info",
            )
        done = self._digests.get(self._sn, []) if self._sn is not None else []
        watch = self.watcher.watch(self.plan, self._sn, done, self._notice)
        try:
            async for batch in watch:
                self._told = False
                out: list[Row] = []
                for r in batch:
                    if r.sn is None:
                        self._counter += 1
                        seq = self._counter
                    else:
                        if r.sn != self._sn:
                            self._sn, self._n = r.sn, 0
                        self._n += 1
                        self._digests.setdefault(r.sn, []).append(r.digest)
                        seq = mark(r.sn, self._n)
                    out.append(Row(SQL_SOURCE, seq, r.values))
                yield out
        except PulseError as e:  # SqlRejected, config and position errors: retrying won't help
            self.problem = e.message
            log.error("trigger %s: its SQL stopped: %s", self.name, e.message)
            await self.event(SQL_FAILED, self._payload(error=e.message), "error")
        finally:
            await watch.aclose()

    def wanted(self, values: Mapping[str, Any]) -> bool:
        """Every result row fires, but those of this task's own runs (when the query
        returns their ``session_id``)."""
        return values.get("session_id") != f"task:{self.name}"

    def record(self, position: int) -> dict[str, Any]:
        """The query's digest and the digests of the handled rows of the position's batch
        (earlier batches' digests are forgotten)."""
        from pulsed.store.timeplus.watch import unmark

        out: dict[str, Any] = {"query": self.query}
        at = unmark(position) if self.plan.resumable else None
        if at is not None:
            sn, n = at
            out["sn"] = sn
            out["done"] = self._digests.get(sn, [])[:n]
            for old in [k for k in self._digests if k < sn]:
                del self._digests[old]
        return out

    def more_hint(self) -> str:
        """The rows are the query's."""
        return "they are results of the trigger's SQL query"
