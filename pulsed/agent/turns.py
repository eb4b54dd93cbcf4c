"""Turn scheduling: in order within a session, in parallel across sessions (bounded),
cancellable, with a graceful shutdown and recovery of unanswered inputs after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from pulsed.agent.events import Accepted, Failed, TurnEvent, is_terminal
from pulsed.agent.intake import TurnHandle, TurnInput
from pulsed.agent.loop import AgentDeps, Turn
from pulsed.agent.sessions import SessionModels
from pulsed.agent.turn_context import TurnContext
from pulsed.errors import StoreError, Unavailable
from pulsed.store import rows
from pulsed.store.base import Row, parse_iso, to_iso

log = logging.getLogger("pulsed.turns")

RETRY_FIRST_S = 1.0
"""First wait before probing a store that failed a turn's write; doubles each failure."""
RETRY_MAX_S = 30.0
"""Longest wait between two probes of a store that cannot write."""


@dataclass(eq=False)
class PendingTurn:
    """A submitted turn and the queues of the clients watching it."""

    input: Row
    interactive: bool
    recovered: bool = False
    """Resumed after a crash or a store fault: replay what it recorded, run nothing twice."""
    listeners: list[asyncio.Queue[TurnEvent]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    cancelled_by_user: bool = False
    cancel_code: str = "cancelled"
    cancel_message: str = ""
    done: bool = False
    ended: bool = False
    """A terminal event was emitted."""

    @property
    def id(self) -> str:
        return str(self.input["id"])

    @property
    def session_id(self) -> str:
        return str(self.input["session_id"])

    def emit(self, ev: TurnEvent) -> None:
        if self.ended:
            return  # one terminal event, then nothing
        self.ended = is_terminal(ev)
        for q in self.listeners:
            q.put_nowait(ev)

    def fail(self, code: str, message: str, message_id: str = "") -> None:
        """Emit the terminal ``Failed`` event (no-op when the turn has ended)."""
        self.emit(
            Failed(
                turn_id=self.id,
                session_id=self.session_id,
                message_id=message_id,
                code=code,
                message=message,
            )
        )


class TurnManager:
    """Runs turns. ``start`` stores an input and queues its turn behind its session's
    earlier turns; at most ``[agent] max_concurrent_turns`` run at once. Every turn ends
    for its listeners with exactly one ``Final`` or ``Failed`` event, whatever fails."""

    def __init__(self, deps: AgentDeps) -> None:
        self.deps = deps
        self._sem = asyncio.Semaphore(deps.cfg.agent.max_concurrent_turns)
        self._queues: dict[str, deque[PendingTurn]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._turns: dict[str, PendingTurn] = {}
        self._running: set[PendingTurn] = set()
        self._closing = False
        self._closed = asyncio.Event()
        self._stalled: dict[str, Row] = {}
        self._retry: asyncio.Task[None] | None = None
        self.session_models = SessionModels(deps.store)
        """The model each session asked for (``Chat.SetSessionModel``)."""

    @property
    def active(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def queued_behind(self, session_id: str) -> int:
        q = self._queues.get(session_id)
        return len(q) if q else 0

    def session_busy(self, session_id: str) -> bool:
        """Whether a turn of ``session_id`` is queued or running."""
        return any(t.session_id == session_id and not t.done for t in self._turns.values())

    async def start(self, turn_input: TurnInput) -> TurnHandle:
        """Store ``turn_input`` durably, then queue its turn. The handle sees every event
        from ``Accepted`` on.

        Raises:
            Unavailable: the daemon is shutting down (the input is stored and is
                answered after the restart), or the store cannot write.
            InvalidArgument: a value the schema refuses.
        """
        if not turn_input.model:
            model = await self.session_models.get(turn_input.session_id)
            if model:
                turn_input = replace(turn_input, model=model)
        row = (await self.deps.store.append("messages", [turn_input.values()], durable=True))[0]
        return self.resume(row, interactive=turn_input.interactive)

    def resume(
        self, input_row: Row, interactive: bool = False, recovered: bool = False
    ) -> TurnHandle:
        """Queue a turn for ``input_row``, which is stored already (recovery, or a
        caller that appended it with other rows). A ``recovered`` turn continues from the
        tool calls it recorded before (see ``Turn``) instead of starting over.

        Raises:
            Unavailable: the daemon is shutting down.
        """
        behind = self.queued_behind(str(input_row["session_id"]))
        turn = self._submit(input_row, interactive, recovered)
        handle = TurnHandle(turn, behind)
        turn.emit(
            Accepted(
                turn_id=turn.id, session_id=turn.session_id, seq=input_row.seq, queued_behind=behind
            )
        )
        return handle

    def _submit(
        self, input_row: Row, interactive: bool = False, recovered: bool = False
    ) -> PendingTurn:
        if self._closing:
            raise Unavailable(
                "pulsed is shutting down; the message is stored and will be answered after restart"
            )
        turn = PendingTurn(input_row, interactive, recovered)
        self._turns[turn.id] = turn
        self._queues.setdefault(turn.session_id, deque()).append(turn)
        if turn.session_id not in self._workers:
            self._workers[turn.session_id] = asyncio.create_task(
                self._session_worker(turn.session_id), name=f"session:{turn.session_id}"
            )
        return turn

    async def _session_worker(self, session_id: str) -> None:
        q = self._queues[session_id]
        try:
            while q and not self._closing:
                async with self._sem:
                    if self._closing or not q:
                        break
                    turn = q.popleft()
                    await self._run(turn)
        finally:
            self._workers.pop(session_id, None)
            if not q:
                self._queues.pop(session_id, None)

    async def _run(self, turn: PendingTurn) -> None:
        ctx = TurnContext(turn.input, turn.interactive, turn.emit, recovered=turn.recovered)
        runner = Turn(self.deps, ctx)
        turn.task = asyncio.create_task(runner.run(), name=f"turn:{turn.id}")
        self._running.add(turn)
        try:
            await asyncio.wait([turn.task])
            if turn.task.cancelled():
                if turn.cancelled_by_user:
                    try:
                        await runner.finish_error(
                            turn.cancel_code, turn.cancel_message or "the turn was cancelled"
                        )
                    except Exception as e:
                        log.error("turn %s: could not store its cancellation: %s", turn.id, e)
                        turn.fail(turn.cancel_code, turn.cancel_message or "cancelled")
                else:
                    # Shutdown: leave no answer, so the next start resumes it.
                    turn.fail("shutdown", "pulsed stopped; the turn resumes when it starts again")
            elif isinstance(exc := turn.task.exception(), StoreError):
                # Its answer (or error row) could not be stored: the input stays
                # unanswered, and is answered again once the store writes.
                log.error("turn %s: the store cannot write: %s", turn.id, exc.message)
                turn.fail(
                    "store_unavailable",
                    f"the answer could not be stored ({exc.message}); the message is kept "
                    "and answered once the store can write again",
                )
                self._stall(turn.input)
            elif exc is not None:
                log.error("turn %s crashed", turn.id, exc_info=exc)
                turn.fail("internal", f"the turn failed: {type(exc).__name__}: {exc}")
        finally:
            # Whatever happened, the turn's listeners see its end.
            turn.fail("internal", "the turn ended without an answer; see the pulsed log")
            turn.done = True
            self._running.discard(turn)
            self._turns.pop(turn.id, None)
        if runner.answer is not None:
            await self._after(ctx, runner.answer)

    async def _after(self, ctx: TurnContext, answer: Row) -> None:
        """The after-turn hooks of an answered turn (each failure logged)."""
        for hook in self.deps.after_turn:
            try:
                await hook.after_turn(ctx, answer)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("after-turn hook %r failed for turn %s", hook, ctx.turn_id)

    async def cancel(self, turn_id: str, code: str = "cancelled", message: str = "") -> bool:
        """Cancel a queued or running turn; it ends with an error row of ``code``
        (``cancelled``; the scheduler uses ``timeout``) saying ``message``.
        False when no such turn is pending."""
        turn = self._turns.get(turn_id)
        if turn is None or turn.done:
            return False
        turn.cancelled_by_user = True
        turn.cancel_code, turn.cancel_message = code, message
        if turn.task is not None:
            turn.task.cancel()
            return True
        q = self._queues.get(turn.session_id)
        if q and turn in q:
            q.remove(turn)
        self._turns.pop(turn_id, None)
        ctx = TurnContext(turn.input, False, turn.emit)
        try:
            await Turn(self.deps, ctx).finish_error(
                code, message or "the turn was cancelled before it started"
            )
        finally:
            turn.fail(code, message or "the turn was cancelled before it started")
            turn.done = True
        return True

    @property
    def stalled(self) -> int:
        """Inputs whose answer could not be stored, waiting for the store to write."""
        return len(self._stalled)

    def _stall(self, input_row: Row) -> None:
        """Keep ``input_row`` for ``_retry_stalled`` (started if not running)."""
        self._stalled[str(input_row["id"])] = input_row
        if self._retry is None or self._retry.done():
            self._retry = asyncio.create_task(self._retry_stalled(), name="turns:store-retry")

    async def _retry_stalled(self) -> None:
        """Probe the store with backoff (``RETRY_FIRST_S`` doubling to ``RETRY_MAX_S``);
        once a write works, run the stalled inputs that are still unanswered again."""
        delay = RETRY_FIRST_S
        failed_since = to_iso(datetime.now(UTC))
        while self._stalled and not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), delay)
            if self._closing:
                return
            stalled = list(self._stalled.values())
            try:
                await self.deps.store.append(
                    "events",
                    [
                        rows.event(
                            "store_writable",
                            source="pulsed",
                            severity="warning",
                            payload={
                                "failing_since": failed_since,
                                "inputs": [str(r["id"]) for r in stalled][:100],
                            },
                            tags=["store", "recovery"],
                        )
                    ],
                    durable=True,
                )
                oldest = min(str(r["timestamp"]) for r in stalled)
                open_ids = {str(r["id"]) for r in await self.deps.store.unanswered(since=oldest)}
            except StoreError as e:
                log.warning("store still cannot write (%s); next try in %.0f s", e.message, delay)
                delay = min(RETRY_MAX_S, delay * 2)
                continue
            for row in stalled:
                del self._stalled[str(row["id"])]
                if str(row["id"]) in open_ids and str(row["id"]) not in self._turns:
                    self.resume(row, recovered=True).detach()
            log.warning("the store writes again; %d input(s) answered anew", len(stalled))

    async def shutdown(self, grace_s: float) -> None:
        """Stop taking turns; let running ones finish for up to ``grace_s`` seconds,
        then cancel them, leaving them (and queued ones) unanswered for recovery."""
        self._closing = True
        self._closed.set()
        tasks = [t.task for t in self._running if t.task is not None]
        if tasks:
            log.info("waiting up to %.1f s for %d running turn(s)", grace_s, len(tasks))
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for t in pending:
                t.cancel()
            if pending:
                log.warning(
                    "cancelled %d turn(s) at shutdown; they resume on next start", len(pending)
                )
                await asyncio.wait(pending, timeout=2)
        for turn in [t for q in self._queues.values() for t in q]:
            turn.fail("shutdown", "pulsed stopped before this turn ran; it runs after restart")
        workers = list(self._workers.values())
        for w in workers:
            w.cancel()
        if workers:
            await asyncio.wait(workers, timeout=2)

    async def recover(self, now: datetime | None = None) -> tuple[int, int]:
        """Answer what a crash left unanswered: inputs younger than
        ``[agent] recover_max_age_s`` run again; older ones get an error row.
        Returns (resumed, failed)."""
        now = now or datetime.now(UTC)
        store = self.deps.store
        max_age = timedelta(seconds=self.deps.cfg.agent.recover_max_age_s)
        unanswered = await store.unanswered(since=to_iso(now - timedelta(days=30)))
        resumed = failed = 0
        for row in unanswered:
            age = now - parse_iso(str(row["timestamp"]))
            if age > max_age:
                ctx = TurnContext(row, False, lambda ev: None)
                await Turn(self.deps, ctx).finish_error(
                    "interrupted",
                    "pulsed stopped before answering this message "
                    f"({int(age.total_seconds())} s ago); "
                    "send it again if it still matters",
                )
                failed += 1
            else:
                self.resume(row, recovered=True).detach()
                resumed += 1
        if unanswered:
            await store.append(
                "events",
                [
                    rows.event(
                        "turns_recovered",
                        source="pulsed",
                        severity="warning",
                        payload={
                            "resumed": resumed,
                            "failed": failed,
                            "ids": [r["id"] for r in unanswered][:100],
                        },
                        tags=["recovery"],
                    )
                ],
            )
            log.warning(
                "recovery: %d unanswered input(s) resumed, %d failed visibly", resumed, failed
            )
        return resumed, failed
