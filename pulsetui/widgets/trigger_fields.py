"""TriggerFields: the "on stream" part of the task form, with a live preview.

The stream is one of those the daemon has (Streams.List); the filter is the streams
filter grammar of the client library (``parse_filters``: ``payload.action=opened
source=webhook:gh``), read as ``pulsectl tasks add --where`` reads it. As the person
types, a debounced worker (``DEBOUNCE_S`` after the last change; a newer request wins)
asks the daemon for the newest matching rows (Tasks.Preview with the trigger) and shows
them, or the daemon's verdict on the filter.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pulse.v1 import common_pb2, tasks_pb2
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label, Select, Static

from pulsectl.client import AsyncPulseClient, ClientError, FilterError, TailRow, parse_filters
from pulsetui.format import one_line
from pulsetui.zones import in_zone

DEBOUNCE_S = 0.3
"""Quiet time after the last change before the preview asks the daemon."""

PREVIEW_ROWS = 3
"""How many of the newest matching rows the preview shows (its fixed height: these and
its heading line, so the form does not grow as answers come)."""

OVERFLOWS = ("queue", "drop")

SYMBOLS = {"eq": "=", "ne": "!=", "contains": "~", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
"""The API's op names → the filter grammar's symbols (``pulsectl.client.filters.OPS``
read backwards, ``eq`` as ``=``)."""

HIDDEN_COLUMNS = ("id", "timestamp")
"""Columns the preview's one-line JSON leaves out (the time is shown on its own)."""

SHOWN_WHEN_SET = ("dedupe_key", "tags")
"""Columns it shows only when they hold something."""

_NEEDS_QUOTES = re.compile(r"[\s'\"\\]")
"""What ``shlex.split`` would not keep inside one bare word."""
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


class TriggerProblem(ValueError):
    """A trigger field that cannot be read; the message names the field and the forms."""


def where_text(filters: Sequence[common_pb2.Filter]) -> str:
    """A trigger's filters in the grammar ``parse_filters`` reads (a term with spaces,
    quotes or backslashes shell-quoted): ``payload.action=opened 'title~big fix'``."""
    terms = []
    for f in filters:
        term = f"{f.column}{SYMBOLS.get(f.op or 'eq', '=')}{f.value}"
        terms.append(shlex.quote(term) if _NEEDS_QUOTES.search(term) else term)
    return " ".join(terms)


def batch_text(seconds: float) -> str:
    """A batch window in the form the field takes: '' (0), ``45s``, ``5m``, ``2h``."""
    if seconds <= 0:
        return ""
    for unit, size in (("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def parse_batch(text: str) -> float:
    """The batch field in seconds: '' (0), ``30`` (seconds), ``30s``, ``5m``, ``1h``.

    Raises:
        TriggerProblem: anything else.
    """
    text = text.strip().lower()
    if not text:
        return 0.0
    match = _DURATION.fullmatch(text)
    if not match:
        raise TriggerProblem(
            f"batch: expected seconds or a duration such as 30s, 5m or 1h, got {text!r}"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_max_runs(text: str) -> int:
    """The max-runs-per-hour field: '' or 0 (no limit), else a whole number.

    Raises:
        TriggerProblem: not a whole number ≥ 0.
    """
    text = text.strip()
    if not text:
        return 0
    if not text.isdigit():
        raise TriggerProblem(
            f"max runs per hour: expected a whole number (0: no limit), got {text!r}"
        )
    return int(text)


def row_line(row: common_pb2.Row, zone: str, width: int) -> str:
    """One matching row on one line: its time in ``zone`` and its columns as short JSON,
    JSON columns first (at most ``width`` characters in all)."""
    values = TailRow.of(row).values
    kept = [
        (k, v)
        for k, v in values.items()
        if k not in HIDDEN_COLUMNS and (v or k not in SHOWN_WHEN_SET)
    ]
    # JSON columns (an ingest row's payload) first: they tell the rows apart.
    shown: dict[str, Any] = dict(sorted(kept, key=lambda kv: not isinstance(kv[1], dict | list)))
    stamp = in_zone(str(values.get("timestamp", "")), zone)
    return f"{stamp}  {one_line(shown, max(10, width - len(stamp) - 2))}"


class TriggerFields(Vertical):
    """The stream, filter, batch, rate limit and overflow of a stream trigger, and the
    newest rows that match them.

    Args:
        client: the daemon connection (Streams.List, Tasks.Preview).
        trigger: the trigger to show (editing), or None for a new one (``ingest``).
        zone: returns the task's zone as typed (IANA name, '' local): row times are
            shown in it.
    """

    DEFAULT_CSS = """
    TriggerFields { height: auto; }
    TriggerFields Label { color: $text-muted; }
    TriggerFields Horizontal { height: auto; align: left middle; }
    TriggerFields Horizontal Label { width: auto; margin-right: 1; }
    TriggerFields #stream { width: 30; }
    TriggerFields #batch { width: 8; margin-right: 2; }
    TriggerFields #max_runs { width: 6; margin-right: 2; }
    TriggerFields #overflow { width: 12; }
    TriggerFields #trigger-preview { height: 4; color: $text-muted; }
    TriggerFields #trigger-preview.-invalid { color: $text-error; }
    """

    PREVIEW_WIDTH: ClassVar[int] = 72

    class Previewed(Message):
        """The daemon's answer for request ``generation``: matching rows, or a problem."""

        def __init__(self, generation: int, problem: str, rows: list[common_pb2.Row]) -> None:
            super().__init__()
            self.generation, self.problem, self.rows = generation, problem, rows

    class StreamsLoaded(Message):
        """Streams.List answered: the daemon's stream names, in its order."""

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names

    def __init__(
        self,
        client: AsyncPulseClient,
        trigger: tasks_pb2.TriggerSpec | None,
        zone: Callable[[], str],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.client = client
        self.trigger = trigger or tasks_pb2.TriggerSpec(on="ingest")
        self.zone = zone
        self.generation = 0
        """Bumped by every preview request; only the newest one's answer is shown."""
        self.problem = ""
        """What is wrong with the fields ('' when the daemon took the last request)."""
        self.rows: list[common_pb2.Row] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        t = self.trigger
        stream = t.on or "ingest"
        with Horizontal():
            yield Label("stream")
            yield Select(
                [(stream, stream)], value=stream, allow_blank=False, id="stream", compact=True
            )
        yield Label("where (col=value col!=value col~text; JSON paths: payload.action=opened)")
        yield Input(
            where_text(t.where),
            id="where",
            compact=True,
            placeholder="e.g. payload.action=opened source=webhook:gh (empty: every row)",
        )
        with Horizontal():
            yield Label("batch")
            yield Input(batch_text(t.batch_s), id="batch", compact=True, placeholder="30s")
            yield Label("max runs/h")
            yield Input(
                str(t.max_runs_per_hour or ""), id="max_runs", compact=True, placeholder="0"
            )
            yield Label("overflow")
            overflow = t.overflow if t.overflow in OVERFLOWS else "queue"
            yield Select(
                [(o, o) for o in OVERFLOWS],
                value=overflow,
                allow_blank=False,
                id="overflow",
                compact=True,
            )
        yield Static("", id="trigger-preview")

    def on_mount(self) -> None:
        self.load_streams()
        self.changed()

    # -- reading the fields ----------------------------------------------------------------

    def spec(self) -> tasks_pb2.TriggerSpec:
        """The trigger the fields describe.

        Raises:
            TriggerProblem: the filter, batch or max runs cannot be read.
        """
        from pulsectl.client.ingest import trigger_spec

        try:
            where = parse_filters(self.query_one("#where", Input).value)
        except FilterError as err:
            raise TriggerProblem(f"where: {err}") from None
        stream = self.query_one("#stream", Select).value
        overflow = self.query_one("#overflow", Select).value
        return trigger_spec(
            str(stream) if stream is not Select.BLANK else "",
            where,
            batch_s=parse_batch(self.query_one("#batch", Input).value),
            max_runs_per_hour=parse_max_runs(self.query_one("#max_runs", Input).value),
            overflow=str(overflow) if overflow is not Select.BLANK else "queue",
        )

    # -- the daemon's streams ----------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="trigger-streams")
    async def load_streams(self) -> None:
        """Streams.List; the answer arrives as StreamsLoaded (none: the field keeps the
        trigger's own stream)."""
        try:
            resp = await self.client.list_streams()
        except ClientError:
            return
        self.post_message(self.StreamsLoaded([s.name for s in resp.streams]))

    @on(StreamsLoaded)
    def streams_loaded(self, message: StreamsLoaded) -> None:
        select: Select[str] = self.query_one("#stream", Select)
        current = select.value
        names = list(message.names)
        if isinstance(current, str) and current not in names:
            names.insert(0, current)
        with self.prevent(Select.Changed):
            select.set_options([(n, n) for n in names])
            if isinstance(current, str):
                select.value = current

    # -- live preview ------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    def changed(self) -> None:
        """A field changed: ask for a preview once typing pauses for ``DEBOUNCE_S``."""
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self.request_preview)

    def request_preview(self) -> None:
        """Check the fields and ask the daemon for the rows they match (now)."""
        self.generation += 1
        try:
            spec = self.spec()
        except TriggerProblem as err:
            self._show(str(err), [])
            return
        self.preview(self.generation, spec, self.zone())

    @work(exclusive=True, exit_on_error=False, group="trigger-preview")
    async def preview(self, generation: int, spec: tasks_pb2.TriggerSpec, zone: str) -> None:
        """Tasks.Preview for ``spec``; the answer arrives as Previewed."""
        try:
            answer = await self.client.preview_schedule(
                f"on {spec.on}", zone, PREVIEW_ROWS, trigger=spec
            )
        except ClientError as err:
            problem = f"cannot preview it now: {err.details or err.message}"
            self.post_message(self.Previewed(generation, problem, []))
            return
        self.post_message(self.Previewed(generation, answer.problem, list(answer.matching_rows)))

    @on(Previewed)
    def previewed(self, message: Previewed) -> None:
        if message.generation != self.generation:
            return  # an answer for fields the person has since changed
        self._show(message.problem, message.rows)

    def _show(self, problem: str, rows: list[common_pb2.Row]) -> None:
        self.problem, self.rows = problem, rows
        box = self.query_one("#trigger-preview", Static)
        box.set_class(bool(problem), "-invalid")
        where_wrong = bool(problem) and not problem.startswith(("batch", "max runs", "cannot"))
        self.query_one("#where", Input).set_class(where_wrong, "-invalid")
        if problem:
            box.update(Content(f"✖ {problem}"))
        elif not rows:
            box.update("no matching rows yet")
        else:
            zone = self.zone()
            width = box.content_size.width or self.PREVIEW_WIDTH
            lines = [row_line(r, zone, width) for r in rows]
            box.update(Content("✔ latest matching:\n" + "\n".join(lines)))
