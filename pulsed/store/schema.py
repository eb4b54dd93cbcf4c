"""The streams, defined once. Both store backends derive their DDL from this module.

Columns follow the PulseBot design (reference/pulsebot-design.md §3) plus what delivery
and budgets need. Column types are backend-neutral names:

    string, int, float, bool, datetime, json, array(string), array(float)

Every stream has ``id`` (string, a UUID unless given) and ``timestamp`` (datetime, UTC,
millisecond precision, the row's event time). The store adds a per-stream sequence number
(``seq``), which is not a column of the schema.

Python values in rows: string → str, int → int, float → float, bool → bool,
datetime → ISO 8601 text in UTC with milliseconds (``2026-11-21T09:00:00.000Z``),
json → any JSON-serialisable value, array(...) → list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pulsed.errors import InvalidArgument, NotFound

SCHEMA_VERSION = 2
"""Bumped whenever a stream or a column is added; backends migrate forward to it
(version 2: the ``ingest`` and ``memory`` streams)."""

TYPES = ("string", "int", "float", "bool", "datetime", "json", "array(string)", "array(float)")


@dataclass(frozen=True)
class Column:
    """One column: name, backend-neutral type, default for rows that omit it, description."""

    name: str
    type: str
    description: str = ""
    default: object = None
    since_version: int = 1
    """Schema version that added the column (for forward migrations)."""

    def default_value(self) -> object:
        """The value a row gets when it omits this column."""
        if self.default is not None:
            return self.default
        return {
            "string": "",
            "int": 0,
            "float": 0.0,
            "bool": False,
            "datetime": "",
            "json": {},
            "array(string)": [],
            "array(float)": [],
        }[self.type]


@dataclass(frozen=True)
class Stream:
    """A stream: its columns in order, and the columns worth indexing for lookups."""

    name: str
    description: str
    columns: tuple[Column, ...]
    indexes: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        """The named column.

        Raises:
            InvalidArgument: no such column (the message lists the known ones).
        """
        for c in self.columns:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.columns)
        raise InvalidArgument(f"stream {self.name} has no column {name!r} (columns: {known})")

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in order (without ``seq``, which is not a column)."""
        return tuple(c.name for c in self.columns)


def _base() -> tuple[Column, ...]:
    return (
        Column("id", "string", "unique row id (UUID)"),
        Column("timestamp", "datetime", "event time, UTC"),
    )


MESSAGE_TYPES = (
    "user_input",
    "agent_response",
    "tool_call",
    "tool_result",
    "scheduled_task",
    "trigger",
    "summary",
    "heartbeat",
    "error",
)

MESSAGES = Stream(
    "messages",
    "every message in and out of the agent: user input, answers, tool calls, errors",
    _base()
    + (
        Column(
            "source", "string", "who wrote it: cli, tui, telegram, slack, agent, scheduler, system"
        ),
        Column("target", "string", "who it is for: agent, or a delivery target such as cli"),
        Column("session_id", "string", "conversation it belongs to"),
        Column("message_type", "string", " | ".join(MESSAGE_TYPES)),
        Column("content", "json", 'payload; text messages carry {"text": ...}'),
        Column("user_id", "string", "the person, where known"),
        Column("channel_metadata", "json", "channel-specific data (chat id, thread...)"),
        Column("priority", "int", "-1 low, 0 normal, 1 high, 2 urgent"),
        Column("reply_to", "string", "id of the message this one answers"),
    ),
    indexes=("session_id", "reply_to", "message_type"),
)

LLM_LOGS = Stream(
    "llm_logs",
    "one row per LLM call: tokens, cost, latency, status",
    _base()
    + (
        Column("session_id", "string"),
        Column("turn_id", "string", "id of the input message the call served"),
        Column("model", "string"),
        Column("provider", "string"),
        Column("origin", "string", "chat | task | heartbeat | memory | system"),
        Column("input_tokens", "int"),
        Column("output_tokens", "int"),
        Column("cache_read_tokens", "int"),
        Column("cache_write_tokens", "int"),
        Column("total_tokens", "int"),
        Column("estimated_cost_usd", "float", "from pulsed.providers.pricing"),
        Column("latency_ms", "int", "request start to last byte"),
        Column("time_to_first_token_ms", "int"),
        Column("system_prompt_hash", "string", "SHA-256 of the system prompt"),
        Column("user_message_preview", "string", "first 200 characters"),
        Column("assistant_response_preview", "string", "first 200 characters"),
        Column("tools_called", "array(string)"),
        Column("tool_call_count", "int"),
        Column("status", "string", "success | error | rate_limited | timeout | refused"),
        Column("error_message", "string"),
    ),
    indexes=("session_id", "model"),
)

TOOL_LOGS = Stream(
    "tool_logs",
    "one row per tool call: arguments (redacted), status, duration, result preview",
    _base()
    + (
        Column("session_id", "string"),
        Column("turn_id", "string"),
        Column("call_id", "string", "the provider's tool call id"),
        Column("tool", "string"),
        Column("arguments", "json", "arguments with secrets redacted"),
        Column("status", "string", "ok | error | denied | timeout"),
        Column("duration_ms", "float"),
        Column("result_preview", "string", "first 500 characters of the result"),
        Column("approval", "string", "allow | approved | denied | timeout | deny"),
        Column("error_message", "string"),
    ),
    indexes=("session_id", "tool"),
)

EVENTS = Stream(
    "events",
    "system events: start, stop, budget refusals, recoveries, channel states",
    _base()
    + (
        Column("event_type", "string"),
        Column("source", "string"),
        Column("severity", "string", "debug | info | warning | error | critical"),
        Column("payload", "json"),
        Column("tags", "array(string)"),
    ),
    indexes=("event_type",),
)

DELIVERY_TARGET = re.compile(r"^(none|tui|[a-z]+:[A-Za-z0-9_.:@/-]{1,200})$")
"""Where an answer goes (a task's ``deliver_to``): none (stored only), tui (the person's
clients) or ``<channel>:<id>`` such as ``telegram:12345``."""

TASKS = Stream(
    "tasks",
    "task definitions as an append-only log of versions; the current one is the latest per name",
    _base()
    + (
        Column("name", "string"),
        Column("version", "int", "1 for the first definition, +1 per change"),
        Column("schedule", "string", "cron, every <d>, at <datetime>, in <d>"),
        Column("prompt", "string"),
        Column("timezone", "string", "IANA zone; empty = the daemon's local zone"),
        Column("enabled", "bool"),
        Column("deliver_to", "string", "none | tui | <channel>:<target>"),
        Column("deleted", "bool", "true in the version that removes the task"),
        Column("options", "json", "further per-task settings"),
    ),
    indexes=("name",),
)

CURSORS = Stream(
    "cursors",
    "consumer positions (agent, each channel) as an append-only log; latest per consumer wins",
    _base()
    + (
        Column("consumer", "string", "e.g. channel:telegram"),
        Column("stream", "string", "the stream the position is in"),
        Column("position", "int", "last sequence number handled"),
        Column("detail", "json"),
    ),
    indexes=("consumer",),
)

INGEST = Stream(
    "ingest",
    "rows from outside: webhooks, feeds, pulsectl ingest; stream triggers consume them",
    _base()
    + (
        Column("source", "string", "webhook:<route>, feed:<name>, cli, ..."),
        Column("kind", "string", "what the row is (a webhook's event, a feed entry...)"),
        Column("payload", "json", "the row's data"),
        Column("dedupe_key", "string", "a row whose key was seen before is dropped; '' = none"),
        Column("tags", "array(string)"),
    ),
    indexes=("source", "dedupe_key"),
)

MEMORY_TYPES = ("fact", "preference", "summary", "skill_learned", "note")
"""What a memory is; ``note`` when nothing more specific fits."""

MEMORY = Stream(
    "memory",
    "long-term memories as an append-only log of versions: an edit or a forget is a new "
    "version of the same id; the current state is the latest version per id",
    _base()
    + (
        Column("memory_type", "string", " | ".join(MEMORY_TYPES)),
        Column("category", "string", "free-form grouping (work, family, ...)"),
        Column("content", "string", "the memory's text ('' in a forget version)"),
        Column("source_session_id", "string", "session it was learnt in"),
        Column("source_message_id", "string", "messages row it came from"),
        Column("embedding", "array(float)", "vector of content; empty when none"),
        Column("importance", "float", "0..1, weighs recall ranking", default=0.5),
        Column("expires_at", "string", "ISO 8601 time after which it is not recalled; '' never"),
        Column("is_deleted", "bool", "true in the version that forgets it"),
    ),
    indexes=("id",),
)

STREAMS: dict[str, Stream] = {
    s.name: s for s in (MESSAGES, LLM_LOGS, TOOL_LOGS, EVENTS, TASKS, CURSORS, INGEST, MEMORY)
}

INPUT_TYPES = ("user_input", "scheduled_task", "trigger")
"""messages types that start a turn: a person wrote, a task's schedule or a stream
trigger fired (recovery finds those no answer replies to)."""


def stream(name: str) -> Stream:
    """The named stream.

    Raises:
        NotFound: no such stream (the message lists the known ones).
    """
    try:
        return STREAMS[name]
    except KeyError:
        raise NotFound(f"unknown stream {name!r} (streams: {', '.join(STREAMS)})") from None
