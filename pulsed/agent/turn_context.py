"""The turn being run, as the loop and the hooks see it: its input row, whether a
person can answer approvals, its event sink and usage, and what its input asks for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pulsed.agent.events import TurnEvent, TurnUsage
from pulsed.agent.intake import origin_of
from pulsed.store.base import Row
from pulsed.tools.base import ToolContext

Emit = Callable[[TurnEvent], None]


@dataclass
class TurnContext:
    """The turn being run: its input row, whether a person can answer approvals, and the
    sink for its events."""

    input: Row
    interactive: bool
    emit: Emit
    usage: TurnUsage = field(default_factory=TurnUsage)
    recovered: bool = False
    """The turn ran before (a crash, a store fault): its recorded tool calls are replayed."""

    @property
    def turn_id(self) -> str:
        return str(self.input["id"])

    @property
    def session_id(self) -> str:
        return str(self.input["session_id"])

    @property
    def light(self) -> bool:
        """A heartbeat-style run: short system prompt, no history, capped output."""
        content = self.input.get("content")
        return isinstance(content, dict) and content.get("light") is True

    @property
    def origin(self) -> str:
        """What llm_logs attributes the spend to: chat | task | heartbeat | trigger."""
        return origin_of(self.input)

    @property
    def temperature(self) -> float | None:
        """The input's sampling temperature (the HTTP API passes a client's), or None."""
        content = self.input.get("content")
        value = content.get("temperature") if isinstance(content, dict) else None
        return float(value) if isinstance(value, int | float) else None

    @property
    def max_tokens(self) -> int:
        """The input's own output cap per call (0: ``[agent] max_tokens``)."""
        content = self.input.get("content")
        value = content.get("max_tokens") if isinstance(content, dict) else None
        return int(value) if isinstance(value, int) and value > 0 else 0

    @property
    def budget_usd(self) -> float:
        """The run's own cap in USD (a task's ``--budget``), 0 for none."""
        content = self.input.get("content")
        value = content.get("budget_usd") if isinstance(content, dict) else None
        return float(value) if isinstance(value, int | float) and value > 0 else 0.0

    @property
    def model(self) -> str:
        """The ``[PROVIDER:]MODEL`` this turn asked for, or '' for the configured chain."""
        content = self.input.get("content")
        model = content.get("model") if isinstance(content, dict) else None
        return model if isinstance(model, str) else ""

    def tool_context(self) -> ToolContext:
        """What the turn's tool calls learn about it."""
        meta = self.input.get("channel_metadata")
        return ToolContext(
            turn_id=self.turn_id,
            session_id=self.session_id,
            source=str(self.input["source"]),
            user_id=str(self.input.get("user_id") or ""),
            interactive=self.interactive,
            origin=self.origin,
            channel_metadata=dict(meta) if isinstance(meta, dict) else {},
        )
