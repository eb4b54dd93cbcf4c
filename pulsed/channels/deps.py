"""What a channel needs from the daemon: config, store, the turn intake and status."""

from __future__ import annotations

from dataclasses import dataclass

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.status import StatusReporter
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.store.base import Store


@dataclass(frozen=True, slots=True)
class ChannelDeps:
    """The parts channels use: ``cfg`` (the agent's name and budget for the commands;
    each channel's table is its transport's), ``store`` (cursors, events, the
    outbox's rows), ``turns`` (the one way to start a turn, ``TurnManager.start``),
    ``status`` (``DaemonStatus`` for ``/status``, shared with ``System.Status``) and
    ``approvals`` (the broker that "ask" tools wait on; None: channel turns cannot ask,
    such tools are denied)."""

    cfg: Config
    store: Store
    turns: TurnManager
    status: StatusReporter
    approvals: ApprovalBroker | None = None
