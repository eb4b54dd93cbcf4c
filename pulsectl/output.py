"""Everything pulsectl writes to stdout, and the pure functions that format it.

Plain output is aligned columns sized to the terminal (80 columns when it is unknown),
long cells cut with "…", times in local time as ``YYYY-MM-DD HH:MM:SS``. ``--json``
prints one JSON document, or one JSON object per line for streaming commands. The
``render_*`` functions return text and write nothing, so they can be tested alone; an
``Output`` made for each run is the one writer (it holds the only state: whether the
current line is half written).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from datetime import datetime

    from google.protobuf.message import Message
    from pulse.v1 import chat_pb2, common_pb2, costs_pb2, streams_pb2, system_pb2, tasks_pb2

GAP = "  "
ELLIPSIS = "…"

# -- writers ---------------------------------------------------------------------------


class Output:
    """pulsectl's stdout for one run: the only writer of data.

    It remembers whether the current line is half written (a streamed answer), so a
    note on stderr can first end it and the answer's own next line break is not doubled.

    Args:
        stream: where to write; default the ``sys.stdout`` of the moment of each write.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._at_line_start = True
        self._broke_line = False

    @property
    def stream(self) -> TextIO:
        """The text stream written to."""
        return self._stream if self._stream is not None else sys.stdout

    def write(self, text: str) -> None:
        """Write text as is and flush (streamed chat deltas)."""
        if self._broke_line and text.startswith("\n"):
            text = text[1:]  # the line was already ended for a note on stderr
        self._broke_line = False
        if not text:
            return
        self.stream.write(text)
        self.stream.flush()
        self._at_line_start = text.endswith("\n")

    def line(self, text: str = "") -> None:
        """Write text followed by one newline."""
        self.write(text if text.endswith("\n") else text + "\n")

    def finish_line(self) -> None:
        """End the current line if something was written on it."""
        if not self._at_line_start:
            self.write("\n")

    def break_line_for_stderr(self) -> None:
        """End a half-written stdout line before stderr writes, when both share a
        terminal."""
        if not self._at_line_start and self.stream.isatty() and sys.stderr.isatty():
            self.write("\n")
            self._broke_line = True

    def json_doc(self, obj: Any) -> None:
        """One JSON document (object or list), indented."""
        self.line(json.dumps(obj, indent=2, ensure_ascii=False))

    def json_line(self, obj: Any) -> None:
        """One JSON object on one line, flushed (for streaming commands)."""
        self.line(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))


def terminal_width() -> int:
    """$COLUMNS, or the columns of the terminal on stdout, or 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def stream_width() -> int | None:
    """Width to cut streamed lines at: the terminal's, or None (no cut) when piped."""
    return terminal_width() if sys.stdout.isatty() else None


# -- values ----------------------------------------------------------------------------


def to_dict(message: Message) -> dict[str, Any]:
    """A protobuf message as JSON-ready data: field names as in the .proto, every field
    present, 64-bit integers as numbers."""
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        unquote_int64_if_possible=True,
    )
    return _in_field_order(message.DESCRIPTOR, data)


def _in_field_order(descriptor: Any, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with its keys in the order the .proto declares the fields."""
    ordered: dict[str, Any] = {}
    for field in descriptor.fields:
        if field.name not in data:
            continue
        value = data[field.name]
        sub = field.message_type
        if sub is not None and not sub.GetOptions().map_entry:
            if isinstance(value, dict):
                value = _in_field_order(sub, value)
            elif isinstance(value, list):
                value = [_in_field_order(sub, v) if isinstance(v, dict) else v for v in value]
        ordered[field.name] = value
    return ordered


def row_dict(row: common_pb2.Row) -> dict[str, Any]:
    """A stream row as one JSON object: ``seq`` and its columns."""
    try:
        columns = json.loads(row.json) if row.json else {}
    except ValueError:
        columns = {"json": row.json}
    if not isinstance(columns, dict):
        columns = {"value": columns}
    return {"seq": row.seq, **columns}


def one_line(text: str) -> str:
    """Text with line breaks and tabs turned into spaces."""
    return " ".join(text.split()) if any(c in text for c in "\n\r\t") else text


def truncate(text: str, width: int) -> str:
    """Text cut to ``width`` characters, ending in "…" when cut."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: width - 1] + ELLIPSIS


def compact_json(value: Any) -> str:
    """A value as short JSON text (strings as they are)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def parse_time(iso: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive means UTC), or None."""
    from datetime import UTC, datetime

    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(iso: str) -> str:
    """An ISO 8601 timestamp in local time, ``YYYY-MM-DD HH:MM:SS``; "-" when empty."""
    if not iso:
        return "-"
    moment = parse_time(iso)
    if moment is None:
        return iso
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def human_duration(seconds: float) -> str:
    """A duration such as ``45s``, ``12m 3s``, ``2h 5m``, ``3d 4h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def milliseconds(ms: float) -> str:
    """A short latency: ``850ms``, ``12.3s``."""
    if ms < 10_000:
        return f"{ms:.0f}ms"
    return f"{ms / 1000:.1f}s"


def money(usd: float) -> str:
    """Dollars with four decimals."""
    return f"${usd:.4f}"


def tokens(n: int) -> str:
    """A token count: exact below 10,000, then ``12.3k``, ``4.5M``."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def budget_line(spent: float, budget: float) -> str:
    """Today's spend against the daily budget."""
    if budget <= 0:
        return f"{money(spent)} today (no daily budget)"
    return f"{money(spent)} today of ${budget:.2f} daily budget ({spent / budget:.0%})"


# -- tables ----------------------------------------------------------------------------


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    width: int | None = None,
    right: Collection[int] = (),
    min_widths: Mapping[int, int] | None = None,
) -> str:
    """Aligned columns under upper-case headers, fitted into ``width`` characters.

    When the table is too wide, the widest left-aligned columns shrink first (down to
    ``min_widths[i]``, default 6) and their cells end in "…". Right-aligned (numeric)
    columns keep their width.
    """
    body = [[one_line(str(c)) for c in row] for row in rows]
    heads = [h.upper() for h in headers]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(heads)]
    if width is not None:
        mins = {i: min(widths[i], (min_widths or {}).get(i, 6)) for i in range(len(widths))}
        excess = sum(widths) + len(GAP) * (len(widths) - 1) - width
        shrinkable = [i for i in range(len(widths)) if i not in right]
        while excess > 0:
            candidates = [i for i in shrinkable if widths[i] > mins[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            cell = truncate(cell, widths[i])
            out.append(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
        return GAP.join(out).rstrip()

    return "\n".join([fmt(heads)] + [fmt(r) for r in body])


def key_values(pairs: Iterable[tuple[str, str]]) -> str:
    """``key  value`` lines with the values aligned."""
    pairs = list(pairs)
    pad = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(pad)}{GAP}{v}".rstrip() for k, v in pairs)


# -- system ----------------------------------------------------------------------------


def render_status(st: system_pb2.StatusResponse) -> str:
    """The daemon's status as aligned ``key  value`` lines."""
    provider = " / ".join(p for p in (st.provider, st.model) if p) or "-"
    if st.provider_problem:
        provider += "  (not usable)"
    store = st.store_backend or "-"
    store += f" ({st.store_health or 'unknown'}"
    store += f", schema v{st.schema_version})" if st.schema_version else ")"
    return key_values(
        [
            ("daemon", f"pulsed {st.version}  pid {st.pid}  up {human_duration(st.uptime_s)}"),
            ("agent", st.agent_name or "-"),
            ("socket", st.socket or "-"),
            ("data dir", st.data_dir or "-"),
            ("config", st.config_path or "-"),
            ("store", store),
            ("provider", provider),
            ("turns", f"{st.active_turns} active, {st.queued_turns} queued"),
            ("spend", budget_line(st.spent_today_usd, st.budget_daily_usd)),
            ("channels", channels_line(st.channels)),
            *[(x.name.replace("_", " "), listener_line(x)) for x in st.listeners],
            ("mcp", mcp_line(st.mcp_servers)),
        ]
    )


def listener_line(x: system_pb2.ListenerSummary) -> str:
    """``http://127.0.0.1:8788/v1`` when it serves, else its state and why."""
    if x.state == "serving":
        return x.address + ("/v1" if x.name == "http_api" else "")
    return f"{x.state}: {x.detail}" if x.detail else x.state


def mcp_line(servers: Sequence[system_pb2.McpSummary]) -> str:
    """``time ready (2 tools), files failed``, or ``none enabled``."""
    if not servers:
        return "none enabled"
    return ", ".join(
        f"{m.name} {m.state}" + (f" ({m.tools} tools)" if m.state == "ready" else "")
        for m in servers
    )


def channels_line(channels: Sequence[system_pb2.ChannelSummary]) -> str:
    """``telegram connected, slack reconnecting (2 failed)``, or ``none enabled``."""
    if not channels:
        return "none enabled"
    parts = []
    for c in channels:
        extra = []
        if c.pending_outbox:
            extra.append(f"{c.pending_outbox} to send")
        if c.failed_deliveries:
            extra.append(f"{c.failed_deliveries} failed")
        parts.append(f"{c.name} {c.state}" + (f" ({', '.join(extra)})" if extra else ""))
    return ", ".join(parts)


def status_warnings(st: system_pb2.StatusResponse) -> list[str]:
    """What in a status deserves a warning line."""
    warnings = []
    if st.provider_problem:
        warnings.append(f"provider not usable: {st.provider_problem}")
    if st.store_health and st.store_health != "ok":
        warnings.append(f"store: {st.store_health}")
    if st.budget_daily_usd > 0 and st.spent_today_usd >= st.budget_daily_usd:
        warnings.append("today's budget is spent: LLM calls are refused until tomorrow")
    for x in st.listeners:
        if x.state in ("off", "error"):
            warnings.append(f"{x.name.replace('_', ' ')} not serving: {x.detail}")
    for c in st.channels:
        if c.failed_deliveries:
            warnings.append(
                f"channel {c.name}: {c.failed_deliveries} undelivered repl"
                f"{'y' if c.failed_deliveries == 1 else 'ies'} (pulsectl channels status {c.name})"
            )
    for m in st.mcp_servers:
        if m.state == "failed":
            warnings.append(
                f"MCP server {m.name} is down: {m.last_error or 'no reason given'}"
                f" (pulsectl mcp list)"
            )
    return warnings


# -- chat ------------------------------------------------------------------------------


def render_sessions(sessions: Sequence[chat_pb2.Session], width: int) -> str:
    """Sessions, most recent first as the daemon lists them; a model column when a
    session has a model of its own."""
    if any(s.model for s in sessions):
        return table(
            ["session", "msgs", "last activity", "model", "title"],
            [
                [
                    s.session_id,
                    str(s.message_count),
                    local_time(s.last_activity),
                    s.model or "default",
                    s.title,
                ]
                for s in sessions
            ],
            width=width,
            right={1},
            min_widths={0: 24, 2: 19, 3: 12},
        )
    return table(
        ["session", "msgs", "last activity", "title"],
        [
            [s.session_id, str(s.message_count), local_time(s.last_activity), s.title]
            for s in sessions
        ],
        width=width,
        right={1},
        min_widths={0: 24, 2: 19},
    )


def _content(value: Any) -> Any:
    """A JSON column's value, decoded when it arrived as JSON text."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def content_text(value: Any) -> str:
    """The readable text of a message's content: its "text" (or similar), else JSON."""
    value = _content(value)
    if isinstance(value, dict):
        for key in ("text", "message", "prompt", "preview", "result"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return compact_json(value) if value else ""
    if value is None:
        return ""
    return compact_json(value)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + ln if ln else ln for ln in text.splitlines()) or prefix.rstrip()


def tool_call_note(name: str, arguments: Any, width: int = 100) -> str:
    """``→ tool {"arg": ...}`` cut to ``width``."""
    args = compact_json(_content(arguments)) if arguments not in ("", None, {}) else ""
    return truncate(one_line(f"→ {name} {args}".rstrip()), width)


def tool_result_note(status: str, duration_ms: float, preview: str = "", width: int = 100) -> str:
    """``← ok 3 ms``, with the preview when the tool did not succeed."""
    text = f"← {status or '?'} {duration_ms:.0f} ms"
    if preview and status != "ok":
        text += f": {preview}"
    return truncate(one_line(text), width)


def render_history(rows: Sequence[common_pb2.Row], width: int) -> str:
    """A session's messages as a readable conversation: who, when, and what was said;
    tool calls and results as short indented lines, errors in full."""
    out: list[str] = []

    def said(head: str, text: str) -> None:
        if out:
            out.append("")
        out.append(head)
        out.append(_indent(text))

    def short(text: str) -> None:
        out.append("  " + truncate(one_line(text), width - 2))

    for row in rows:
        r = row_dict(row)
        kind = r.get("message_type", "")
        when = local_time(str(r.get("timestamp", "")))
        content = _content(r.get("content"))
        body = content if isinstance(content, dict) else {}
        if kind == "user_input":
            who = r.get("user_id") or "you"
            source = r.get("source")
            said(f"{when}  {who}" + (f" ({source})" if source else ""), content_text(content))
        elif kind == "agent_response":
            said(f"{when}  agent", content_text(content))
        elif kind == "scheduled_task":
            said(f"{when}  task {body.get('task') or ''}".rstrip(), content_text(content))
        elif kind == "tool_call":
            name = str(body.get("name") or body.get("tool") or "tool")
            short(tool_call_note(name, body.get("arguments", ""), width))
        elif kind == "tool_result":
            status = str(body.get("status") or "result")
            dur = body.get("duration_ms")
            took = f" {dur:.0f} ms" if isinstance(dur, int | float) else ""
            preview = str(body.get("text") or body.get("preview") or "")
            short(f"← {status}{took}" + (f": {preview}" if preview else ""))
        elif kind == "error":
            code = body.get("code", "")
            text = content_text(content)
            out.append(_indent(f"! {code}: {text}" if code else f"! {text}"))
        else:
            text = content_text(content)
            out.append(truncate(one_line(f"{when}  {kind or '?'}  {text}".rstrip()), width))
    return "\n".join(out)


# -- streams ---------------------------------------------------------------------------


def render_streams(streams: Sequence[streams_pb2.StreamInfo], width: int) -> str:
    """Streams with their size and newest sequence number."""
    return table(
        ["stream", "rows", "last seq", "description"],
        [[s.name, str(s.row_count), str(s.last_seq), s.description] for s in streams],
        width=width,
        right={1, 2},
    )


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _messages(r: Mapping[str, Any]) -> list[str]:
    route = "→".join(p for p in (str(r.get("source", "")), str(r.get("target", ""))) if p)
    return [
        str(r.get("message_type", "")),
        str(r.get("session_id", "")),
        route,
        content_text(r.get("content")),
    ]


def _llm_logs(r: Mapping[str, Any]) -> list[str]:
    return [
        str(r.get("model", "")),
        str(r.get("origin", "")),
        str(r.get("status", "")),
        f"in {tokens(int(_num(r.get('input_tokens'))))}",
        f"out {tokens(int(_num(r.get('output_tokens'))))}",
        money(_num(r.get("estimated_cost_usd"))),
        milliseconds(_num(r.get("latency_ms"))),
        str(r.get("error_message", "")),
    ]


def _tool_logs(r: Mapping[str, Any]) -> list[str]:
    return [
        str(r.get("tool", "")),
        str(r.get("status", "")),
        milliseconds(_num(r.get("duration_ms"))),
        compact_json(_content(r.get("arguments", ""))),
        str(r.get("error_message") or r.get("result_preview") or ""),
    ]


def _events(r: Mapping[str, Any]) -> list[str]:
    payload = _content(r.get("payload"))
    return [
        str(r.get("severity", "")),
        str(r.get("event_type", "")),
        str(r.get("source", "")),
        compact_json(payload) if payload else "",
    ]


def _tasks(r: Mapping[str, Any]) -> list[str]:
    state = "deleted" if r.get("deleted") else "enabled" if r.get("enabled") else "disabled"
    return [
        str(r.get("name", "")),
        f"v{r.get('version', '?')}",
        str(r.get("schedule", "")),
        state,
        str(r.get("prompt", "")),
    ]


def _cursors(r: Mapping[str, Any]) -> list[str]:
    return [str(r.get("consumer", "")), f"{r.get('stream', '')}@{r.get('position', '')}"]


def _ingest(r: Mapping[str, Any]) -> list[str]:
    payload = r.get("payload")
    return [str(r.get("source", "")), str(r.get("kind", "")), compact_json(payload)]


def _other(r: Mapping[str, Any]) -> list[str]:
    return [f"{k}={compact_json(v)}" for k, v in r.items() if k not in ("seq", "id", "timestamp")]


MAIN_COLUMNS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "messages": _messages,
    "llm_logs": _llm_logs,
    "tool_logs": _tool_logs,
    "events": _events,
    "tasks": _tasks,
    "cursors": _cursors,
    "ingest": _ingest,
}
"""Per stream, the few values a compact line shows after its seq and time."""


def render_row(stream: str, r: Mapping[str, Any], width: int | None = None) -> str:
    """One row as a compact line: seq, local time, the stream's main columns."""
    parts = MAIN_COLUMNS.get(stream, _other)(r)
    head = f"{r.get('seq', ''):>6}  {local_time(str(r.get('timestamp', '')))}"
    text = GAP.join([head] + [one_line(p) for p in parts if p])
    return truncate(text, width) if width else text


# -- costs -----------------------------------------------------------------------------


def _bucket_key(key: str, by: str) -> str:
    if by == "hour":
        return local_time(key)[:16] if parse_time(key) else key
    return key or "-"


def render_costs(summary: costs_pb2.CostSummaryResponse, by: str, width: int) -> str:
    """Cost buckets, a total line and today's spend against the budget."""

    def cells(key: str, b: costs_pb2.CostBucket) -> list[str]:
        return [
            key,
            str(b.requests),
            str(b.errors),
            tokens(b.input_tokens),
            tokens(b.output_tokens),
            tokens(b.cache_read_tokens),
            tokens(b.cache_write_tokens),
            money(b.cost_usd),
            milliseconds(b.avg_latency_ms) if b.requests else "-",
        ]

    rows = [cells(_bucket_key(b.key, by), b) for b in summary.buckets]
    rows.append(cells("total", summary.total))
    text = table(
        [by or "", "req", "err", "in", "out", "c.read", "c.write", "cost", "avg lat"],
        rows,
        width=width,
        right=set(range(1, 9)),
        min_widths={0: 16},
    )
    lines = text.split("\n")
    if len(rows) > 1:
        lines.insert(-1, "-" * len(max(lines, key=len)))
    lines.append("")
    lines.append("spend: " + budget_line(summary.spent_today_usd, summary.budget_daily_usd))
    for cap in summary.caps:
        lines.append(
            f"{cap.name} cap: {money(cap.spent_usd)} spent of ${cap.limit_usd:.2f}, "
            f"{money(cap.left_usd)} left"
            + (f" ({money(cap.reserved_usd)} held by running calls)" if cap.reserved_usd else "")
            + f"; resets {cap.resets}"
        )
    if summary.budget_session_usd:
        lines.append(
            f"session cap: ${summary.budget_session_usd:.2f} per session (see --by session)"
        )
    return "\n".join(lines)


# -- tasks -----------------------------------------------------------------------------


def task_time(iso: str, tz_name: str) -> str:
    """A task's time in the task's own zone, ``YYYY-MM-DD HH:MM ZONE`` (e.g. ``CET``;
    seconds only when not zero). A task without a zone runs in the daemon's, whose offset
    the ISO text carries: shown as that wall time, without a zone. "-" when empty."""
    if not iso:
        return "-"
    moment = parse_time(iso)
    if moment is None:
        return iso
    clock = "%H:%M:%S" if moment.second else "%H:%M"
    if tz_name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zoned = moment.astimezone(ZoneInfo(tz_name))
        except (ZoneInfoNotFoundError, ValueError):
            return moment.strftime(f"%Y-%m-%d {clock} %z")
        return zoned.strftime(f"%Y-%m-%d {clock} %Z")
    return moment.strftime(f"%Y-%m-%d {clock}")


def task_state(t: tasks_pb2.Task) -> str:
    """yes | no | done (a one-shot task that ran) | running."""
    if t.retired_at:
        return "done"
    if t.running:
        return "running"
    return "yes" if t.enabled else "no"


def render_tasks(tasks: Sequence[tasks_pb2.Task], width: int) -> str:
    """Tasks with their schedule, state, next run (in the task's zone) and last run (the
    zone column only when a task has its own zone)."""
    with_tz = any(t.timezone for t in tasks)
    rows = []
    for t in tasks:
        row = [
            t.name,
            t.schedule,
            t.timezone or "local",
            task_state(t),
            task_time(t.next_run, t.timezone) if t.enabled else "-",
            local_time(t.last_run),
            t.last_status or "-",
        ]
        rows.append(row if with_tz else row[:2] + row[3:])
    headers = ["name", "schedule", "tz", "on", "next run", "last run", "status"]
    if not with_tz:
        del headers[2]
    mins = [8, 9, 4, 3, 20, 19, 5] if with_tz else [12, 9, 3, 16, 19, 5]
    return table(headers, rows, width=width, min_widths=dict(enumerate(mins)))


def render_task(t: tasks_pb2.Task) -> str:
    """One task in full."""
    pairs = [
        ("name", t.name),
        ("schedule", t.schedule),
        ("timezone", t.timezone or "local"),
        ("enabled", task_state(t)),
        ("deliver to", t.deliver_to or "none"),
        ("next run", task_time(t.next_run, t.timezone)),
        ("last run", local_time(t.last_run) + (f" ({t.last_status})" if t.last_status else "")),
        (
            "catch up",
            ("yes" if t.catch_up else "no") if t.HasField("catch_up") else "default",
        ),
        ("timeout", f"{t.timeout_s:g}s" if t.timeout_s else "default"),
        ("budget", f"${t.budget_usd:g} per run" if t.budget_usd else "none per run"),
    ]
    if t.preset:
        pairs.append(("preset", t.preset))
    if t.created_by and t.created_by != "user":
        pairs.append(("created by", t.created_by))
    if t.retired_at:
        pairs.append(("retired", local_time(t.retired_at)))
    if t.HasField("trigger"):
        pairs += trigger_pairs(t)
    if t.failures:
        until = f", backed off until {local_time(t.backoff_until)}" if t.backoff_until else ""
        pairs.append(("failures", f"{t.failures} in a row{until}"))
    pairs += [("version", str(t.version)), ("prompt", one_line(t.prompt))]
    return key_values(pairs)


def trigger_pairs(t: tasks_pb2.Task) -> list[tuple[str, str]]:
    """A stream trigger's fields for ``render_task``."""
    trig = t.trigger
    sym = {"eq": "=", "ne": "!=", "contains": "~", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    where = " ".join(f"{f.column}{sym.get(f.op or 'eq', '=')}{f.value}" for f in trig.where)
    limit = f"{trig.max_runs_per_hour}/h ({trig.overflow or 'queue'})"
    source = [("sql", trig.sql)] if trig.sql else [("on", trig.on), ("where", where or "every row")]
    return [
        *source,
        ("batch", f"{trig.batch_s:g}s" if trig.batch_s else "none"),
        ("rate limit", limit if trig.max_runs_per_hour else "none"),
        ("last fired", local_time(t.last_fired) if t.last_fired else "never"),
        ("rows waiting", str(t.rows_waiting)),
    ]


def render_task_runs(runs: Sequence[tasks_pb2.TaskRun], width: int) -> str:
    """A task's runs: when, outcome, what started it, duration, cost, where the answer
    went and the start of the answer."""
    return table(
        ["fired at", "status", "trigger", "took", "cost", "to", "answer"],
        [
            [
                local_time(r.fired_at),
                r.status,
                r.trigger or "-",
                milliseconds(r.duration_ms) if r.duration_ms else "-",
                money(r.cost_usd),
                r.delivered_to or "-",
                r.answer,
            ]
            for r in runs
        ],
        width=width,
        right={3, 4},
        min_widths={0: 19, 6: 10},
    )
