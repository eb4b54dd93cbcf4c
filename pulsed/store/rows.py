"""Builders of the rows the daemon appends, next to the schema they follow.

Each returns the column values of one row (a ``dict`` for ``Store.append``); the store
adds ``id``, ``timestamp`` and ``seq`` where they are left out and checks every value
against ``schema.py``. Building rows here, and only here, keeps one shape per kind of
row however many modules write it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Values = dict[str, Any]
"""The column values of one row to append."""


def _with_id(values: Values, id: str | None) -> Values:
    if id:
        values["id"] = id
    return values


# -- messages -------------------------------------------------------------------------


def turn_input(
    *,
    source: str,
    session_id: str,
    content: Mapping[str, Any],
    message_type: str = "user_input",
    user_id: str = "local",
    channel_metadata: Mapping[str, Any] | None = None,
    target: str = "agent",
    id: str | None = None,
) -> Values:
    """A row that starts a turn: ``user_input`` (a person wrote) or ``scheduled_task``
    (a task's run). ``content`` holds ``text`` and, for runs, the task fields."""
    values: Values = {
        "source": source,
        "target": target,
        "session_id": session_id,
        "message_type": message_type,
        "content": dict(content),
        "user_id": user_id,
    }
    if channel_metadata:
        values["channel_metadata"] = dict(channel_metadata)
    return _with_id(values, id)


def agent_response(
    *,
    session_id: str,
    target: str,
    content: Mapping[str, Any],
    reply_to: str = "",
    user_id: str = "",
    source: str = "agent",
    priority: int = 0,
    id: str | None = None,
) -> Values:
    """An answer: the agent's to input ``reply_to``, or a notice of the daemon's own
    (``source`` system or scheduler, no ``reply_to``). ``content`` holds ``text``."""
    values: Values = {
        "source": source,
        "target": target,
        "session_id": session_id,
        "message_type": "agent_response",
        "content": dict(content),
        "user_id": user_id,
        "reply_to": reply_to,
    }
    if priority:
        values["priority"] = priority
    return _with_id(values, id)


def turn_error(
    *, session_id: str, target: str, reply_to: str, code: str, text: str, user_id: str = ""
) -> Values:
    """The ``error`` row that ends turn ``reply_to`` without an answer."""
    return {
        "source": "agent",
        "target": target,
        "session_id": session_id,
        "message_type": "error",
        "content": {"code": code, "text": text},
        "user_id": user_id,
        "reply_to": reply_to,
    }


def tool_call(
    *, session_id: str, turn_id: str, call_id: str, name: str, arguments: Mapping[str, Any]
) -> Values:
    """The ``tool_call`` row of a call the model made in turn ``turn_id`` (arguments
    already redacted)."""
    return {
        "source": "agent",
        "target": "tool:" + name,
        "session_id": session_id,
        "message_type": "tool_call",
        "content": {"call_id": call_id, "name": name, "arguments": dict(arguments)},
        "reply_to": turn_id,
    }


def tool_result(
    *, session_id: str, turn_id: str, call_id: str, name: str, status: str, text: str
) -> Values:
    """The ``tool_result`` row of call ``call_id``: its status and (a preview of) its text."""
    return {
        "source": "tool:" + name,
        "target": "agent",
        "session_id": session_id,
        "message_type": "tool_result",
        "content": {"call_id": call_id, "name": name, "status": status, "text": text},
        "reply_to": turn_id,
    }


# -- logs -----------------------------------------------------------------------------


def tool_log(
    *,
    session_id: str,
    turn_id: str,
    call_id: str,
    tool: str,
    arguments: Mapping[str, Any],
    status: str,
    duration_ms: float,
    result_preview: str,
    approval: str,
    error_message: str = "",
) -> Values:
    """A ``tool_logs`` row: one tool call, its (redacted) arguments, outcome and the
    approval it ran under (allow | approved | denied | timeout | deny)."""
    return {
        "session_id": session_id,
        "turn_id": turn_id,
        "call_id": call_id,
        "tool": tool,
        "arguments": dict(arguments),
        "status": status,
        "duration_ms": duration_ms,
        "result_preview": result_preview,
        "approval": approval,
        "error_message": error_message,
    }


def llm_call(
    *,
    session_id: str,
    turn_id: str,
    provider: str,
    model: str,
    origin: str,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    estimated_cost_usd: float = 0.0,
    latency_ms: int = 0,
    time_to_first_token_ms: int = 0,
    system_prompt_hash: str = "",
    user_message_preview: str = "",
    assistant_response_preview: str = "",
    tools_called: Sequence[str] = (),
    status: str = "success",
    error_message: str = "",
) -> Values:
    """An ``llm_logs`` row: one LLM call's tokens, USD estimate, timings (milliseconds)
    and outcome (success | error | rate_limited | timeout | refused | cancelled)."""
    return {
        "session_id": session_id,
        "turn_id": turn_id,
        "model": model,
        "provider": provider,
        "origin": origin,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_tokens": cache_read_tokens,
        "cache_write_tokens": cache_write_tokens,
        "total_tokens": input_tokens + output_tokens + cache_read_tokens + cache_write_tokens,
        "estimated_cost_usd": estimated_cost_usd,
        "latency_ms": latency_ms,
        "time_to_first_token_ms": time_to_first_token_ms,
        "system_prompt_hash": system_prompt_hash,
        "user_message_preview": user_message_preview,
        "assistant_response_preview": assistant_response_preview,
        "tools_called": list(tools_called),
        "tool_call_count": len(tools_called),
        "status": status,
        "error_message": error_message,
    }


# -- tasks ----------------------------------------------------------------------------


def task_version(
    *,
    name: str,
    version: int,
    schedule: str,
    prompt: str,
    timezone: str,
    enabled: bool,
    deliver_to: str,
    deleted: bool = False,
    options: Mapping[str, Any] | None = None,
    timestamp: str | None = None,
) -> Values:
    """A ``tasks`` row: version ``version`` (1, then +1 per change) of task ``name``.

    ``schedule`` is a spec of ``pulsed.scheduling.spec``, ``timezone`` an IANA name ('':
    the daemon's zone), ``deliver_to`` none | tui | ``<channel>:<id>``; ``deleted`` marks
    the version that removes the task; ``options`` holds the further settings listed in
    ``pulsed.scheduling.book``; ``timestamp`` (schema datetime text) is when the version
    was written, the store's time when left out."""
    values: Values = {
        "name": name,
        "version": version,
        "schedule": schedule,
        "prompt": prompt,
        "timezone": timezone,
        "enabled": enabled,
        "deliver_to": deliver_to,
        "deleted": deleted,
        "options": dict(options or {}),
    }
    if timestamp:
        values["timestamp"] = timestamp
    return values


def scheduled_run(
    *, task: str, trigger: str, slot: str, version: int, preset: str = "", light: bool = False
) -> dict[str, Any]:
    """The run fields of a ``scheduled_task`` row's content (next to its ``text``): the
    ``task`` and its ``version``, ``trigger`` (schedule | catch_up | manual), ``slot``
    (schema datetime text: the scheduled time the run is for) and, for a preset's run,
    ``preset`` and ``light`` (the light context: short system prompt, no history)."""
    run: dict[str, Any] = {"task": task, "trigger": trigger, "slot": slot, "version": version}
    if preset:
        run["preset"] = preset
        run["light"] = light
    return run


# -- events and cursors ---------------------------------------------------------------


def event(
    event_type: str,
    *,
    source: str,
    payload: Mapping[str, Any],
    severity: str = "info",
    tags: Sequence[str] = (),
) -> Values:
    """An ``events`` row: ``severity`` debug | info | warning | error | critical."""
    return {
        "event_type": event_type,
        "source": source,
        "severity": severity,
        "payload": dict(payload),
        "tags": list(tags),
    }


def cursor(
    *, consumer: str, stream: str, position: int, detail: Mapping[str, Any] | None = None
) -> Values:
    """A ``cursors`` row: consumer ``consumer`` has handled ``stream`` up to ``position``
    (a seq, or a platform's own position); ``detail`` records what was done."""
    values: Values = {"consumer": consumer, "stream": stream, "position": position}
    if detail is not None:
        values["detail"] = dict(detail)
    return values
