"""The one way into the agent: a typed ``TurnInput`` becomes a durable row and a turn.

Every edge (gRPC chat, channels, scheduled runs, triggers, the HTTP API) builds a
``TurnInput`` and calls ``TurnManager.start``, which appends the input row durably,
queues the turn behind its session's earlier ones and returns a ``TurnHandle``. The
handle sees every event of the turn from ``Accepted`` on: ``async with handle.events()``
for callers that follow the turn, ``await handle.result()`` for those that only need
its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pulsed.agent.events import Failed, Final, TurnEvent, is_terminal
from pulsed.store import rows
from pulsed.store.base import Row

if TYPE_CHECKING:
    from pulsed.agent.turns import PendingTurn

ORIGINS = ("chat", "task", "heartbeat", "trigger")
"""What a turn's LLM spend is attributed to (``llm_logs.origin``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnInput:
    """What starts a turn.

    Attributes:
        source: where it came from: cli | tui | api | telegram | slack | scheduler | ...
        session_id: the conversation it belongs to (turns of one session run in order).
        text: the message or the task's prompt.
        message_type: ``user_input`` (a person wrote), ``scheduled_task`` (a task's
            run) or ``trigger`` (a stream trigger's run).
        user_id: who wrote it (``local`` for the person's own clients).
        channel_metadata: stored with the row; ``deliver_to`` names where the answer
            goes when it is not ``source`` (``tui``, ``none``, ``telegram:<chat>``).
        run: further content of a scheduled run (task, trigger, slot, version, preset,
            light).
        interactive: a person is watching and can answer approvals ("ask" tools).
        origin: chat | task | heartbeat | trigger; '' derives it from the row.
        model: ``[PROVIDER:]MODEL`` to use for this turn instead of the configured chain.
        temperature: sampling temperature of the turn's calls (None: the provider's).
        max_tokens: most output tokens per call of the turn, below ``[agent] max_tokens``
            (0: that setting).
        id: the row's id, when the caller must know it before the append.
    """

    source: str
    session_id: str
    text: str
    message_type: Literal["user_input", "scheduled_task", "trigger"] = "user_input"
    user_id: str = "local"
    channel_metadata: Mapping[str, Any] = field(default_factory=dict)
    run: Mapping[str, Any] = field(default_factory=dict)
    interactive: bool = False
    origin: str = ""
    model: str = ""
    temperature: float | None = None
    max_tokens: int = 0
    id: str | None = None

    def values(self) -> rows.Values:
        """The ``messages`` row that records this input."""
        content: dict[str, Any] = {"text": self.text, **self.run}
        if self.origin:
            content["origin"] = self.origin
        if self.model:
            content["model"] = self.model
        if self.temperature is not None:
            content["temperature"] = float(self.temperature)
        if self.max_tokens > 0:
            content["max_tokens"] = int(self.max_tokens)
        return rows.turn_input(
            source=self.source,
            session_id=self.session_id,
            content=content,
            message_type=self.message_type,
            user_id=self.user_id,
            channel_metadata=self.channel_metadata,
            id=self.id,
        )


def origin_of(row: Row) -> str:
    """The origin of the turn that input ``row`` starts: the one it names, else
    heartbeat for light preset runs, task for other runs, chat for messages."""
    content = row.get("content")
    if isinstance(content, dict):
        named = content.get("origin")
        if isinstance(named, str) and named in ORIGINS:
            return named
        if content.get("preset") == "heartbeat":
            return "heartbeat"
    if row["message_type"] == "heartbeat":
        return "heartbeat"
    if row["message_type"] == "scheduled_task":
        return "task"
    if row["message_type"] == "trigger":
        return "trigger"
    return "chat"


class TurnEvents:
    """The events of one turn, in order, ending after its terminal event.

    Iterate with ``async for``; ``await events.next()`` reads one. Both are safe to
    cancel (``asyncio.wait_for``): no event is lost.
    """

    def __init__(self, queue: asyncio.Queue[TurnEvent]) -> None:
        self._queue = queue
        self._ended = False

    def __aiter__(self) -> TurnEvents:
        return self

    async def __anext__(self) -> TurnEvent:
        if self._ended:
            raise StopAsyncIteration
        ev = await self._queue.get()
        self._ended = is_terminal(ev)
        return ev

    async def next(self) -> TurnEvent:
        """The next event. Raises StopAsyncIteration after the terminal one."""
        return await self.__anext__()

    async def end(self) -> Final | Failed:
        """Read up to the terminal event and return it."""
        async for ev in self:
            if isinstance(ev, Final | Failed):
                return ev
        raise StopAsyncIteration


class TurnHandle:
    """A started turn: its input ``row`` (stored), ids, and its events.

    The handle listens from the moment the turn is queued, so nothing is missed however
    late ``events()`` or ``result()`` is called; leaving ``events()`` stops listening.
    """

    def __init__(self, turn: PendingTurn, queued_behind: int) -> None:
        self._turn = turn
        self.queued_behind = queued_behind
        """Turns of the same session queued or running ahead of this one at start."""
        self._queue: asyncio.Queue[TurnEvent] = asyncio.Queue()
        turn.listeners.append(self._queue)

    @property
    def row(self) -> Row:
        """The stored input row."""
        return self._turn.input

    @property
    def id(self) -> str:
        """The turn's id (the input row's id)."""
        return self._turn.id

    @property
    def session_id(self) -> str:
        return self._turn.session_id

    @property
    def done(self) -> bool:
        """Whether the turn has ended."""
        return self._turn.done

    def detach(self) -> None:
        """Stop listening (idempotent)."""
        if self._queue in self._turn.listeners:
            self._turn.listeners.remove(self._queue)

    @asynccontextmanager
    async def events(self) -> AsyncIterator[TurnEvents]:
        """``async with handle.events() as events: async for ev in events: ...``"""
        try:
            yield TurnEvents(self._queue)
        finally:
            self.detach()

    async def result(self) -> Final | Failed:
        """Wait for the turn's end: its ``Final`` or ``Failed`` event."""
        async with self.events() as events:
            return await events.end()
