"""Context windows: how many tokens of prompt (input, cache reads and writes, plus the
output it leaves room for) a model accepts.

Matching is the pricing table's (``pulsed.providers.pricing.lookup`` rules: lower-cased,
router prefix dropped, dots as dashes, longest prefix with only a snapshot suffix after
it). ``[agent] context_window`` overrides the table for every model; a model the table
does not know gets ``UNKNOWN_WINDOW``, small enough that compaction starts early rather
than the provider refusing the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANTHROPIC_SOURCE = "https://docs.anthropic.com/en/docs/about-claude/models/overview"
OPENAI_SOURCE = "https://platform.openai.com/docs/models"
OLLAMA_SOURCE = "https://ollama.com/library (model cards; Ollama's default num_ctx is lower)"


@dataclass(frozen=True, slots=True)
class Window:
    """A model's context window in tokens and where the figure comes from."""

    tokens: int
    source: str


WINDOWS: dict[str, Window] = {
    # Anthropic: 200K for every current model (Sonnet 4/4.5 offer 1M in beta only).
    "claude-opus-4-5": Window(200_000, ANTHROPIC_SOURCE),
    "claude-opus-4-1": Window(200_000, ANTHROPIC_SOURCE),
    "claude-opus-4": Window(200_000, ANTHROPIC_SOURCE),
    "claude-sonnet-4-5": Window(200_000, ANTHROPIC_SOURCE),
    "claude-sonnet-4": Window(200_000, ANTHROPIC_SOURCE),
    "claude-3-7-sonnet": Window(200_000, ANTHROPIC_SOURCE),
    "claude-3-5-sonnet": Window(200_000, ANTHROPIC_SOURCE),
    "claude-haiku-4-5": Window(200_000, ANTHROPIC_SOURCE),
    "claude-3-5-haiku": Window(200_000, ANTHROPIC_SOURCE),
    "claude-3-haiku": Window(200_000, ANTHROPIC_SOURCE),
    # OpenAI
    "gpt-5.2": Window(400_000, OPENAI_SOURCE),
    "gpt-5.1": Window(400_000, OPENAI_SOURCE),
    "gpt-5": Window(400_000, OPENAI_SOURCE),
    "gpt-5-chat": Window(128_000, OPENAI_SOURCE),
    "gpt-5-mini": Window(400_000, OPENAI_SOURCE),
    "gpt-5-nano": Window(400_000, OPENAI_SOURCE),
    "gpt-4.1": Window(1_047_576, OPENAI_SOURCE),
    "gpt-4.1-mini": Window(1_047_576, OPENAI_SOURCE),
    "gpt-4.1-nano": Window(1_047_576, OPENAI_SOURCE),
    "gpt-4o": Window(128_000, OPENAI_SOURCE),
    "gpt-4o-mini": Window(128_000, OPENAI_SOURCE),
    "o4-mini": Window(200_000, OPENAI_SOURCE),
    "o3": Window(200_000, OPENAI_SOURCE),
    "o3-mini": Window(200_000, OPENAI_SOURCE),
    "o1": Window(200_000, OPENAI_SOURCE),
    # Common local models (their trained context; Ollama serves less unless num_ctx is set)
    "llama3.2": Window(128_000, OLLAMA_SOURCE),
    "llama3.1": Window(128_000, OLLAMA_SOURCE),
    "qwen2.5": Window(32_768, OLLAMA_SOURCE),
    "mistral": Window(32_768, OLLAMA_SOURCE),
}

UNKNOWN_WINDOW = Window(32_768, "not in the table: a cautious default; set [agent] context_window")

_SUFFIX = re.compile(r"(?:-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest|0|v\d+))?(?:[@:].*)?")


def _normalise(model: str) -> str:
    return model.strip().lower().rsplit("/", 1)[-1].replace(".", "-")


_TABLE = sorted(((_normalise(k), v) for k, v in WINDOWS.items()), key=lambda kv: -len(kv[0]))


def lookup(model: str) -> Window | None:
    """The table's window for ``model``, or None when the table does not know it."""
    name = _normalise(model)
    for key, window in _TABLE:
        if name.startswith(key) and _SUFFIX.fullmatch(name[len(key) :]):
            return window
    return None


def window_for(model: str, override: int = 0) -> Window:
    """The window a prompt to ``model`` must fit: ``override`` ([agent] context_window)
    when above 0, else the table's, else ``UNKNOWN_WINDOW``."""
    if override > 0:
        return Window(override, "[agent] context_window")
    return lookup(model) or UNKNOWN_WINDOW


CHARS_PER_TOKEN = 4.0
"""Characters per token of English text for prompt-size estimates (OpenAI's "What are
tokens" help article: about 4 characters per token); sessions calibrate it from what the
provider reported for their previous call."""


def estimate_tokens(chars: int, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """Tokens of ``chars`` characters at ``chars_per_token`` (rounded up; 0 for none)."""
    if chars <= 0:
        return 0
    return int(chars / max(chars_per_token, 0.5)) + 1
