"""The ``llm_logs`` row of one LLM call, built the same way for every caller (the turn
loop, compaction, memory capture)."""

from __future__ import annotations

import hashlib
import time

from pulsed.providers.base import LLMRequest, LLMResponse, ProviderError
from pulsed.store import rows

PREVIEW_CHARS = 200


def call_status(err: ProviderError | None) -> str:
    """success, or the llm_logs status of a failed call (rate_limited | timeout | error)."""
    if err is None:
        return "success"
    return {"rate_limited": "rate_limited", "timeout": "timeout"}.get(err.kind, "error")


def call_row(
    *,
    session_id: str,
    turn_id: str,
    provider: str,
    model: str,
    origin: str,
    request: LLMRequest,
    resp: LLMResponse | None,
    cost_usd: float,
    started: float,
    status: str,
    error: str = "",
    preview: str = "",
) -> rows.Values:
    """The row of a call to ``model`` on ``provider`` that began at ``started``
    (``time.monotonic()``) and answered ``resp`` (None: it failed or was refused)."""
    usage = resp.usage if resp else None
    return rows.llm_call(
        session_id=session_id,
        turn_id=turn_id,
        provider=provider,
        model=resp.model if resp and resp.model else model,
        origin=origin,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cache_read_tokens=usage.cache_read_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        estimated_cost_usd=cost_usd,
        latency_ms=resp.latency_ms if resp else int((time.monotonic() - started) * 1000),
        time_to_first_token_ms=resp.time_to_first_token_ms if resp else 0,
        system_prompt_hash=hashlib.sha256(request.system.encode()).hexdigest(),
        user_message_preview=preview[:PREVIEW_CHARS],
        assistant_response_preview=resp.text[:PREVIEW_CHARS] if resp else "",
        tools_called=[c.name for c in resp.tool_calls] if resp else [],
        status=status,
        error_message=error,
    )
