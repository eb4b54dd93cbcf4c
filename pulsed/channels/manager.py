"""Builds the enabled channels, starts and stops them, and answers for them all."""

from __future__ import annotations

import logging

from pulsed.agent.status import ChannelState
from pulsed.channels.access import PairingCode
from pulsed.channels.channel import Channel, ChannelInfo
from pulsed.channels.deps import ChannelDeps
from pulsed.errors import InvalidArgument, NotFound

log = logging.getLogger("pulsed.channels")

NAMES = ("telegram", "slack")
"""Every channel Pulse knows, in display order."""


def build(deps: ChannelDeps, name: str) -> Channel:
    """The channel ``name`` for ``deps``' config, on its platform's transport (the
    platform's SDK is imported when it opens).

    Raises:
        InvalidArgument: unknown channel name.
    """
    if name == "telegram":
        from pulsed.channels.telegram import TelegramTransport

        return Channel(deps, TelegramTransport(deps.cfg.channels.telegram))
    if name == "slack":
        from pulsed.channels.slack import SlackTransport

        return Channel(deps, SlackTransport(deps.cfg.channels.slack))
    raise InvalidArgument(f"unknown channel {name!r} (channels: {', '.join(NAMES)})")


class ChannelManager:
    """The daemon's channels: those enabled in ``[channels.*]``."""

    def __init__(self, deps: ChannelDeps) -> None:
        self.d = deps
        self.channels: dict[str, Channel] = {}

    async def start(self) -> None:
        """Start every enabled channel. A channel that fails shows state ``error``;
        the daemon runs on."""
        for name in NAMES:
            if getattr(self.d.cfg.channels, name).enabled:
                channel = build(self.d, name)
                self.channels[name] = channel
                await channel.start()
        if self.channels:
            log.info("channels: %s", ", ".join(self.channels))

    async def stop(self) -> None:
        """Stop every channel (the outboxes get a moment to catch up first)."""
        for channel in self.channels.values():
            await channel.stop()

    async def infos(self, name: str = "", details: bool = False) -> list[ChannelInfo]:
        """The state of channel ``name``, or of every known channel (disabled ones too).

        Raises:
            NotFound: unknown channel name.
        """
        if name and name not in NAMES:
            raise NotFound(f"unknown channel {name!r} (channels: {', '.join(NAMES)})")
        out = []
        for n in NAMES:
            if name and n != name:
                continue
            channel = self.channels.get(n)
            if channel is None:
                out.append(ChannelInfo(name=n, enabled=False, state="disabled"))
            else:
                out.append(await channel.info(details))
        return out

    async def states(self) -> list[ChannelState]:
        """The enabled channels, as the daemon's status shows them."""
        return [
            ChannelState(i.name, i.state, i.pending_outbox, i.failed_deliveries)
            for i in await self.infos()
            if i.enabled
        ]

    async def approve(self, code: str) -> tuple[str, PairingCode]:
        """Admit the person who was given pairing ``code``: (channel, their code).

        Raises:
            InvalidArgument: empty code. NotFound: no channel issued it, or it expired.
        """
        code = code.strip().upper()
        if not code:
            raise InvalidArgument("give the pairing code the person received")
        for name, channel in self.channels.items():
            if channel.has_code(code):
                return name, await channel.approve(code)
        enabled = [n for n, c in self.channels.items() if c.ccfg.pairing]
        hint = (
            "codes expire after an hour; ask the person to write to the bot again"
            if enabled
            else "no channel has pairing enabled ([channels.<name>] pairing = true)"
        )
        raise NotFound(f"no pending pairing code {code!r}: {hint}")
