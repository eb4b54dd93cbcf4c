"""Keeps a transport's receiving side up: connect, receive, watch for stalls, reconnect
with backoff, and report the state (``channel_state`` events, ``pulsectl channels``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Literal

from pulsed.channels.journal import Journal
from pulsed.channels.transport import ConnectError, Transport, describe
from pulsed.store import rows
from pulsed.store.base import now_iso

log = logging.getLogger("pulsed.channels")

State = Literal["disabled", "stopped", "connecting", "connected", "reconnecting", "error"]
"""A channel's state as ``pulsectl channels`` shows it."""

CONNECT_TIMEOUT_S = 60.0
"""Longest a connect (credentials check and connection) may take."""

BACKOFF_FIRST_S = 1.0
"""Pause before the first reconnect; it doubles after each failure."""

BACKOFF_MAX_S = 60.0
"""Longest pause between reconnects."""

BACKOFF_PERMANENT_S = 300.0
"""Pause after the platform refused the credentials (state ``error``)."""


class Stalled(Exception):
    """The receiver showed no sign of life within the watchdog's limit."""


class Supervisor:
    """Runs ``transport``'s receiver and owns the channel's connection state.

    Attributes:
        state: where the connection is (see ``State``).
        identity: the bot's name on the platform, once connected (``@pulse``).
        last_error: the latest problem, connecting or sending; ``last_error_at`` when
            (ISO 8601, UTC).
        connected_since: when the state last became ``connected`` (ISO 8601, UTC).
        restarts: receivers replaced by the watchdog since the daemon started.
    """

    def __init__(self, transport: Transport, journal: Journal) -> None:
        self.transport = transport
        self.name = transport.name
        self.journal = journal
        self.state: State = "stopped"
        self.identity = ""
        self.last_error = ""
        self.last_error_at = ""
        self.connected_since = ""
        self.restarts = 0
        self._alive = time.monotonic()
        self._stopping = False

    def alive(self) -> None:
        """The receiver is working (called at each poll, ping or message)."""
        self._alive = time.monotonic()

    def note_error(self, error: str) -> None:
        """Remember ``error`` as the channel's latest problem (shown in its status)."""
        self.last_error = error
        self.last_error_at = now_iso()

    async def set_state(self, state: State, error: str = "") -> None:
        """Move to ``state`` (``error`` says why); a change is logged and becomes a
        ``channel_state`` event."""
        old = self.state
        self.state = state
        if error:
            self.note_error(error)
        if state == "connected":
            self.connected_since = now_iso()
        if state == old:
            return
        log.log(
            logging.WARNING if error else logging.INFO,
            "%s: %s%s",
            self.name,
            state,
            f" ({error})" if error else "",
        )
        await self.journal.write(
            rows.channel_state(self.name, state=state, previous=old, error=error)
        )

    async def link(self, up: bool, reason: str = "") -> None:
        """The connection came up or dropped inside the platform's SDK: the state
        follows (``connected`` / ``reconnecting``)."""
        if up and self.state != "connected":
            await self.set_state("connected")
        elif not up and self.state == "connected":
            await self.set_state("reconnecting", reason)

    def stop(self) -> None:
        """Make ``run`` end after the current attempt (the channel cancels it too)."""
        self._stopping = True

    async def run(self) -> None:
        """Connect, receive, watch; on failure or stall reconnect with backoff. Runs
        until cancelled or stopped; never raises otherwise."""
        self._stopping = False
        delay = BACKOFF_FIRST_S
        first = True
        while not self._stopping:
            await self.set_state("connecting" if first else "reconnecting")
            first = False
            try:
                self.identity = await asyncio.wait_for(
                    self.transport.connect(), timeout=CONNECT_TIMEOUT_S
                )
                await self.set_state("connected")
                delay = BACKOFF_FIRST_S
                self.alive()
                await self._watch()
            except asyncio.CancelledError:
                raise
            except ConnectError as e:
                if e.permanent:
                    await self.set_state("error", e.message)
                    delay = BACKOFF_PERMANENT_S
                else:
                    await self.set_state("reconnecting", e.message)
            except Stalled as e:
                self.restarts += 1
                await self.set_state("reconnecting", str(e))
                await self.journal.write(rows.channel_restarted(self.name, reason=str(e)))
            except Exception as e:
                log.debug("%s: receiver failed", self.name, exc_info=True)
                await self.set_state("reconnecting", describe(e))
            with contextlib.suppress(Exception):
                await self.transport.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _watch(self) -> None:
        """Run the receiver; raise when it ends or stays silent past the stall limit.

        Raises:
            ConnectError: the receiver ended. Stalled: no sign of life in time.
            Exception: whatever the receiver raised.
        """
        recv = asyncio.create_task(self.transport.receive(), name=f"channel:{self.name}:recv")
        limit = self.transport.stall_limit()
        tick = max(0.05, min(limit / 4, 5.0))
        try:
            while True:
                done, _ = await asyncio.wait({recv}, timeout=tick)
                if recv in done:
                    recv.result()
                    raise ConnectError("the receiver ended")
                idle = time.monotonic() - self._alive
                if idle > limit:
                    raise Stalled(f"no sign of life for {idle:.0f} s; restarting the receiver")
        finally:
            if not recv.done():
                recv.cancel()
                with contextlib.suppress(BaseException):
                    await recv
