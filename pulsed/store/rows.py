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


def summary(
    *,
    session_id: str,
    text: str,
    covers_until_seq: int,
    covered_messages: int,
    previous: str = "",
    instructions: str = "",
) -> Values:
    """The ``summary`` row of a compaction: ``text`` stands for the session's inputs and
    answers up to ``covers_until_seq`` (``covered_messages`` of them, including what the
    ``previous`` summary row, if any, covered). Nothing it covers is deleted."""
    return {
        "source": "agent",
        "target": "none",
        "session_id": session_id,
        "message_type": "summary",
        "content": {
            "text": text,
            "covers_until_seq": covers_until_seq,
            "covered_messages": covered_messages,
            "previous": previous,
            "instructions": instructions,
        },
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
        "duration_ms": round(duration_ms, 2),  # no float noise in JSON
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
        "estimated_cost_usd": round(estimated_cost_usd, 10),  # no float noise in JSON
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


def trigger_run(
    *,
    task: str,
    version: int,
    stream: str,
    after_seq: int,
    upto_seq: int,
    seqs: Sequence[int],
    depth: int,
    trigger: str = "stream",
) -> dict[str, Any]:
    """The run fields of a ``trigger`` row's content (next to its ``text``): the
    ``task`` and its ``version``, ``trigger`` (stream | test), the ``stream`` it
    consumes, the rows it carries (``seqs``) and the seq range it covers: every
    matching row with ``after_seq < seq <= upto_seq`` is handled by this run or an
    earlier one (recovery resumes the trigger's cursor from ``upto_seq``); ``depth``
    counts the triggers chained before it (1: the rows came from outside)."""
    return {
        "task": task,
        "version": version,
        "trigger": trigger,
        "stream": stream,
        "after_seq": after_seq,
        "upto_seq": upto_seq,
        "seqs": list(seqs),
        "rows": len(seqs),
        "depth": depth,
    }


# -- ingest ---------------------------------------------------------------------------


def ingest_row(
    *,
    source: str,
    payload: Any,
    kind: str = "",
    dedupe_key: str = "",
    tags: Sequence[str] = (),
    id: str | None = None,
) -> Values:
    """An ``ingest`` row: data from outside. ``source`` is ``webhook:<route>``,
    ``feed:<name>``, ``cli``...; ``kind`` what it is (a webhook's event name, ``entry``
    for a feed); ``payload`` any JSON value; ``dedupe_key`` ('' = none) makes a later
    row with the same key a duplicate that is dropped."""
    values: Values = {
        "source": source,
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "tags": list(tags),
    }
    return _with_id(values, id)


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


# == channels (pulsed/channels) =======================================================
# Rows the chat channels write: their events (source ``channel:<name>``), the cursor
# rows of their outbox, inbound position and sessions. Answers and notices they queue
# are ``agent_response`` rows (above) with source ``system``.


def channel_event(
    channel: str, event_type: str, payload: Mapping[str, Any], *, severity: str = "info"
) -> Values:
    """An ``events`` row of channel ``channel``: source ``channel:<channel>``, the channel
    named in the payload and the tags."""
    return event(
        event_type,
        source=f"channel:{channel}",
        payload={"channel": channel, **payload},
        severity=severity,
        tags=("channel", channel),
    )


def channel_state(channel: str, *, state: str, previous: str, error: str = "") -> Values:
    """``channel_state``: the channel moved from ``previous`` to ``state`` (error when
    the state is ``error``, warning when ``error`` says why it changed, else info)."""
    severity = "error" if state == "error" else ("warning" if error else "info")
    return channel_event(
        channel,
        "channel_state",
        {"state": state, "previous": previous, "error": error},
        severity=severity,
    )


def channel_restarted(channel: str, *, reason: str) -> Values:
    """``channel_restarted`` (warning): the watchdog replaced a stalled receiver."""
    return channel_event(channel, "channel_restarted", {"reason": reason}, severity="warning")


def channel_refused(
    channel: str, *, user_id: str, user_name: str, chat: str, suppressed_since_last: int
) -> Values:
    """``channel_refused`` (warning): a stranger was turned away; ``suppressed_since_last``
    counts their messages dropped without an answer since the previous refusal."""
    return channel_event(
        channel,
        "channel_refused",
        {
            "user_id": user_id,
            "user_name": user_name,
            "chat": chat,
            "suppressed_since_last": suppressed_since_last,
        },
        severity="warning",
    )


def channel_pairing_code(
    channel: str, *, code: str, expires_at: str, user_id: str, user_name: str, chat: str
) -> Values:
    """``channel_pairing_code``: a stranger in ``chat`` was given ``code``, valid until
    ``expires_at`` (ISO 8601, UTC)."""
    return channel_event(
        channel,
        "channel_pairing_code",
        {
            "code": code,
            "expires_at": expires_at,
            "user_id": user_id,
            "user_name": user_name,
            "chat": chat,
        },
    )


def channel_paired(channel: str, *, user_id: str, user_name: str, code: str) -> Values:
    """``channel_paired``: the owner admitted ``user_id`` with pairing ``code``; the
    admission lasts (the channel reads these events when it starts)."""
    return channel_event(
        channel, "channel_paired", {"user_id": user_id, "user_name": user_name, "code": code}
    )


def channel_delivery_failed(
    channel: str, *, message_id: str, target: str, session_id: str, error: str, attempts: int
) -> Values:
    """``channel_delivery_failed`` (error): answer ``message_id`` for ``target`` was given
    up after ``attempts`` sends."""
    return channel_event(
        channel,
        "channel_delivery_failed",
        {
            "message_id": message_id,
            "target": target,
            "session_id": session_id,
            "error": error,
            "attempts": attempts,
        },
        severity="error",
    )


def channel_delivery_uncertain(
    channel: str, *, message_id: str, target: str, part: int, parts: int, outcome: str
) -> Values:
    """``channel_delivery_uncertain`` (warning): the daemon stopped while part ``part`` of
    ``parts`` of answer ``message_id`` was being sent, so it may or may not have reached
    ``target``; ``outcome`` is what the restart did: ``found`` (the platform shows it was
    delivered; not sent again) or ``resent`` (the platform cannot tell; sent again, so it
    may show twice)."""
    return channel_event(
        channel,
        "channel_delivery_uncertain",
        {
            "message_id": message_id,
            "target": target,
            "part": part,
            "parts": parts,
            "outcome": outcome,
        },
        severity="warning",
    )


def delivery(
    consumer: str,
    *,
    position: int,
    message_id: str,
    seq: int,
    target: str,
    sent: int,
    parts: int,
    platform_message_id: str,
    attempts: int,
) -> Values:
    """The outbox's record of a sent part, which is also its cursor's advance: parts
    ``1..sent`` of ``parts`` of messages row ``seq`` are delivered. While parts remain
    the detail says ``partial`` and ``position`` stays at the previous answer."""
    detail: Values = {
        "message_id": message_id,
        "seq": seq,
        "target": target,
        "sent": sent,
        "parts": parts,
        "platform_message_id": platform_message_id,
        "attempts": attempts,
    }
    if sent < parts:
        detail["partial"] = True
    return cursor(consumer=consumer, stream="messages", position=position, detail=detail)


def delivery_sending(
    consumer: str,
    *,
    position: int,
    message_id: str,
    seq: int,
    target: str,
    sent: int,
    parts: int,
    at: str,
) -> Values:
    """The outbox's record that part ``sent + 1`` of ``parts`` of messages row ``seq``
    is about to be sent (at ``at``, ISO 8601 UTC). Written durably before the platform
    call; the part's ``delivery`` row follows once the platform answered. A restart that
    finds this row last knows that the part may have reached the chat. ``position``
    (and ``partial`` for parts ``1..sent``) are the same as in the previous record."""
    detail: Values = {
        "message_id": message_id,
        "seq": seq,
        "target": target,
        "sent": sent,
        "parts": parts,
        "sending": sent + 1,
        "at": at,
    }
    if sent:
        detail["partial"] = True
    return cursor(consumer=consumer, stream="messages", position=position, detail=detail)


def delivery_given_up(consumer: str, *, message_id: str, seq: int) -> Values:
    """The outbox's cursor moving past messages row ``seq``, which could not be sent."""
    return cursor(
        consumer=consumer,
        stream="messages",
        position=seq,
        detail={"message_id": message_id, "seq": seq, "failed": True},
    )


def inbound_position(consumer: str, *, platform: str, position: int) -> Values:
    """A channel's inbound cursor: the platform's position of the last handled update
    (Telegram: its ``update_id``)."""
    return cursor(consumer=consumer, stream=platform, position=position)


def chat_session(consumer: str, *, generation: int, session_id: str) -> Values:
    """A chat's session after ``/new``: generation ``generation`` is ``session_id``
    (``consumer`` is ``channel:<name>:session:<chat>``)."""
    return cursor(
        consumer=consumer,
        stream="messages",
        position=generation,
        detail={"session_id": session_id},
    )


# -- memory ---------------------------------------------------------------------------


def memory_version(
    *,
    id: str,
    content: str,
    memory_type: str = "note",
    category: str = "",
    importance: float = 0.5,
    source_session_id: str = "",
    source_message_id: str = "",
    embedding: Sequence[float] = (),
    expires_at: str = "",
    is_deleted: bool = False,
) -> Values:
    """A ``memory`` row: one version of memory ``id`` (the first one adds it, later ones
    edit it; ``is_deleted`` forgets it, with its content left empty). ``importance`` is
    0..1; ``expires_at`` ISO 8601 text or '' (never)."""
    return {
        "id": id,
        "memory_type": memory_type,
        "category": category,
        "content": "" if is_deleted else content,
        "source_session_id": source_session_id,
        "source_message_id": source_message_id,
        "embedding": [] if is_deleted else [float(x) for x in embedding],
        "importance": float(importance),
        "expires_at": expires_at,
        "is_deleted": is_deleted,
    }
