"""Events: the daemon's events stream live, coloured by severity, with a filter.

It opens on the last ``BACKLOG`` events, then follows the stream. The filter takes free
text and ``column=value`` terms (as in Streams); ``v`` cycles the lowest severity shown.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Footer, Input, Static

from pulsectl.client import AsyncPulseClient, ClientError, Filter, TailRow, parse_filters
from pulsetui.dialogs.row_detail import RowDetail
from pulsetui.format import STREAM_COLUMNS
from pulsetui.messages import TailFailed, TailRows
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.tail_table import TailTable, columns_for
from pulsetui.widgets.view_bar import ViewBar

BACKLOG = 200
SEVERITIES = ("debug", "info", "warning", "error", "critical")


def tone(row: TailRow) -> str:
    """The row's severity, for its colour."""
    return str(row.values.get("severity", ""))


class EventsScreen(PulseScreen):
    """The Events view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash,f", "focus_filter", "Filter"),
        Binding("v", "cycle_severity", "Severity"),
    ]

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.generation = 0
        self.filters: list[Filter] = []
        self.min_severity = "debug"
        self.problem = ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="events-bar"):
            yield Input(
                placeholder="/ filter: text, or column=value (e.g. event_type=daemon_started)",
                id="events-filter",
                compact=True,
            )
        yield Static(id="events-info")
        yield TailTable(
            columns_for(STREAM_COLUMNS["events"]), cap=2000, tone=tone, id="events-table"
        )
        yield StatusBar()
        yield ViewBar("events")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(TailTable).focus()
        self.restart()

    def reconnected(self) -> None:
        """The tail resumes by itself."""

    def restart(self) -> None:
        """(Re)start the tail with the current filters and lowest severity."""
        self.generation += 1
        self.problem = ""
        self.query_one(TailTable).clear()
        severity = SEVERITIES.index(self.min_severity)
        filters = list(self.filters)
        if severity:
            # Severities are words; the daemon filters exact values, so ask for each one.
            wanted = SEVERITIES[severity:]
            self.follow(self.generation, filters, wanted)
        else:
            self.follow(self.generation, filters, ())
        self._info()

    @work(exclusive=True, exit_on_error=False, group="events-tail")
    async def follow(
        self, generation: int, filters: list[Filter], severities: tuple[str, ...]
    ) -> None:
        """The last ``BACKLOG`` events, then the live tail, as TailRows; TailFailed when refused."""
        client = self.client
        keep = set(severities)
        try:
            await client.online.wait()
            backlog = await client.query_rows("events", filters, order="desc", limit=BACKLOG)
            backlog.reverse()
            last = max((r.seq for r in backlog), default=0) or await client.last_seq("events")
            first = [r for r in backlog if not keep or r.values.get("severity") in keep]
            if first:
                self.post_message(TailRows(generation, first))
            async for rows in client.follow("events", filters, start=last):
                rows = [r for r in rows if not keep or r.values.get("severity") in keep]
                if rows:
                    self.post_message(TailRows(generation, rows))
        except ClientError as err:
            self.post_message(TailFailed(generation, err))

    @on(TailRows)
    def rows(self, message: TailRows) -> None:
        if message.generation == self.generation:
            self.query_one(TailTable).add_rows(message.rows)
            self._info()

    @on(TailFailed)
    def failed(self, message: TailFailed) -> None:
        if message.generation == self.generation:
            self.problem = message.error.message
            self._info()

    def _info(self) -> None:
        table = self.query_one(TailTable)
        parts: list[str | tuple[str, str]] = []
        if self.problem:
            parts.append((f"✖ {self.problem}", "bold $text-error"))
        else:
            parts.append(("▶ live", "bold $text-success"))
        parts.append(f" · severity ≥ {self.min_severity} · {table.row_count} events")
        self.query_one("#events-info", Static).update(Content.assemble(*parts))

    @on(Input.Submitted, "#events-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        text_terms: list[str] = []
        column_terms: list[str] = []
        for term in event.value.split():
            (column_terms if any(s in term for s in "=<>~") else text_terms).append(term)
        try:
            filters = parse_filters(" ".join(column_terms))
        except ValueError as err:
            self.problem = str(err)
            self._info()
            return
        table = self.query_one(TailTable)
        table.text_filter = " ".join(text_terms)
        if filters != self.filters:
            self.filters = filters
            self.restart()
        self._info()
        table.focus()

    @on(TailTable.RowOpened)
    def row_opened(self, event: TailTable.RowOpened) -> None:
        self.app.push_screen(RowDetail(event.row))

    def action_focus_filter(self) -> None:
        self.query_one("#events-filter", Input).focus()

    def action_cycle_severity(self) -> None:
        i = SEVERITIES.index(self.min_severity)
        self.min_severity = SEVERITIES[(i + 1) % (len(SEVERITIES) - 1)]
        self.restart()
