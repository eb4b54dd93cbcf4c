"""Streams: pick a stream, tail it live in a table, filter, pause, open a row.

One worker follows the stream (``AsyncPulseClient.follow``: batched, resumed after reconnects);
its batches go to a ``TailTable`` that keeps the newest rows only. A stream opens on its last
``RECENT`` rows (Streams.Query), then follows it live from the sequence number read before
them, so no row is missed or shown twice; ``e`` replays from the earliest, ``l`` shows only
new rows. Column filters (``column=value``) go to the daemon with the query and the tail;
the text filter is applied here.
"""

from __future__ import annotations

import time
from collections import deque
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Footer, Input, Select, Static

from pulsectl.client import FORMS, AsyncPulseClient, ClientError, Filter, TailRow, parse_filters
from pulsetui.dialogs.row_detail import RowDetail
from pulsetui.format import STREAM_COLUMNS, column_alias
from pulsetui.messages import TailFailed, TailRows
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.tail_table import TailTable, columns_for
from pulsetui.widgets.view_bar import ViewBar

CAP = 2000
"""Rows the table keeps (and rows held while paused)."""

RECENT = 200
"""Stored rows shown when a stream opens (start "recent"), before the live ones."""

START_LABELS = {
    "recent": f"last {RECENT}, then live",
    "earliest": "from earliest",
    "latest": "live only",
}
"""How the info line names each start."""


class StreamsScreen(PulseScreen):
    """The Streams view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause/resume"),
        Binding("e", "restart('earliest')", "Earliest"),
        Binding("l", "restart('latest')", "Live"),
        Binding("s", "focus_widget('#stream-pick')", "Stream"),
        Binding("f", "focus_widget('#column-filter')", "Filter"),
        Binding("slash", "focus_widget('#text-filter')", "Search"),
        Binding("c", "clear", "Clear", show=False),
    ]

    class Listed(Message):
        """The daemon's streams and their columns (Streams.List)."""

        def __init__(self, streams: dict[str, list[str]]) -> None:
            super().__init__()
            self.streams = streams

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.stream = "messages"
        self.filters: list[Filter] = []
        self.start = "recent"
        """recent (the last RECENT rows, then live) | earliest | latest (new rows only)."""
        self.paused = False
        self.held: deque[TailRow] = deque(maxlen=CAP)
        self.generation = 0
        self.problem = ""
        self._rate_mark = (time.monotonic(), 0)
        self.rate = 0.0
        """Rows per second received, over the last info refresh."""
        self.known: dict[str, list[str]] = {}
        """Columns of each stream the daemon listed."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="streams-bar"):
            yield Select(
                [(name, name) for name in STREAM_COLUMNS],
                value=self.stream,
                allow_blank=False,
                id="stream-pick",
                compact=True,
            )
            yield Input(
                placeholder="column=value …",
                id="column-filter",
                compact=True,
                tooltip=FORMS,
            )
            yield Input(placeholder="/ text", id="text-filter", compact=True)
        yield Static(id="streams-info")
        yield TailTable(columns_for(STREAM_COLUMNS[self.stream]), cap=CAP, id="stream-table")
        yield StatusBar()
        yield ViewBar("streams")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(TailTable).focus()
        self.set_interval(0.5, self._show_info)
        self.restart()
        self.list_streams()

    def reconnected(self) -> None:
        """The daemon is back; the tail resumes by itself."""

    # -- the tail -------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="streams-list")
    async def list_streams(self) -> None:
        """Streams.List; the answer arrives as Listed (nothing when it fails)."""
        try:
            resp = await self.client.list_streams()
        except ClientError:
            return  # the streams known to this console are listed already
        self.post_message(self.Listed({s.name: [c.name for c in s.columns] for s in resp.streams}))

    @on(Listed)
    def listed(self, message: Listed) -> None:
        self.known = message.streams
        pick = self.query_one("#stream-pick", Select)
        names = list(message.streams)
        if names and set(names) != set(STREAM_COLUMNS):
            with pick.prevent(Select.Changed):
                pick.set_options([(n, n) for n in names])
                if self.stream in names:
                    pick.value = self.stream

    def _columns(self, stream: str) -> list[tuple[str, int]]:
        """The columns shown for ``stream``: the chosen ones, or the first few it has."""
        if stream in STREAM_COLUMNS:
            return list(STREAM_COLUMNS[stream])
        names = [c for c in self.known.get(stream, []) if c != "id"][:6]
        return [(n, 11 if n == "timestamp" else 12) for n in names[:-1]] + [
            (n, 0) for n in names[-1:]
        ]

    def restart(self) -> None:
        """(Re)start the tail with the current stream, filters and start."""
        self.generation += 1
        self.problem = ""
        self.held.clear()
        table = self.query_one(TailTable)
        table.set_columns(columns_for(self._columns(self.stream)))
        table.clear()
        self._rate_mark = (time.monotonic(), 0)
        self.follow(self.generation, self.stream, list(self.filters), self.start)
        self._show_info()

    @work(exclusive=True, exit_on_error=False, group="streams-tail")
    async def follow(self, generation: int, stream: str, filters: list[Filter], start: str) -> None:
        """Tail ``stream`` from ``start`` ("recent": the last RECENT rows first); batches
        arrive as TailRows, a refusal as TailFailed."""
        try:
            after: str | int = start
            if start == "recent":
                after, recent = await self._recent(stream, filters)
                if recent:
                    self.post_message(TailRows(generation, recent))
            async for rows in self.client.follow(stream, filters, start=after):
                self.post_message(TailRows(generation, rows))
        except ClientError as err:
            self.post_message(TailFailed(generation, err))

    async def _recent(self, stream: str, filters: list[Filter]) -> tuple[int | str, list[TailRow]]:
        """Where the live tail starts and the rows shown before it: the stream's last seq
        and its last RECENT rows matching ``filters`` up to that seq, oldest first
        ("latest" and none when the daemon went away meanwhile: the tail then waits for it).

        Raises:
            ClientError: the daemon refused the query (unknown stream, bad filter).
        """
        client = self.client
        await client.online.wait()
        try:
            last = await client.last_seq(stream)
            rows = await client.query_rows(stream, filters, order="desc", limit=RECENT)
        except ClientError as err:
            if err.unreachable:
                return "latest", []
            raise
        return last, [r for r in reversed(rows) if r.seq <= last]

    @on(TailRows)
    def rows(self, message: TailRows) -> None:
        if message.generation != self.generation:
            return
        if self.paused:
            self.held.extend(message.rows)
        else:
            self.query_one(TailTable).add_rows(message.rows)

    @on(TailFailed)
    def tail_failed(self, message: TailFailed) -> None:
        if message.generation == self.generation:
            self.problem = message.error.message
            self._show_info()

    def _show_info(self) -> None:
        table = self.query_one(TailTable)
        now = time.monotonic()
        then, seen = self._rate_mark
        if now - then >= 0.4:
            self.rate = (table.received + len(self.held) - seen) / (now - then)
            self._rate_mark = (now, table.received + len(self.held))
        parts: list[str | tuple[str, str]] = []
        if self.problem:
            parts.append((f"✖ {self.problem}", "bold $text-error"))
        elif self.paused:
            parts.append((f"❚❚ paused · {len(self.held)} new rows held", "bold $text-warning"))
        else:
            parts.append(("▶ live", "bold $text-success"))
        parts.append(f" · {START_LABELS.get(self.start, self.start)}")
        parts.append(f" · {table.row_count} shown / {table.kept_count} kept (max {CAP})")
        parts.append(f" · {self.rate:,.0f} rows/s")
        if not table.following:
            parts.append((" · End: follow", "$text-muted"))
        self.query_one("#streams-info", Static).update(Content.assemble(*parts))

    # -- controls -------------------------------------------------------------------------

    @on(Select.Changed, "#stream-pick")
    def stream_picked(self, event: Select.Changed) -> None:
        value = str(event.value)
        if value != self.stream:
            self.stream = value
            self.filters = []
            self.query_one("#column-filter", Input).value = ""
            self.restart()

    @on(Input.Submitted, "#column-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        try:
            filters = [column_alias(f, self.stream) for f in parse_filters(event.value)]
        except ValueError as err:
            self.problem = str(err)
            self._show_info()
            return
        self.filters = filters
        self.restart()
        self.query_one(TailTable).focus()

    @on(Input.Changed, "#text-filter")
    def text_changed(self, event: Input.Changed) -> None:
        self.query_one(TailTable).text_filter = event.value
        self._show_info()

    @on(Input.Submitted, "#text-filter")
    def text_submitted(self) -> None:
        self.query_one(TailTable).focus()

    @on(TailTable.RowOpened)
    def row_opened(self, event: TailTable.RowOpened) -> None:
        self.app.push_screen(RowDetail(event.row))

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused and self.held:
            self.query_one(TailTable).add_rows(list(self.held))
            self.held.clear()
        self._show_info()

    def action_restart(self, start: str) -> None:
        self.start = start
        self.paused = False
        self.restart()

    def action_clear(self) -> None:
        self.query_one(TailTable).clear()
        self._show_info()

    def action_focus_widget(self, selector: str) -> None:
        self.query_one(selector).focus()
