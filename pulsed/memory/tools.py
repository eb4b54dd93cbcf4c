"""The agent's memory tools: remember, recall, forget (policy allow by default).

``remember`` keeps a fact with the turn as its source (a near-duplicate updates the
memory it repeats) and refuses secrets; ``recall`` searches; ``forget`` forgets by id.
Failures the model can act on come back as error results.
"""

from __future__ import annotations

from typing import Any

from pulsed.errors import PulseError
from pulsed.memory.service import Hit, MemoryService
from pulsed.store.schema import MEMORY_TYPES
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput


def hit_line(h: Hit) -> str:
    """One memory as the model reads it: id, date, type (and category), text."""
    m = h.memory
    kind = m.memory_type + (f", {m.category}" if m.category else "")
    return f"- [{m.id}] ({m.updated_at[:10]}, {kind}) {m.content}"


class Remember(Tool):
    """remember(content, memory_type?, category?, importance?)."""

    name = "remember"
    description = (
        "Save a fact, preference or note about the user to long-term memory so it is "
        "recalled in later sessions. One self-contained statement per call. Never save "
        "passwords, keys or tokens."
    )
    parameters = {
        "type": "object",
        "properties": {
            "content": {"type": "string", "description": "the statement to remember"},
            "memory_type": {"type": "string", "enum": list(MEMORY_TYPES)},
            "category": {"type": "string", "description": "optional grouping, e.g. family"},
            "importance": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["content"],
    }

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        importance = args.get("importance", 0.5)
        try:
            m, new = await self.memory.add(
                str(args.get("content", "")),
                memory_type=str(args.get("memory_type") or "note"),
                category=str(args.get("category") or ""),
                importance=importance if importance is not None else 0.5,
                source_session_id=ctx.session_id,
                source_message_id=ctx.turn_id,
                merge_duplicates=True,
            )
        except PulseError as e:
            raise ToolFailure(e.message) from None
        if new:
            return ToolOutput(f"remembered as {m.id}")
        return ToolOutput(f"updated {m.id}, which said nearly the same")


class Recall(Tool):
    """recall(query, k?)."""

    name = "recall"
    description = (
        "Search long-term memory for what is known about a topic; returns matching "
        "memories with their ids and dates (none when nothing matches)."
    )
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "words to look for"},
            "k": {"type": "integer", "minimum": 1, "maximum": 20},
        },
        "required": ["query"],
    }
    idempotent = True

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        k = args.get("k") or 5
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 20:
            raise ToolFailure(f"k must be an integer from 1 to 20, not {k!r}")
        try:
            hits = await self.memory.search(
                str(args.get("query", "")), k, session_id=ctx.session_id
            )
        except PulseError as e:
            raise ToolFailure(e.message) from None
        if not hits:
            return ToolOutput("no memories match")
        return ToolOutput("\n".join(hit_line(h) for h in hits))


class Forget(Tool):
    """forget(id)."""

    name = "forget"
    description = (
        "Forget a memory by its id (as shown in Relevant memories or by recall); it is "
        "never recalled again."
    )
    parameters = {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "the memory's id"}},
        "required": ["id"],
    }

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        try:
            m = await self.memory.forget(str(args.get("id", "")))
        except PulseError as e:
            raise ToolFailure(e.message) from None
        return ToolOutput(f"forgot {m.id}")


def memory_tools(memory: MemoryService) -> list[Tool]:
    """remember, recall and forget over ``memory``."""
    return [Remember(memory), Recall(memory), Forget(memory)]
