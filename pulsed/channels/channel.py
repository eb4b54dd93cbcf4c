"""A chat channel composed of its parts: the platform's transport, the supervisor that
keeps it connected, access and pairing, the chats' sessions, commands, the inbound
handler and the outbox. ``await start()`` runs it in background tasks; ``await stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from pulsed.channels.access import Access, PairingCode
from pulsed.channels.approvals import ChatApprovals
from pulsed.channels.commands import Commands
from pulsed.channels.deps import ChannelDeps
from pulsed.channels.inbound import InboundHandler
from pulsed.channels.journal import Journal
from pulsed.channels.outbox import Failure, Outbox
from pulsed.channels.sessions import Sessions
from pulsed.channels.supervisor import State, Supervisor
from pulsed.channels.transport import Inbound, Press, PressReply, Transport

log = logging.getLogger("pulsed.channels")

DRAIN_POLL_S = 0.05
"""How often ``stop`` looks whether the outbox has caught up."""

STOP_WAIT_S = 5.0
"""Longest ``stop`` waits for the cancelled tasks to end."""


@dataclass
class ChannelInfo:
    """A channel's state as ``pulsectl channels list | status`` shows it (times ISO
    8601, UTC; counts since the daemon started unless said otherwise)."""

    name: str
    enabled: bool
    state: State
    identity: str = ""
    last_error: str = ""
    last_error_at: str = ""
    connected_since: str = ""
    last_inbound_at: str = ""
    pending_outbox: int = 0
    delivered: int = 0
    failed_deliveries: int = 0
    """In the last 24 hours."""
    restarts: int = 0
    allowed_users: int = 0
    paired_users: int = 0
    pending_pairings: int = 0
    failures: list[Failure] = field(default_factory=list)


class _Inbox:
    """The channel as its transport's ``Inbox``: messages to the inbound handler,
    approval presses to the chat's approvals, signs of life and link changes to the
    supervisor."""

    def __init__(
        self, supervisor: Supervisor, inbound: InboundHandler, approvals: ChatApprovals
    ) -> None:
        self.supervisor = supervisor
        self.inbound = inbound
        self.approvals = approvals

    async def deliver(self, inbound: Inbound) -> None:
        self.supervisor.alive()
        await self.inbound.handle(inbound)

    async def press(self, press: Press) -> PressReply:
        self.supervisor.alive()
        return await self.approvals.press(press)

    def alive(self) -> None:
        self.supervisor.alive()

    async def link(self, up: bool, reason: str = "") -> None:
        await self.supervisor.link(up, reason)

    def follows(self, chat: str) -> bool:
        return chat in self.inbound.chats

    def resume_position(self) -> int:
        return self.inbound.position

    async def save_position(self, position: int) -> None:
        await self.inbound.save_position(position)


class Channel:
    """One chat platform, its ``transport``, with everything Pulse adds to it."""

    def __init__(self, deps: ChannelDeps, transport: Transport) -> None:
        self.d = deps
        self.transport = transport
        self.name = transport.name
        self.ccfg = transport.cfg
        journal = Journal(deps.store)
        self.supervisor = Supervisor(transport, journal)
        self.access = Access(self.name, transport.platform, self.ccfg, journal)
        self.sessions = Sessions(self.name, deps.store)
        self.outbox = Outbox(transport, deps.store, journal, self.supervisor.note_error)
        self.approvals = ChatApprovals(transport, deps.approvals, self.access, journal)
        self.inbound = InboundHandler(
            transport,
            deps.store,
            deps.turns,
            self.access,
            self.sessions,
            Commands(deps, self.sessions),
            self.outbox,
            self.approvals,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        """Load the channel's state from the store and start its tasks. Never raises:
        a channel that cannot start shows state ``error``."""
        self._stopping = False
        try:
            cursors = await self.d.store.latest_by("cursors", "consumer")
            self.outbox.restore(cursors)
            self.inbound.restore(cursors)
            self.sessions.restore(cursors)
            await self.access.load(self.d.store)
            await self.inbound.load()
            await self.approvals.load(self.d.store)
            await self.transport.open(_Inbox(self.supervisor, self.inbound, self.approvals))
        except Exception as e:
            log.exception("%s: cannot start", self.name)
            await self.supervisor.set_state("error", f"cannot start: {type(e).__name__}: {e}")
            return
        self._tasks = [
            asyncio.create_task(self.supervisor.run(), name=f"channel:{self.name}:receive"),
            asyncio.create_task(self.outbox.run(), name=f"channel:{self.name}:outbox"),
        ]
        self.inbound.spawn(self.approvals.expire_stale(), f"channel:{self.name}:approvals")

    async def stop(self, drain_s: float = 2.0) -> None:
        """Let the outbox catch up for up to ``drain_s`` seconds, then stop everything.
        Calling it again does nothing."""
        if self._stopping:
            return
        if self._tasks and drain_s > 0:
            outbox = self._tasks[-1]
            deadline = time.monotonic() + drain_s
            with contextlib.suppress(Exception):
                while time.monotonic() < deadline and await self.outbox.pending() > 0:
                    if outbox.done():
                        break
                    await asyncio.sleep(DRAIN_POLL_S)
        self._stopping = True
        self.supervisor.stop()
        self.outbox.stop()
        tasks = self._tasks + self.inbound.background()
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_WAIT_S)
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.transport.disconnect()
        with contextlib.suppress(Exception):
            await self.transport.close()
        if self.supervisor.state != "error":
            self.supervisor.state = "stopped"

    def has_code(self, code: str) -> bool:
        """Whether this channel issued pairing ``code``."""
        return self.access.has_code(code)

    async def approve(self, code: str) -> PairingCode:
        """Admit the user who was given ``code`` and welcome them in their chat.

        Raises:
            NotFound: no such code, or it expired. PulseError: the store could not
                queue the welcome (the admission stands).
        """
        entry = await self.access.approve(code)
        await self.inbound.notify(entry.chat, "You're in. Say hello!", {"notice": "paired"})
        return entry

    async def pending(self) -> int:
        """Replies for this channel not yet delivered (nor given up).

        Raises:
            PulseError: the store cannot answer.
        """
        return await self.outbox.pending()

    async def info(self, details: bool = False) -> ChannelInfo:
        """This channel's state; ``details`` adds the latest failed deliveries.

        Raises:
            PulseError: the store cannot answer.
        """
        count, failures = await self.outbox.failures()
        sup = self.supervisor
        return ChannelInfo(
            name=self.name,
            enabled=True,
            state=sup.state,
            identity=sup.identity,
            last_error=sup.last_error,
            last_error_at=sup.last_error_at,
            connected_since=sup.connected_since if sup.state == "connected" else "",
            last_inbound_at=self.inbound.last_inbound_at,
            pending_outbox=await self.outbox.pending(),
            delivered=self.outbox.delivered,
            failed_deliveries=count,
            restarts=sup.restarts,
            allowed_users=self.access.allowed_users,
            paired_users=self.access.paired_users,
            pending_pairings=self.access.pending_pairings(),
            failures=failures if details else [],
        )
