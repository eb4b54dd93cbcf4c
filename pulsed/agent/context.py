"""What a turn's prompt is made of: the system prompt, the session's history, and the
new message with the turn's volatile context.

Ordering follows what provider prompt caches need (Anthropic and OpenAI cache the
longest byte-identical prefix of a request): the system prompt holds only what is stable
across the turns of a session (identity, guidelines, tool list, the stable parts of the
``PromptSource``s), the history follows unchanged, and everything that changes per turn
(current time, channel, recalled memories) rides in the new user message — built here
for the request only, never stored, so the next turn's history is the same bytes again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pulsed.agent.prompts import build_system_prompt, light_system_prompt, volatile_block
from pulsed.config import Config
from pulsed.providers.base import ChatMessage, ToolSpec
from pulsed.store.base import Row, Store, make_filters
from pulsed.store.schema import MESSAGES
from pulsed.tools.base import ToolContext
from pulsed.tools.prompt import PromptPart, PromptSource

log = logging.getLogger("pulsed.agent")

INPUT_TYPES = ("user_input", "scheduled_task")


@dataclass(frozen=True, slots=True)
class Prompt:
    """A turn's first request: ``system``, ``messages`` (history, then the new message
    with its volatile block) and the ``parts`` that went into them (for /context)."""

    system: str
    messages: list[ChatMessage]
    parts: list[PromptPart] = field(default_factory=list)
    history_messages: int = 0
    """How many of ``messages`` are earlier history (the rest is the new message)."""


def text_of(row: Row) -> str:
    """The text of a messages row's content (``{"text": ...}``), or its JSON."""
    content = row.get("content")
    if isinstance(content, dict):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        if isinstance(content.get("prompt"), str):
            return str(content["prompt"])
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


class ContextBuilder:
    """Builds the prompt of one turn from the config, the store and the prompt sources."""

    def __init__(self, cfg: Config, store: Store, sources: Sequence[PromptSource] = ()) -> None:
        self.cfg = cfg
        self.store = store
        self.sources = list(sources)

    async def build(
        self,
        input_row: Row,
        tctx: ToolContext,
        specs: list[ToolSpec],
        *,
        light: bool = False,
        now: datetime | None = None,
    ) -> Prompt:
        """The prompt of the turn answering ``input_row`` (light runs: the short system
        prompt, no history, no prompt sources)."""
        now = now or datetime.now().astimezone()
        text = text_of(input_row)
        if light:
            return Prompt(
                light_system_prompt(self.cfg.agent.name, now), [ChatMessage("user", text)]
            )
        parts = await self._parts(tctx, text)
        system = build_system_prompt(
            self.cfg.agent.name,
            specs,
            tctx.session_id,
            self.cfg.agent.instructions,
            [p for p in parts if p.stable],
        )
        history = await self.history(input_row)
        block = volatile_block(now, tctx.source, [p for p in parts if not p.stable])
        messages = merge_roles([*history, ChatMessage("user", block + text)])
        return Prompt(system, messages, parts, history_messages=len(messages) - 1)

    async def _parts(self, tctx: ToolContext, query: str) -> list[PromptPart]:
        out: list[PromptPart] = []
        for source in self.sources:
            try:
                out.extend(p for p in await source.prompt_parts(tctx, query) if p.text.strip())
            except Exception:
                log.exception("prompt source %s failed; the turn goes on without it", source)
        out.sort(key=lambda p: (not p.stable, p.order, p.name))
        return out

    async def history(self, input_row: Row) -> list[ChatMessage]:
        """Earlier exchanges of the session (each input before this one, followed by its
        answer, which may have been stored after this input was queued), at most
        ``[agent] history_messages``, starting with a user message."""
        n = self.cfg.agent.history_messages
        if n <= 0:
            return []
        session_id = str(input_row["session_id"])
        filters = make_filters(MESSAGES, [("session_id", "eq", session_id)])
        recent = await self.store.query("messages", filters, order="desc", limit=n * 4 + 20)
        answers = {
            str(r["reply_to"]): r
            for r in recent
            if r["message_type"] == "agent_response" and r["reply_to"]
        }
        inputs = sorted(
            (r for r in recent if r["message_type"] in INPUT_TYPES and r.seq < input_row.seq),
            key=lambda r: r.seq,
        )
        msgs: list[ChatMessage] = []
        for r in inputs:
            msgs.append(ChatMessage("user", text_of(r)))
            answer = answers.get(str(r["id"]))
            if answer is not None:
                msgs.append(ChatMessage("assistant", text_of(answer)))
        msgs = msgs[-n:]
        while msgs and msgs[0].role != "user":
            msgs.pop(0)
        return msgs


def merge_roles(msgs: list[ChatMessage]) -> list[ChatMessage]:
    """Join consecutive user (or assistant) text messages: providers want alternation,
    and a crash can leave two user messages in a row."""
    out: list[ChatMessage] = []
    for m in msgs:
        if (
            out
            and out[-1].role == m.role
            and m.role in ("user", "assistant")
            and not out[-1].tool_calls
        ):
            out[-1] = ChatMessage(m.role, out[-1].text + "\n\n" + m.text)
        else:
            out.append(m)
    return out
