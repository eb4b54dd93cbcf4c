"""What tool families add to a turn's prompt besides their tool schemas.

A ``PromptSource`` (memory's recall, the skills index, the identity files) returns
``PromptPart``s for a turn. Stable parts go into the system prompt, which must stay
byte-identical across the turns of a session so provider prompt caches hit: a stable
part may change only when what it shows changes (an edited SOUL.md, a new skill), never
per turn. Volatile parts (the current time, recalled memories) go into the turn's own
user message, after the cached prefix. ``Chat.Context`` reports the same parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pulsed.tools.base import ToolContext


@dataclass(frozen=True, slots=True)
class PromptPart:
    """One part of a turn's prompt.

    Attributes:
        name: what it is, for /context and ordering (``identity:SOUL.md``, ``skills``,
            ``memories``); stable parts are placed in ``order``, then by name.
        title: its Markdown heading in the prompt ("Relevant memories").
        text: its body; an empty part is left out.
        stable: system prompt (True) or the turn's user message (False).
        order: position among the stable parts (identity 10, skills 20, ...).
    """

    name: str
    title: str
    text: str
    stable: bool
    order: int = 50


class PromptSource(Protocol):
    """Contributes parts to each full (non-light) turn's prompt."""

    async def prompt_parts(self, ctx: ToolContext, query: str) -> Sequence[PromptPart]:
        """The parts for the turn ``ctx`` whose new user message is ``query``.

        A source that fails raises; the turn goes on without its parts and the failure
        is logged (a recall outage must not stop the agent from answering).
        """
        ...
