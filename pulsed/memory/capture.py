"""Automatic capture: what an extraction call is asked, how its answer is read, and how
its proposals become memories.

After a chat turn the agent (``pulsed.agent.memory_capture``) sends the exchange with
``SYSTEM`` and at most ``[memory] extract_max_tokens`` of output; the model answers
``{"memories": [{"content": ..., "memory_type": ..., "category": ..., "importance": ...}]}``.
``parse`` reads that leniently (code fences, text around the JSON); ``keep`` stores each
proposal linked to the turn's input message, updating a near-duplicate instead of adding
one and dropping anything secret-looking. Trivial turns (greetings, thanks, a word or
two) are not sent at all (``trivial``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from pulsed.errors import PulseError
from pulsed.memory.guard import secret_reason
from pulsed.memory.ranking import query_terms
from pulsed.memory.service import Memory, MemoryService
from pulsed.store.schema import MEMORY_TYPES

log = logging.getLogger("pulsed.memory")

SYSTEM = """You maintain the long-term memory of a personal assistant. Read one exchange \
between the user and the assistant and list what is worth remembering about the user \
for future conversations: durable facts (names, relationships, places, work, \
possessions), preferences, and standing plans. Skip small talk, one-off requests, \
anything only about this conversation, and anything the assistant said that the user \
did not confirm. Never include passwords, keys, tokens, PINs or other secrets.

Answer with JSON only, no prose:
{"memories": [{"content": "<one self-contained statement about the user>", \
"memory_type": "fact|preference|note", "category": "<one word>", "importance": <0..1>}]}
Answer {"memories": []} when nothing is worth keeping."""

MAX_PROPOSALS = 5
"""Most memories kept from one extraction."""
MIN_WORDS = 3
"""Turns whose message has fewer content words are trivial."""
MAX_EXCHANGE_CHARS = 6000
"""Most characters of the exchange sent to the extraction call."""

_TRIVIAL = re.compile(
    r"(?i)^\W*(hi|hello|hey|yo|thanks?( you)?|thx|ok(ay)?|cool|nice|great|yes|no|yep|"
    r"nope|sure|bye|good (morning|night|evening)|lol|haha)\W*$"
)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One memory the extraction proposed."""

    content: str
    memory_type: str = "fact"
    category: str = ""
    importance: float = 0.5


def trivial(text: str) -> bool:
    """Whether a user message says nothing worth extracting from (a greeting, thanks,
    fewer than ``MIN_WORDS`` content words)."""
    return bool(_TRIVIAL.match(text)) or len(query_terms(text)) < MIN_WORDS


def exchange(user: str, answer: str) -> str:
    """The user message of the extraction call: the exchange, cut to size."""
    half = MAX_EXCHANGE_CHARS // 2
    return f"User:\n{user[:half]}\n\nAssistant:\n{answer[:half]}"


def _json_in(text: str) -> Any:
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    pairs = sorted((("{", "}"), ("[", "]")), key=lambda p: text.find(p[0]) % (len(text) + 1))
    for opener, closer in pairs:
        start, end = text.find(opener), text.rfind(closer)
        if start != -1 and end > start:
            try:
                return json.loads(text[start : end + 1])
            except ValueError:
                continue
    return None


def parse(text: str) -> list[Proposal]:
    """The proposals in an extraction answer (at most ``MAX_PROPOSALS``); none when it
    is not the JSON asked for. Unknown types become ``fact``, importance is clamped to
    0..1, entries without text are dropped."""
    data = _json_in(text)
    items = data.get("memories") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return []
    out: list[Proposal] = []
    for item in items:
        if isinstance(item, str):
            item = {"content": item}
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if not isinstance(content, str) or not content.strip():
            continue
        mtype = str(item.get("memory_type") or "fact").strip().lower()
        imp = item.get("importance", 0.5)
        try:
            importance = min(max(float(imp), 0.0), 1.0)
        except (TypeError, ValueError):
            importance = 0.5
        out.append(
            Proposal(
                content.strip(),
                mtype if mtype in MEMORY_TYPES else "fact",
                str(item.get("category") or "").strip()[:40],
                importance,
            )
        )
    return out[:MAX_PROPOSALS]


async def keep(
    memory: MemoryService, proposals: list[Proposal], session_id: str, message_id: str
) -> list[Memory]:
    """Store ``proposals`` from the turn whose input is ``message_id``: a near-duplicate
    updates its memory, a secret-looking one is dropped (logged without its text).
    Returns the memories added or updated."""
    out = []
    for p in proposals:
        if secret_reason(p.content):
            log.warning("an extracted memory looked like a secret and was not stored")
            continue
        try:
            m, _ = await memory.add(
                p.content,
                memory_type=p.memory_type,
                category=p.category,
                importance=p.importance,
                source_session_id=session_id,
                source_message_id=message_id,
                merge_duplicates=True,
            )
        except PulseError as e:
            log.warning("an extracted memory was not stored: %s", e.message)
            continue
        out.append(m)
    return out
