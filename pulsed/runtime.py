"""What the servicers share: the parts of a running daemon, built once by the server."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pulsed.agent.loop import AgentDeps
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.store.base import Store
from pulsed.tasks import TaskBook

if TYPE_CHECKING:
    from pulsed.channels.manager import ChannelManager


@dataclass
class Runtime:
    """The running daemon's parts. ``socket`` is the path it listens on."""

    cfg: Config
    store: Store
    deps: AgentDeps
    turns: TurnManager
    tasks: TaskBook
    socket: str
    started: float = field(default_factory=time.monotonic)
    channels: ChannelManager | None = None
    """Set once the channels have started."""
