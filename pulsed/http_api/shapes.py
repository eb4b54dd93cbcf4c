"""The JSON objects of OpenAI's Chat Completions API that Pulse answers with:
``chat.completion``, ``chat.completion.chunk`` and ``usage``.

``usage`` is summed from the turn's ``llm_logs`` rows (every LLM call the turn made,
tool iterations and fallback attempts included). Pulse's ``input_tokens`` are the
uncached ones, so ``prompt_tokens`` = input + cache read + cache write, and
``prompt_tokens_details.cached_tokens`` = cache read; ``estimated_cost_usd`` is Pulse's
estimate of the turn's cost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pulsed.agent.events import TurnUsage
from pulsed.errors import PulseError
from pulsed.store.base import Row, Store, make_filters
from pulsed.store.schema import LLM_LOGS

log = logging.getLogger("pulsed.http_api")

USAGE_ROWS_MAX = 1000
"""The most llm_logs rows read for one turn's usage (a turn makes at most
``[agent] max_iterations`` calls, times its fallbacks)."""


def usage_object(
    input_tokens: int, output_tokens: int, cache_read: int, cache_write: int, cost_usd: float
) -> dict[str, Any]:
    """An OpenAI ``usage`` object from Pulse's token counts (cost in USD)."""
    prompt = input_tokens + cache_read + cache_write
    return {
        "prompt_tokens": prompt,
        "completion_tokens": output_tokens,
        "total_tokens": prompt + output_tokens,
        "prompt_tokens_details": {"cached_tokens": cache_read},
        "estimated_cost_usd": round(cost_usd, 6),
    }


def usage_of_rows(logs: Iterable[Row]) -> dict[str, Any]:
    """The summed ``usage`` of ``llm_logs`` rows."""
    sums = [0, 0, 0, 0]
    cost = 0.0
    for r in logs:
        for i, col in enumerate(
            ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        ):
            sums[i] += int(r.get(col) or 0)
        cost += float(r.get("estimated_cost_usd") or 0.0)
    return usage_object(sums[0], sums[1], sums[2], sums[3], cost)


async def turn_usage(store: Store, turn_row: Row, fallback: TurnUsage) -> dict[str, Any]:
    """The ``usage`` of the turn whose input is ``turn_row``, from its ``llm_logs`` rows;
    when the store cannot answer, from the turn's own count (``fallback``), which holds
    the same figures."""
    try:
        logs = await store.query(
            "llm_logs",
            make_filters(
                LLM_LOGS,
                [
                    ("session_id", "eq", str(turn_row["session_id"])),
                    ("turn_id", "eq", str(turn_row["id"])),
                ],
            ),
            since=str(turn_row["timestamp"]),
            order="asc",
            limit=USAGE_ROWS_MAX,
        )
    except PulseError as e:
        log.warning("usage of turn %s from its own count: %s", turn_row["id"], e.message)
        u = fallback
        return usage_object(
            u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.cost_usd
        )
    return usage_of_rows(logs)


def completion(
    completion_id: str, created: int, model: str, text: str, usage: dict[str, Any]
) -> dict[str, Any]:
    """A whole ``chat.completion`` answering with ``text``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": usage,
        "system_fingerprint": None,
    }


def chunk(
    completion_id: str,
    created: int,
    model: str,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk``: a ``delta`` (role and/or content) and the finish
    reason, or (``usage`` given) the last chunk with no choices and the usage."""
    base: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
    }
    if usage is not None:
        return {**base, "choices": [], "usage": usage}
    choice = {"index": 0, "delta": delta or {}, "finish_reason": finish_reason, "logprobs": None}
    return {**base, "choices": [choice]}
