"""What runs after a turn has answered: a small port, so parts of the agent (memory
capture) can follow turns without the turn loop knowing them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pulsed.store.base import Row

if TYPE_CHECKING:
    from pulsed.agent.turn_context import TurnContext


class AfterTurn(Protocol):
    """Called once a turn's answer is stored and delivered, in the session's order
    (the session's next turn waits for it); a hook that fails is logged, never retried."""

    async def after_turn(self, ctx: TurnContext, answer: Row) -> None:
        """``ctx`` is the finished turn, ``answer`` its stored agent_response row."""
        ...


class BeforeCompaction(Protocol):
    """Called with the exchanges a compaction is about to summarise, before the summary
    replaces them in later prompts (memory keeps the facts in them first). A hook that
    fails is logged; the compaction goes on."""

    async def before_compaction(self, session_id: str, turn_id: str, conversation: str) -> None:
        """``conversation``: the exchanges as ``USER: ...`` / ``ASSISTANT: ...`` text."""
        ...
