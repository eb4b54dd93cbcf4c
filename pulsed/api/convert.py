"""Conversions between the daemon's shapes and pulse.v1 messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pulse.v1 import chat_pb2, common_pb2

from pulsed.agent.events import TurnEvent
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


def usage_pb(u: dict[str, float | int]) -> common_pb2.Usage:
    return common_pb2.Usage(
        input_tokens=int(u.get("input_tokens", 0)),
        output_tokens=int(u.get("output_tokens", 0)),
        cache_read_tokens=int(u.get("cache_read_tokens", 0)),
        cache_write_tokens=int(u.get("cache_write_tokens", 0)),
        cost_usd=float(u.get("cost_usd", 0.0)),
        llm_calls=int(u.get("llm_calls", 0)),
    )


def turn_event_pb(ev: TurnEvent) -> chat_pb2.TurnEvent:
    """The wire form of a turn event."""
    m = chat_pb2.TurnEvent(turn_id=ev.turn_id, session_id=ev.session_id)
    d = ev.data
    if ev.kind == "accepted":
        m.accepted.CopyFrom(
            chat_pb2.Accepted(seq=d["seq"], queued_behind=d.get("queued_behind", 0))
        )
    elif ev.kind == "delta":
        m.delta.CopyFrom(chat_pb2.Delta(text=d["text"]))
    elif ev.kind == "tool_call":
        m.tool_call.CopyFrom(
            chat_pb2.ToolCallStarted(
                call_id=d["call_id"], name=d["name"], arguments_json=d["arguments_json"]
            )
        )
    elif ev.kind == "approval_request":
        m.approval_request.CopyFrom(
            chat_pb2.ApprovalRequest(
                request_id=d["request_id"],
                tool=d["tool"],
                arguments_json=d["arguments_json"],
                timeout_s=d["timeout_s"],
            )
        )
    elif ev.kind == "tool_result":
        m.tool_result.CopyFrom(
            chat_pb2.ToolResult(
                call_id=d["call_id"],
                name=d["name"],
                status=d["status"],
                preview=d["preview"],
                duration_ms=d["duration_ms"],
            )
        )
    elif ev.kind == "final":
        m.final.CopyFrom(
            chat_pb2.Final(
                message_id=d["message_id"],
                text=d["text"],
                usage=usage_pb(d["usage"]),
                iterations=d["iterations"],
            )
        )
    elif ev.kind == "error":
        m.error.CopyFrom(
            chat_pb2.TurnError(
                message_id=d.get("message_id", ""), code=d["code"], message=d["message"]
            )
        )
    else:  # pragma: no cover - a new kind without a mapping is a bug
        raise ValueError(f"unknown turn event kind {ev.kind}")
    return m
