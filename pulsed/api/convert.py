"""Conversions between the daemon's shapes and pulse.v1 messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import assert_never

from pulse.v1 import chat_pb2, common_pb2

from pulsed.agent.events import (
    Accepted,
    ApprovalRequested,
    Delta,
    Failed,
    Final,
    ToolCallStarted,
    ToolResultReady,
    TurnEvent,
    TurnUsage,
)
from pulsed.errors import InvalidArgument
from pulsed.store.base import Filter, Row, make_filters, to_iso
from pulsed.store.schema import Stream


def row_pb(row: Row) -> common_pb2.Row:
    return common_pb2.Row(stream=row.stream, seq=row.seq, json=row.to_json())


def filters(stream: Stream, pbs: Sequence[common_pb2.Filter]) -> list[Filter]:
    """Checked filters from the request.

    Raises:
        InvalidArgument: unknown column or operator, or a value of the wrong type.
    """
    return make_filters(stream, [(f.column, f.op, f.value) for f in pbs])


def ms_to_iso(ms: int) -> str | None:
    """Unix epoch milliseconds to schema datetime text; 0 → None (unbounded).

    Raises:
        InvalidArgument: negative or absurdly large.
    """
    if ms == 0:
        return None
    if ms < 0 or ms > 253402300799000:
        raise InvalidArgument(f"time bound {ms} is not a Unix time in milliseconds")
    return to_iso(datetime.fromtimestamp(ms / 1000, UTC))


def usage_pb(u: TurnUsage) -> common_pb2.Usage:
    return common_pb2.Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        cache_read_tokens=u.cache_read_tokens,
        cache_write_tokens=u.cache_write_tokens,
        cost_usd=u.cost_usd,
        llm_calls=u.llm_calls,
    )


def turn_event_pb(ev: TurnEvent) -> chat_pb2.TurnEvent:
    """The wire form of a turn event."""
    m = chat_pb2.TurnEvent(turn_id=ev.turn_id, session_id=ev.session_id)
    match ev:
        case Accepted():
            m.accepted.CopyFrom(chat_pb2.Accepted(seq=ev.seq, queued_behind=ev.queued_behind))
        case Delta():
            m.delta.CopyFrom(chat_pb2.Delta(text=ev.text))
        case ToolCallStarted():
            m.tool_call.CopyFrom(
                chat_pb2.ToolCallStarted(
                    call_id=ev.call_id, name=ev.name, arguments_json=ev.arguments_json
                )
            )
        case ApprovalRequested():
            m.approval_request.CopyFrom(
                chat_pb2.ApprovalRequest(
                    request_id=ev.request_id,
                    tool=ev.tool,
                    arguments_json=ev.arguments_json,
                    timeout_s=ev.timeout_s,
                    approval_key=ev.approval_key,
                    detail=ev.detail,
                )
            )
        case ToolResultReady():
            m.tool_result.CopyFrom(
                chat_pb2.ToolResult(
                    call_id=ev.call_id,
                    name=ev.name,
                    status=ev.status,
                    preview=ev.preview,
                    duration_ms=ev.duration_ms,
                )
            )
        case Final():
            m.final.CopyFrom(
                chat_pb2.Final(
                    message_id=ev.message_id,
                    text=ev.text,
                    usage=usage_pb(ev.usage),
                    iterations=ev.iterations,
                )
            )
        case Failed():
            m.error.CopyFrom(
                chat_pb2.TurnError(message_id=ev.message_id, code=ev.code, message=ev.message)
            )
        case _:
            assert_never(ev)
    return m
