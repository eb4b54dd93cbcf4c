"""What the gRPC servicers share: the daemon's parts, built once by the server before it
serves (nothing in it is filled in later)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.budget import Budget
from pulsed.agent.status import StatusReporter
from pulsed.agent.turns import TurnManager
from pulsed.channels.manager import ChannelManager
from pulsed.config import Config
from pulsed.ingest.appender import Ingestor
from pulsed.mcp.manager import McpManager
from pulsed.memory.service import MemoryService
from pulsed.scheduling.book import TaskBook
from pulsed.scheduling.runner import Scheduler
from pulsed.scheduling.triggers import Triggers
from pulsed.skills.catalog import SkillCatalog
from pulsed.store.base import Store


@dataclass(frozen=True, slots=True)
class ApiDeps:
    """The parts the servicers call: config, store, the turn intake, approvals, budget,
    status, tasks, scheduler, channels, the ingest appender, the stream triggers, the
    skills, the MCP servers and memory."""

    cfg: Config
    store: Store
    turns: TurnManager
    approvals: ApprovalBroker
    budget: Budget
    status: StatusReporter
    book: TaskBook
    scheduler: Scheduler
    channels: ChannelManager
    ingestor: Ingestor
    triggers: Triggers
    skills: SkillCatalog = field(default_factory=lambda: SkillCatalog(()))
    """The SKILL.md skills the agent uses (the server passes the agent's catalog)."""
    request_stop: Callable[[], None] = lambda: None
    """Begin the daemon's graceful stop (System.Stop)."""
    mcp: McpManager | None = None
    memory: MemoryService | None = None
    """Long-term memory (the Memory service); None in servers built without it."""
