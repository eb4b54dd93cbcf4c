"""The daemon's status, gathered in one place for every edge that shows it
(``System.Status``, the channels' ``/status``)."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pulsed import __version__
from pulsed.agent.budget import Budget
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.providers.pool import ProviderPool
from pulsed.store.base import Store


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One enabled channel as the status shows it."""

    name: str
    state: str
    pending_outbox: int = 0
    failed_deliveries: int = 0


@dataclass(frozen=True, slots=True)
class ListenerState:
    """A network listener besides the socket (the HTTP API) as the status shows it.

    ``state``: serving | disabled | off (enabled but cannot start, ``detail`` says why,
    e.g. no token) | error (it failed to bind; ``detail`` has the error) | stopped.
    ``address`` is the URL it serves on, with the bound port (``http://127.0.0.1:8788``);
    ``detail`` says what is wrong and what to do.
    """

    name: str
    state: str
    address: str = ""
    detail: str = ""
    reason: str = ""
    """A few words for a status bar when down: "no token", "cannot listen"..."""


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """A snapshot of the running daemon (times in seconds, money in USD)."""

    version: str
    pid: int
    uptime_s: float
    socket: str
    data_dir: str
    config_path: str
    agent_name: str
    store_backend: str
    store_health: str
    schema_version: int
    provider: str
    model: str
    provider_problem: str
    active_turns: int
    queued_turns: int
    spent_today_usd: float
    budget_daily_usd: float
    channels: list[ChannelState] = field(default_factory=list)
    listeners: list[ListenerState] = field(default_factory=list)


ChannelStates = Callable[[], Awaitable[list[ChannelState]]]


class StatusReporter:
    """Builds ``DaemonStatus`` snapshots from the daemon's parts. The channels, which
    start after the agent, report through ``channel_states`` once they are up."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        turns: TurnManager,
        providers: ProviderPool,
        budget: Budget,
        socket: str,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.turns = turns
        self.providers = providers
        self.budget = budget
        self.socket = socket
        self.started = time.monotonic()
        self.channel_states: ChannelStates | None = None
        self.listener_states: list[Callable[[], ListenerState]] = []
        """Each network listener reports its state through one of these."""

    async def snapshot(self) -> DaemonStatus:
        """The status now.

        Raises:
            StoreError, Unavailable: the store cannot answer.
        """
        name, model = self.providers.chain()[0]
        channels = await self.channel_states() if self.channel_states is not None else []
        return DaemonStatus(
            version=__version__,
            pid=os.getpid(),
            uptime_s=time.monotonic() - self.started,
            socket=self.socket,
            data_dir=str(self.cfg.data_path),
            config_path=self.cfg.source,
            agent_name=self.cfg.agent.name,
            store_backend=self.store.backend,
            store_health=await self.store.health(),
            schema_version=await self.store.schema_version(),
            provider=name,
            model=model,
            provider_problem=self.providers.problem(),
            active_turns=self.turns.active,
            queued_turns=self.turns.queued,
            spent_today_usd=await self.budget.spent_today(),
            budget_daily_usd=self.cfg.budget.daily_usd,
            channels=channels,
            listeners=[state() for state in self.listener_states],
        )
