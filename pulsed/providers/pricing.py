"""What an LLM call costs, estimated from its token usage.

Prices are USD per million tokens: input (uncached), output, cache read, cache write.
Usage follows Pulse's convention (see ``pulsed.providers.openai``): ``input_tokens`` is
the uncached part of the prompt and excludes ``cache_read_tokens`` and
``cache_write_tokens``, as Anthropic reports it; the OpenAI adapter subtracts
``cached_tokens`` from ``prompt_tokens`` to match. So a call costs::

    (input * price.input + output * price.output
     + cache_read * price.cache_read + cache_write * price.cache_write) / 1e6

Matching: the model name is lower-cased, stripped of a router's ``vendor/`` prefix
(OpenRouter's ``anthropic/claude-sonnet-4.5``) and has dots turned into dashes (so
``claude-sonnet-4.5`` and ``gpt-4.1`` meet the table's spelling). Then the longest table
entry that is a prefix of it wins, provided what follows the prefix is only a snapshot
suffix: a date (``-20250929``, ``-2024-08-06``), ``-latest``, ``-0``, ``-vN``, or an
``@``/``:`` variant (``@20250929``, ``:free``, ``:thinking``). So
``claude-sonnet-4-5-20250929`` is Sonnet 4.5, but ``gpt-5.5`` is *not* priced as ``gpt-5``:
a model the table does not know is priced at the priciest rates in the table
(``UNKNOWN``), so that budgets err on the safe side; ``is_known`` lets the daemon warn.

Ollama runs locally: its models cost 0. OpenRouter's ``:free`` variants cost 0.
OpenAI charges nothing extra for cache writes, so its cache-write price is its input price.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pulsed.providers.base import LLMRequest, Usage

ANTHROPIC_SOURCE = "https://www.anthropic.com/pricing#api"
"""Also published at https://docs.anthropic.com/en/docs/about-claude/pricing."""
OPENAI_SOURCE = "https://openai.com/api/pricing/"

LONG_CONTEXT_TOKENS = 200_000
"""Prompts longer than this (input + cache read + cache write) use ``Price.long_context``."""


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens, where the figure comes from (``source``) and the date it
    held on (``as_of``: the model's release or price change, or the date the published
    table was read)."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    source: str = ""
    as_of: str = ""
    long_context: Price | None = None
    """Rates for prompts over 200K tokens, where the provider charges more (Sonnet 4/4.5)."""


def _anthropic(
    inp: float, out: float, read: float, write: float, as_of: str, long: Price | None = None
) -> Price:
    return Price(inp, out, read, write, ANTHROPIC_SOURCE, as_of, long)


def _openai(inp: float, out: float, cached: float, as_of: str) -> Price:
    return Price(inp, out, cached, inp, OPENAI_SOURCE, as_of)


_SONNET_LONG = Price(6.0, 22.5, 0.60, 7.50, ANTHROPIC_SOURCE, "2025-08-12")

# Cache write = Anthropic's 5-minute cache write (1.25x input); cache read = cache hits.
PRICES: dict[str, Price] = {
    # Anthropic
    "claude-opus-4-5": _anthropic(5.0, 25.0, 0.50, 6.25, "2025-11-24"),
    "claude-opus-4-1": _anthropic(15.0, 75.0, 1.50, 18.75, "2025-08-05"),
    "claude-opus-4": _anthropic(15.0, 75.0, 1.50, 18.75, "2025-05-22"),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0, 0.30, 3.75, "2025-09-29", _SONNET_LONG),
    "claude-sonnet-4": _anthropic(3.0, 15.0, 0.30, 3.75, "2025-05-22", _SONNET_LONG),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0, 0.30, 3.75, "2025-08-05"),
    "claude-3-5-sonnet": _anthropic(3.0, 15.0, 0.30, 3.75, "2025-08-05"),
    "claude-haiku-4-5": _anthropic(1.0, 5.0, 0.10, 1.25, "2025-10-15"),
    "claude-3-5-haiku": _anthropic(0.80, 4.0, 0.08, 1.00, "2025-08-05"),
    "claude-3-haiku": _anthropic(0.25, 1.25, 0.03, 0.30, "2025-08-05"),
    # OpenAI (standard tier; cached = cached input)
    "gpt-5.2": _openai(1.75, 14.0, 0.175, "2025-12-11"),
    "gpt-5.1": _openai(1.25, 10.0, 0.125, "2025-11-13"),
    "gpt-5": _openai(1.25, 10.0, 0.125, "2025-08-07"),
    "gpt-5-chat": _openai(1.25, 10.0, 0.125, "2025-08-07"),
    "gpt-5-mini": _openai(0.25, 2.0, 0.025, "2025-08-07"),
    "gpt-5-nano": _openai(0.05, 0.40, 0.005, "2025-08-07"),
    "gpt-4.1": _openai(2.0, 8.0, 0.50, "2025-04-14"),
    "gpt-4.1-mini": _openai(0.40, 1.60, 0.10, "2025-04-14"),
    "gpt-4.1-nano": _openai(0.10, 0.40, 0.025, "2025-04-14"),
    "gpt-4o": _openai(2.50, 10.0, 1.25, "2024-10-01"),
    "gpt-4o-2024-05-13": _openai(5.0, 15.0, 5.0, "2024-05-13"),  # first snapshot, no caching
    "gpt-4o-mini": _openai(0.15, 0.60, 0.075, "2024-10-01"),
    "o4-mini": _openai(1.10, 4.40, 0.275, "2025-04-16"),
    "o3": _openai(2.0, 8.0, 0.50, "2025-06-10"),
    "o3-mini": _openai(1.10, 4.40, 0.55, "2025-01-31"),
    "o1": _openai(15.0, 60.0, 7.50, "2024-12-17"),
}

UNKNOWN = Price(
    input=max(p.input for p in PRICES.values()),
    output=max(p.output for p in PRICES.values()),
    cache_read=max(p.cache_read for p in PRICES.values()),
    cache_write=max(p.cache_write for p in PRICES.values()),
    source="the priciest rates of this table",
)
"""What a paid model the table does not know is charged: the dearest rate of each kind."""

FREE = Price(0.0, 0.0, 0.0, 0.0, source="runs locally or a free variant")

_SUFFIX = re.compile(r"(?:-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest|0|v\d+))?(?:[@:].*)?")


def _normalise(model: str) -> str:
    name = model.strip().lower()
    name = name.rsplit("/", 1)[-1]
    return name.replace(".", "-")


_TABLE = sorted(((_normalise(k), v) for k, v in PRICES.items()), key=lambda kv: -len(kv[0]))


def lookup(model: str) -> Price | None:
    """The table's price for ``model`` (see the module docstring), or None."""
    name = _normalise(model)
    for key, price in _TABLE:
        if name.startswith(key) and _SUFFIX.fullmatch(name[len(key) :]):
            return price
    return None


def _is_free(provider: str, model: str) -> bool:
    return provider == "ollama" or (provider == "openrouter" and model.strip().endswith(":free"))


def price_for(provider: str, model: str) -> Price:
    """The rates a call to ``model`` on ``provider`` is charged at (``UNKNOWN`` if unknown)."""
    if _is_free(provider, model):
        return FREE
    return lookup(model) or UNKNOWN


def is_known(provider: str, model: str) -> bool:
    """Whether ``model`` on ``provider`` has a real price (False: charged at ``UNKNOWN``)."""
    return _is_free(provider, model) or lookup(model) is not None


def estimate_cost(provider: str, model: str, usage: Usage) -> float:
    """Estimated USD cost of one call with ``usage`` (see the module docstring)."""
    price = price_for(provider, model)
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    if price.long_context is not None and prompt > LONG_CONTEXT_TOKENS:
        price = price.long_context
    return (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_write_tokens * price.cache_write
    ) / 1_000_000


CHARS_PER_TOKEN_ESTIMATE = 3
"""Characters per token when guessing a prompt's size before the call. Tokenizers give
about 4 characters of English per token (OpenAI's "What are tokens" help article); 3 errs
towards a higher estimate, as a budget should."""


def request_chars(request: LLMRequest) -> int:
    """Characters of a request's prompt: system, message texts and tool calls, and the
    tool specs (names, descriptions, JSON Schemas)."""
    chars = len(request.system)
    for m in request.messages:
        chars += len(m.text) + sum(
            len(c.name) + len(json.dumps(c.arguments, ensure_ascii=False)) for c in m.tool_calls
        )
    for t in request.tools:
        chars += len(t.name) + len(t.description) + len(json.dumps(t.parameters))
    return chars


def max_cost(provider: str, model: str, request: LLMRequest) -> float:
    """The most USD ``request`` can cost on ``model``: its prompt (system, messages, tool
    specs; estimated at ``CHARS_PER_TOKEN_ESTIMATE``) as uncached input, plus all of its
    ``max_tokens`` as output."""
    chars = request_chars(request)
    usage = Usage(
        input_tokens=chars // CHARS_PER_TOKEN_ESTIMATE + 1, output_tokens=request.max_tokens
    )
    return estimate_cost(provider, model, usage)
