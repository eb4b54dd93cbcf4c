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
    context_block: str = ""
    """The volatile ``<context>`` block put before the new message's text; stored with
    the answer so later turns resend the message byte for byte (the cached prefix)."""


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
        return Prompt(
            system, messages, parts, history_messages=len(messages) - 1, context_block=block
        )

    async def _parts(self, tctx: ToolContext, query: str) -> list[PromptPart]:
        out: list[PromptPart] = []
        for source in self.sources:
            try:
                out.extend(p for p in await source.prompt_parts(tctx, query) if p.text.strip())
            except Exception:
                log.exception("prompt source %s failed; the turn goes on without it", source)
        out.sort(key=lambda p: (not p.stable, p.order, p.name))
        return out

    async def summary(self, session_id: str) -> Row | None:
        """The session's latest ``summary`` row (compaction), or None."""
        filters = make_filters(
            MESSAGES, [("session_id", "eq", session_id), ("message_type", "eq", "summary")]
        )
        found = await self.store.query("messages", filters, order="desc", limit=1)
        return found[0] if found else None

    async def exchanges(self, input_row: Row, after_seq: int = 0) -> list[tuple[Row, Row | None]]:
        """The session's earlier inputs (before ``input_row``, after ``after_seq``) with
        their answers, oldest first: at most ``[agent] history_messages`` inputs' worth."""
        n = max(self.cfg.agent.history_messages, 0)
        if n == 0:
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
            (
                r
                for r in recent
                if r["message_type"] in INPUT_TYPES and after_seq < r.seq < input_row.seq
            ),
            key=lambda r: r.seq,
        )
        return [(r, answers.get(str(r["id"]))) for r in inputs][-n:]

    async def history(self, input_row: Row) -> list[ChatMessage]:
        """What the model sees of the session before ``input_row``: the latest summary
        (when the session was compacted) as a first user message, then the exchanges after
        it — at most ``[agent] history_messages`` messages, each cut at
        ``HISTORY_MESSAGE_CHARS``, starting with a user message."""
        n = self.cfg.agent.history_messages
        if n <= 0:
            return []
        summary = await self.summary(str(input_row["session_id"]))
        after = 0
        msgs: list[ChatMessage] = []
        content = (summary.get("content") or {}) if summary is not None else {}
        covers = int(content.get("covers_until_seq") or 0)
        if summary is not None and covers < input_row.seq:
            # (a summary written during this very turn counts: it covers earlier inputs)
            after = covers
            msgs.append(ChatMessage("user", SUMMARY_HEAD + text_of(summary) + SUMMARY_TAIL))
            msgs.append(ChatMessage("assistant", SUMMARY_ACK))
        earlier: list[ChatMessage] = []
        for r, answer in await self.exchanges(input_row, after):
            sent = (answer.get("content") or {}).get("context", "") if answer else ""
            block = sent if isinstance(sent, str) else ""
            earlier.append(ChatMessage("user", block + _cut(text_of(r))))
            if answer is not None:
                earlier.append(ChatMessage("assistant", _cut(text_of(answer))))
        earlier = earlier[-n:]
        while earlier and earlier[0].role != "user":
            earlier.pop(0)
        return msgs + earlier


HISTORY_MESSAGE_CHARS = 20_000
"""Longest history message sent as it is; longer ones keep their head and tail."""
SUMMARY_HEAD = "<summary of the earlier conversation>\n"
SUMMARY_TAIL = "\n</summary>"
SUMMARY_ACK = "Understood; I have the summary of our earlier conversation."


def _cut(text: str) -> str:
    if len(text) <= HISTORY_MESSAGE_CHARS:
        return text
    half = HISTORY_MESSAGE_CHARS // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half} characters cut …]\n{text[-half:]}"


def fit(
    prompt: Prompt, tools: list[ToolSpec], window_tokens: int, max_tokens: int, cpt: float
) -> tuple[Prompt, int]:
    """``prompt`` with its oldest history messages dropped (after the summary, in whole
    exchanges) until the prompt and ``max_tokens`` of output fit ``window_tokens`` at
    ``cpt`` characters per token; returns it and how many messages were dropped."""
    from pulsed.providers.base import LLMRequest
    from pulsed.providers.pricing import request_chars
    from pulsed.providers.windows import estimate_tokens

    messages = list(prompt.messages)
    keep_head = 2 if messages and messages[0].text.startswith(SUMMARY_HEAD) else 0
    history = prompt.history_messages
    dropped = 0

    def size() -> int:
        req = LLMRequest(prompt.system, messages, tools, max_tokens)
        return estimate_tokens(request_chars(req), cpt) + max_tokens

    while size() > window_tokens and history - keep_head >= 2:
        del messages[keep_head : keep_head + 2]  # one user message and its answer
        history -= 2
        dropped += 2
        while history > keep_head and messages[keep_head].role != "user":
            del messages[keep_head]  # an answer whose question went: start with a user
            history -= 1
            dropped += 1
    if not dropped:
        return prompt, 0
    return (
        Prompt(
            prompt.system,
            messages,
            prompt.parts,
            history_messages=history,
            context_block=prompt.context_block,
        ),
        dropped,
    )


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
