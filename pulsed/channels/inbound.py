"""Incoming messages: drop redeliveries, turn strangers away, answer commands, and start
a turn for everything else through the one intake (``TurnManager.start``).

A message from an allowed person is appended to ``messages`` (durably, before the
platform is told it was received) with source = the channel, the chat's session and
``channel_metadata.deliver_to = "<channel>:<chat>"``. The agent's answer row carries
that target, and the outbox delivers it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

from pulsed.agent.events import ApprovalRequested, ToolResultReady, TurnEvent, is_terminal
from pulsed.agent.intake import TurnHandle, TurnInput
from pulsed.agent.turns import TurnManager
from pulsed.channels import commands
from pulsed.channels.access import Access
from pulsed.channels.approvals import ChatApprovals
from pulsed.channels.commands import Commands
from pulsed.channels.outbox import Outbox
from pulsed.channels.sessions import Sessions
from pulsed.channels.transport import Inbound, SendError, Transport
from pulsed.errors import Unavailable
from pulsed.store import rows
from pulsed.store.base import Row, Store, make_filters, now_iso
from pulsed.store.schema import MESSAGES

log = logging.getLogger("pulsed.channels")

TYPING_REFRESH_S = 4.0
"""Seconds between typing refreshes while a turn runs: Telegram shows a chat action
"for 5 seconds or less" (Bot API, sendChatAction)."""

SEEN_MAX = 2000
"""Platform message ids remembered to drop redeliveries."""

SEEN_LOAD = 500
"""The channel's latest stored inputs read at start for dedupe keys and chats."""


class InboundHandler:
    """Handles the messages of one channel, one at a time, in the order they arrive.

    Attributes:
        chats: chats the channel has talked in (Slack follows threads it is part of).
        position: the platform's position of the last handled update (Telegram's
            update id), kept as cursor ``channel:<name>:inbound``.
        last_inbound_at: when the last message arrived (ISO 8601, UTC).
    """

    def __init__(
        self,
        transport: Transport,
        store: Store,
        turns: TurnManager,
        access: Access,
        sessions: Sessions,
        commands: Commands,
        outbox: Outbox,
        approvals: ChatApprovals | None = None,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.store = store
        self.turns = turns
        self.access = access
        self.sessions = sessions
        self.commands = commands
        self.outbox = outbox
        self.approvals = approvals
        self.consumer = f"channel:{self.name}:inbound"
        self.chats: set[str] = set()
        self.position = 0
        self.last_inbound_at = ""
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    # -- state in the store -----------------------------------------------------------

    def restore(self, cursors: Iterable[Row]) -> None:
        """Take the inbound position from the latest cursor rows."""
        for row in cursors:
            if str(row["consumer"]) == self.consumer:
                self.position = int(row["position"])

    async def load(self) -> None:
        """Remember the dedupe keys and chats of the channel's latest stored inputs.

        Raises:
            PulseError: the store cannot answer.
        """
        for row in await self.store.query(
            "messages", make_filters(MESSAGES, [("source", "eq", self.name)]), limit=SEEN_LOAD
        ):
            meta = row["channel_metadata"]
            if isinstance(meta, dict) and meta.get("dedupe"):
                self._seen[str(meta["dedupe"])] = None
            if isinstance(meta, dict) and meta.get("chat"):
                self.chats.add(str(meta["chat"]))

    async def save_position(self, position: int) -> None:
        """Record the platform's inbound position (e.g. Telegram's last update id).

        Raises:
            PulseError: the store could not take it.
        """
        self.position = position
        await self.store.append(
            "cursors",
            [
                rows.inbound_position(
                    self.consumer, platform=self.transport.platform, position=position
                )
            ],
        )

    # -- messages ---------------------------------------------------------------------

    def seen(self, key: str) -> bool:
        """Whether ``key`` was handled before; remembers it otherwise."""
        if not key:
            return False
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return False

    async def handle(self, inb: Inbound) -> None:
        """One inbound message: refuse, answer a command, or store it and start a turn.

        Returns once the message is durable (or refused); sends to strangers and typing
        indicators run in the background.

        Raises:
            PulseError: the store could not take the message (the platform should
                deliver it again).
        """
        async with self._lock:
            await self._handle(inb)

    async def _handle(self, inb: Inbound) -> None:
        self.last_inbound_at = now_iso()
        if self.seen(inb.dedupe):
            log.debug("%s: dropping redelivered message %s", self.name, inb.dedupe)
            return
        if not self.access.allowed(inb.user_id):
            text = await self.access.refusal(inb)
            if text is not None:
                self.spawn(self._send_direct(inb.chat, text), f"channel:{self.name}:refusal")
            return
        self.chats.add(inb.chat)
        if not inb.text.strip():
            await self.notify(inb.chat, "I can only read text messages for now.")
            return
        command = commands.parse(inb.text)
        if command is not None:
            text = await self.commands.reply(command, inb.chat)
            await self.notify(inb.chat, text, {"command": command}, user_id=inb.user_id)
            return
        meta = {
            "chat": inb.chat,
            "message_id": inb.message_id,
            "user_name": inb.user_name,
            "dedupe": inb.dedupe,
            "deliver_to": f"{self.name}:{inb.chat}",
            **inb.meta,
        }
        try:
            handle = await self.turns.start(
                TurnInput(
                    source=self.name,
                    session_id=self.sessions.session_for(inb.chat),
                    text=inb.text,
                    user_id=inb.user_id,
                    channel_metadata=meta,
                    interactive=self.approvals is not None and self.approvals.enabled,
                )
            )
        except Unavailable:
            return  # stored: answered after the restart
        self.spawn(self._follow(handle, inb), f"channel:{self.name}:turn")

    async def notify(
        self, chat: str, text: str, extra: Mapping[str, Any] | None = None, user_id: str = ""
    ) -> None:
        """Queue ``text`` for ``chat`` in its current session, through the outbox.

        Raises:
            PulseError: the store could not take it.
        """
        await self.outbox.queue(chat, self.sessions.session_for(chat), text, extra, user_id)

    async def _follow(self, handle: TurnHandle, inb: Inbound) -> None:
        """Follow the turn of ``inb`` to its end: typing while it runs (not while it
        waits for an approval), approval requests to the chat."""
        async with handle.events() as events:
            try:
                await self.transport.typing(inb, "start")
                while True:
                    try:
                        ev = await asyncio.wait_for(events.next(), TYPING_REFRESH_S)
                    except TimeoutError:
                        if handle.done:
                            break
                        if self.approvals is None or not self.approvals.waiting(handle.id):
                            await self.transport.typing(inb, "refresh")
                        continue
                    except StopAsyncIteration:
                        break
                    self._on_event(ev, inb.chat)
            finally:
                if self.approvals is not None:
                    self.approvals.turn_ended(handle.id)
                await self.transport.typing(inb, "stop")

    def _on_event(self, ev: TurnEvent, chat: str) -> None:
        """Route a turn event to the chat's approvals."""
        if self.approvals is None:
            return
        if isinstance(ev, ApprovalRequested):
            entry = self.approvals.begin(ev, chat)
            if entry is not None:
                self.spawn(self.approvals.run(entry), f"channel:{self.name}:approval")
        elif isinstance(ev, ToolResultReady):
            self.approvals.tool_done(ev.turn_id)
        elif is_terminal(ev):
            self.approvals.turn_ended(ev.turn_id)

    async def _send_direct(self, chat: str, text: str) -> None:
        """Best effort, no outbox: refusals and pairing codes to strangers."""
        for part in self.transport.render(text):
            try:
                await self.transport.send(chat, part, plain=False)
            except SendError as e:
                log.info("%s: could not answer a stranger in %s: %s", self.name, chat, e.message)
                return

    # -- background tasks -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in the background until it ends or the channel stops."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def background(self) -> list[asyncio.Task[None]]:
        """The background tasks still running (the channel cancels them on stop)."""
        return list(self._background)
