"""Events a running turn emits to the clients watching it (never stored as such)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("accepted", "delta", "tool_call", "approval_request", "tool_result", "final", "error")
TERMINAL = ("final", "error")


@dataclass(slots=True)
class TurnEvent:
    """``kind`` is one of ``KINDS``; ``data`` holds the fields of the matching
    ``pulse.v1.TurnEvent`` member (e.g. delta: {"text": ...})."""

    kind: str
    turn_id: str
    session_id: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL
