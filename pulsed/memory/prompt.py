"""Relevant memories in each full turn's context (a volatile ``PromptPart``).

The part goes into the ``<context>`` block of the turn's new user message, after the
stable system prompt, so provider prompt caches still hit; light runs (heartbeats) get
no prompt sources at all. Each memory is shown with its id and date.
"""

from __future__ import annotations

from collections.abc import Sequence

from pulsed.memory.service import MemoryService
from pulsed.memory.tools import hit_line
from pulsed.tools.base import ToolContext
from pulsed.tools.prompt import PromptPart

TITLE = "Relevant memories"


class MemoryPrompt:
    """The ``PromptSource`` of recall: memories relevant to the new user message."""

    def __init__(self, memory: MemoryService) -> None:
        self.memory = memory

    def __repr__(self) -> str:
        return "MemoryPrompt"

    async def prompt_parts(self, ctx: ToolContext, query: str) -> Sequence[PromptPart]:
        """One volatile part listing the recalled memories; none when nothing is
        relevant."""
        hits = await self.memory.recall(query, session_id=ctx.session_id)
        if not hits:
            return []
        text = "\n".join(hit_line(h) for h in hits)
        return [PromptPart("memories", TITLE, text, stable=False, order=60)]
