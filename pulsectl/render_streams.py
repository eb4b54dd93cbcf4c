"""How pulsectl shows streams and their rows: the stream list, a table of stored rows
(``streams query``) and one compact line per row (``streams tail``). Pure functions
returning text; ``pulsectl.output`` writes it.

Each stream shows a few of its columns, under their own names (the names ``--where``
filters on); identifiers (ids, names, types) are never cut, free text gives way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulsectl.output import (
    GAP,
    compact_json,
    content_text,
    local_time,
    milliseconds,
    money,
    one_line,
    table,
    tokens,
    truncate,
)

if TYPE_CHECKING:
    from pulse.v1 import streams_pb2


def render_streams(streams: Sequence[streams_pb2.StreamInfo], width: int) -> str:
    """Streams with their size and newest sequence number (names never cut)."""
    return table(
        ["stream", "rows", "last seq", "description"],
        [[s.name, str(s.row_count), str(s.last_seq), s.description] for s in streams],
        width=width,
        right={1, 2},
        keep={0},
    )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _json(value: Any) -> str:
    """A JSON column's value as short text ("" when empty)."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return compact_json(value) if value not in ("", None, {}, []) else ""


def _text(name: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda r: str(r.get(name, "") or "")


def _json_of(name: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda r: _json(r.get(name))


def _pair(name: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda r: f"{name}={compact_json(r.get(name))}"


@dataclass(frozen=True)
class Col:
    """One shown column: its name in the stream (the header, and what ``--where``
    takes), how its value is shown, and whether it is an identifier (never cut)."""

    name: str
    show: Callable[[Mapping[str, Any]], str]
    key: bool = False


def _col(name: str, key: bool = False) -> Col:
    return Col(name, _text(name), key)


STREAM_COLUMNS: dict[str, tuple[Col, ...]] = {
    "messages": (
        _col("message_type", key=True),
        _col("session_id", key=True),
        _col("source", key=True),
        _col("target", key=True),
        Col("content", lambda r: content_text(r.get("content"))),
    ),
    "llm_logs": (
        _col("model", key=True),
        _col("origin", key=True),
        _col("status", key=True),
        Col("input_tokens", lambda r: tokens(int(_num(r.get("input_tokens")))), key=True),
        Col("output_tokens", lambda r: tokens(int(_num(r.get("output_tokens")))), key=True),
        Col("estimated_cost_usd", lambda r: money(_num(r.get("estimated_cost_usd"))), key=True),
        Col("latency_ms", lambda r: milliseconds(_num(r.get("latency_ms"))), key=True),
        _col("error_message"),
    ),
    "tool_logs": (
        _col("tool", key=True),
        _col("status", key=True),
        Col("duration_ms", lambda r: milliseconds(_num(r.get("duration_ms"))), key=True),
        Col("arguments", _json_of("arguments")),
        _col("error_message"),
        _col("result_preview"),
    ),
    "events": (
        _col("severity", key=True),
        _col("event_type", key=True),
        _col("source", key=True),
        Col("payload", _json_of("payload")),
    ),
    "tasks": (
        _col("name", key=True),
        Col("version", lambda r: str(r.get("version", "")), key=True),
        _col("schedule", key=True),
        Col("enabled", lambda r: "yes" if r.get("enabled") else "no", key=True),
        Col("deleted", lambda r: "yes" if r.get("deleted") else "", key=True),
        _col("prompt"),
    ),
    "cursors": (
        _col("consumer", key=True),
        _col("stream", key=True),
        Col("position", lambda r: str(r.get("position", "")), key=True),
    ),
    "ingest": (
        _col("source", key=True),
        _col("kind", key=True),
        Col("payload", _json_of("payload")),
    ),
    "memory": (
        _col("id", key=True),
        _col("memory_type", key=True),
        _col("category", key=True),
        Col("is_deleted", lambda r: "yes" if r.get("is_deleted") else "", key=True),
        _col("content"),
    ),
}
"""Per stream, the columns shown after ``seq`` and ``timestamp``."""

_SKIPPED = ("seq", "id", "timestamp")


def columns_of(stream: str, rows: Sequence[Mapping[str, Any]] = ()) -> tuple[Col, ...]:
    """The columns shown for ``stream``; for a stream not in ``STREAM_COLUMNS``, every
    column the rows have (JSON values as short text)."""
    if stream in STREAM_COLUMNS:
        return STREAM_COLUMNS[stream]
    names = dict.fromkeys(k for r in rows for k in r if k not in _SKIPPED)
    return tuple(Col(n, _json_of(n)) for n in names)


def render_rows(stream: str, rows: Sequence[Mapping[str, Any]], width: int) -> str:
    """Stored rows as a table under their column names: ``seq``, ``timestamp`` (local
    time), then the stream's columns; a column empty in every row is left out."""
    cols = columns_of(stream, rows)
    cells = [[c.show(r) for c in cols] for r in rows]
    used = [i for i in range(len(cols)) if any(row[i] for row in cells)]
    headers = ["seq", "timestamp", *(cols[i].name for i in used)]
    body = [
        [str(r.get("seq", "")), local_time(str(r.get("timestamp", ""))), *(row[i] for i in used)]
        for r, row in zip(rows, cells, strict=True)
    ]
    keep = {1} | {n + 2 for n, i in enumerate(used) if cols[i].key}
    return table(headers, body, width=width, right={0}, keep=keep)


def render_row(stream: str, r: Mapping[str, Any], width: int | None = None) -> str:
    """One row as a compact line: seq, local time, the stream's columns that have a
    value. With ``width``, the free text at the end is cut to fit; identifiers are
    never cut (the line is left longer when they alone do not fit)."""
    cols = columns_of(stream, [r]) if stream in STREAM_COLUMNS else _other(r)
    head = f"{r.get('seq', ''):>6}  {local_time(str(r.get('timestamp', '')))}"
    parts = [(one_line(c.show(r)), c.key) for c in cols]
    parts = [(text, key) for text, key in parts if text]
    text = GAP.join([head] + [p for p, _ in parts])
    if not width or len(text) <= width:
        return text
    free = 0  # the free-text parts at the end, which may be cut
    while free < len(parts) and not parts[len(parts) - 1 - free][1]:
        free += 1
    fixed = GAP.join([head] + [p for p, _ in parts[: len(parts) - free]])
    if free and len(fixed) + len(GAP) + 1 < width:
        return truncate(text, width)
    return text


def _other(r: Mapping[str, Any]) -> tuple[Col, ...]:
    """A row of a stream without chosen columns: each column as ``name=value``."""
    return tuple(Col(k, _pair(k)) for k in r if k not in _SKIPPED)
