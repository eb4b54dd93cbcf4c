"""Text for the console: times, money, token counts, row cells. Pure functions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pulsectl.client import Filter


def local_now() -> datetime:
    """The current time in the local zone (what "today" and "this year" are measured by)."""
    return datetime.now().astimezone()


def parse_time(text: str) -> datetime | None:
    """ISO 8601 text (``Z`` or an offset; none = UTC) as an aware datetime, or None."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def clock(text: str, now: datetime | None = None) -> str:
    """A stored time in the local zone: ``HH:MM:SS`` today, ``MM-DD HH:MM`` otherwise."""
    dt = parse_time(text)
    if dt is None:
        return text or "-"
    local = dt.astimezone()
    today = (now or local_now()).date()
    return local.strftime("%H:%M:%S") if local.date() == today else local.strftime("%m-%d %H:%M")


def when(text: str, now: datetime | None = None) -> str:
    """A time in the local zone as ``MM-DD HH:MM`` (``YYYY-MM-DD HH:MM`` when not in the
    current year; '-' when empty or unreadable)."""
    dt = parse_time(text)
    if dt is None:
        return text or "-"
    local = dt.astimezone()
    year = (now or local_now()).year
    return local.strftime("%m-%d %H:%M" if local.year == year else "%Y-%m-%d %H:%M")


def money(usd: float) -> str:
    """US dollars: four decimals under a dollar, two above."""
    return f"${usd:,.4f}" if abs(usd) < 1 else f"${usd:,.2f}"


def count(n: float) -> str:
    """A count shortened: 950, 12.3k, 4.1M."""
    n = float(n)
    if abs(n) >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if abs(n) >= 10_000:
        return f"{n / 1000:.0f}k"
    if abs(n) >= 1000:
        return f"{n / 1000:.1f}k"
    return f"{n:.0f}"


def duration_ms(ms: float) -> str:
    """Milliseconds as ``850 ms`` or ``2.4 s``."""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def one_line(value: Any, limit: int = 200) -> str:
    """A value on one line: text as is, JSON for the rest, newlines shown as ⏎."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and isinstance(value.get("text"), str):
        text = value["text"]
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\t", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pretty_json(values: dict[str, Any]) -> str:
    """A row's values as indented JSON (JSON-in-string columns are expanded)."""

    def expand(v: Any) -> Any:
        if isinstance(v, str) and v[:1] in "{[":
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v

    return json.dumps({k: expand(v) for k, v in values.items()}, indent=2, ensure_ascii=False)


STREAM_COLUMNS: dict[str, tuple[tuple[str, int], ...]] = {
    "messages": (
        ("timestamp", 11),
        ("source", 8),
        ("target", 8),
        ("session_id", 14),
        ("message_type", 14),
        ("content", 0),
    ),
    "llm_logs": (
        ("timestamp", 11),
        ("model", 16),
        ("origin", 6),
        ("status", 8),
        ("input_tokens", 6),
        ("output_tokens", 6),
        ("estimated_cost_usd", 9),
        ("latency_ms", 7),
        ("error_message", 0),
    ),
    "tool_logs": (
        ("timestamp", 11),
        ("tool", 12),
        ("status", 7),
        ("duration_ms", 8),
        ("approval", 8),
        ("result_preview", 0),
    ),
    "events": (
        ("timestamp", 11),
        ("severity", 8),
        ("event_type", 18),
        ("source", 8),
        ("payload", 0),
    ),
    "tasks": (
        ("timestamp", 11),
        ("name", 14),
        ("version", 3),
        ("schedule", 14),
        ("enabled", 5),
        ("deleted", 5),
        ("deliver_to", 10),
        ("prompt", 0),
    ),
    "cursors": (
        ("timestamp", 11),
        ("consumer", 20),
        ("stream", 10),
        ("position", 8),
        ("detail", 0),
    ),
    "ingest": (
        ("timestamp", 11),
        ("source", 16),
        ("kind", 12),
        ("payload", 0),
    ),
}
"""The columns worth a glance per stream, with their width (0: the rest of the line).
Streams not listed show every column."""

SHORT_NAMES = {
    "timestamp": "time",
    "message_type": "type",
    "session_id": "session",
    "input_tokens": "in",
    "output_tokens": "out",
    "estimated_cost_usd": "cost",
    "latency_ms": "ms",
    "duration_ms": "ms",
    "result_preview": "result",
    "error_message": "error",
}


def column_alias(f: Filter, stream: str) -> Filter:
    """``f`` with a column header's short name (``type``, ``session``, ``cost``, ``ms``...)
    turned into the stream's column, so what the table shows is what a filter takes."""
    if "." in f.column:
        return f
    names = [full for full, short in SHORT_NAMES.items() if short == f.column]
    wanted = [n for n in names if n in dict(STREAM_COLUMNS.get(stream, ()))] or names
    return replace(f, column=wanted[0]) if wanted else f


def cell(column: str, value: Any) -> str:
    """One table cell's text for ``column``."""
    if value is None:
        return ""
    if column == "timestamp":
        return clock(str(value))
    if column == "estimated_cost_usd" and isinstance(value, int | float):
        return f"{value:.4f}"
    if column in ("duration_ms", "latency_ms") and isinstance(value, int | float):
        return f"{value:.0f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return one_line(value)
