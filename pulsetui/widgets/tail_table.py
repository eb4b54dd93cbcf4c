"""TailTable: a live table of stream rows that stays cheap at thousands of rows a second.

A Line API widget: it keeps at most ``cap`` rows (oldest dropped first) and renders only
the lines on screen, so adding a batch costs the size of the batch, not of the table
(DataTable re-indexes every row on each removal). The first line is a fixed header.
While the cursor is on the last row the table follows new rows; moving up stops that,
End resumes it. A text filter hides rows whose text does not contain it. Columns are as
wide as their header and the widest cell kept (at most their configured width); the
column of width 0 (the content) gets the rest of the line.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pulsectl.client import TailRow
from pulsetui.format import SHORT_NAMES, cell


@dataclass(frozen=True, slots=True)
class TableColumn:
    """A column: the row value it shows, its header label, its widest in cells (0: it
    takes the rest of the line)."""

    name: str
    label: str
    width: int


@dataclass(slots=True)
class TableRow:
    """A row as the table keeps it: the tail row, its cells and its search text."""

    row: TailRow
    cells: tuple[str, ...]
    text: str
    """Lower-cased text of every cell and value, for the text filter."""
    tone: str = ""
    """A severity (debug, info, warning, error, critical) colouring the row, or ''."""


def columns_for(names: Iterable[tuple[str, int]]) -> list[TableColumn]:
    """Table columns for ``(name, width)`` pairs, a ``seq`` column first."""
    cols = [TableColumn("seq", "seq", 6)]
    cols += [TableColumn(n, SHORT_NAMES.get(n, n), w) for n, w in names]
    return cols


class TailTable(ScrollView, can_focus=True):
    """Rows of one stream, newest last, at most ``cap`` of them."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tail-table--header",
        "tail-table--cursor",
        "tail-table--debug",
        "tail-table--warning",
        "tail-table--error",
        "tail-table--critical",
    }

    DEFAULT_CSS = """
    TailTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
        & > .tail-table--header { text-style: bold; color: $primary; background: $panel; }
        & > .tail-table--cursor { background: $primary 30%; }
        &:focus > .tail-table--cursor { background: $primary 60%; text-style: bold; }
        & > .tail-table--debug { color: $text-muted; }
        & > .tail-table--warning { color: $warning; }
        & > .tail-table--error { color: $error; }
        & > .tail-table--critical { color: $error; text-style: bold reverse; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Follow", show=False),
        Binding("enter", "open", "Open row"),
    ]

    class RowOpened(Message):
        """Enter on a row: show it whole."""

        def __init__(self, table: TailTable, row: TailRow) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> TailTable:
            return self.table

    text_filter: var[str] = var("")
    """Only rows whose text contains this (case-insensitive) are shown."""

    def __init__(
        self,
        columns: list[TableColumn] | None = None,
        *,
        cap: int = 2000,
        tone: Callable[[TailRow], str] | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cap = cap
        self.columns = columns or columns_for(())
        self._tone = tone
        self._all: deque[TableRow] = deque(maxlen=cap)
        self._shown: deque[TableRow] = deque(maxlen=cap)
        self.cursor = -1
        self.following = True
        """Whether the cursor sticks to the newest row."""
        self.received = 0
        """Rows added since the last ``clear``."""
        self._natural = self._header_widths()
        """Per column: the widest of its header and of its cells kept, in cells."""

    # -- content --------------------------------------------------------------------------

    def set_columns(self, columns: list[TableColumn]) -> None:
        """Show these columns (the rows kept are re-rendered for them)."""
        self.columns = columns
        rows = [r.row for r in self._all]
        self._all.clear()
        self._shown.clear()
        self._natural = self._header_widths()
        self._append([self._make(r) for r in rows])
        self.refresh()

    def clear(self) -> None:
        """Forget every row."""
        self._all.clear()
        self._shown.clear()
        self.cursor = -1
        self.following = True
        self.received = 0
        self._natural = self._header_widths()
        self._update_size()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def add_rows(self, rows: list[TailRow]) -> None:
        """Append a batch of rows (the oldest beyond ``cap`` drop off)."""
        if not rows:
            return
        self.received += len(rows)
        self._append([self._make(r) for r in rows[-self.cap :]])

    @property
    def row_count(self) -> int:
        """Rows shown (after the text filter)."""
        return len(self._shown)

    @property
    def kept_count(self) -> int:
        """Rows kept (before the text filter)."""
        return len(self._all)

    @property
    def rows(self) -> list[TailRow]:
        """The rows shown, oldest first."""
        return [r.row for r in self._shown]

    @property
    def cursor_row(self) -> TailRow | None:
        """The row under the cursor."""
        return self._shown[self.cursor].row if 0 <= self.cursor < len(self._shown) else None

    def _make(self, row: TailRow) -> TableRow:
        values = row.values
        cells = tuple(
            str(row.seq) if c.name == "seq" else cell(c.name, values.get(c.name))
            for c in self.columns
        )
        text = (" ".join(cells) + " " + " ".join(map(str, values.values()))).lower()
        return TableRow(row, cells, text, self._tone(row) if self._tone else "")

    def _header_widths(self) -> list[int]:
        return [cell_len(c.label) for c in self.columns]

    def _append(self, made: list[TableRow]) -> None:
        self._all.extend(made)
        natural = self._natural
        sized = [i for i, c in enumerate(self.columns) if c.width]
        for m in made:
            for i in sized:
                natural[i] = max(natural[i], cell_len(m.cells[i]))
        needle = self.text_filter.lower()
        shown = [m for m in made if needle in m.text] if needle else made
        if shown:
            dropped = max(0, len(self._shown) + len(shown) - self.cap)
            self._shown.extend(shown)
            if not self.following:
                self.cursor = max(0, self.cursor - dropped)
        self._after_change()

    def watch_text_filter(self, old: str, new: str) -> None:
        needle = new.lower()
        self._shown = deque(
            (r for r in self._all if needle in r.text) if needle else self._all, maxlen=self.cap
        )
        self.following = True
        self._after_change()

    def _after_change(self) -> None:
        if self.following or self.cursor >= len(self._shown):
            self.cursor = len(self._shown) - 1
        self._update_size()
        if self.following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def _update_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self._shown) + 1)

    def on_resize(self) -> None:
        self._update_size()

    # -- keys -----------------------------------------------------------------------------

    def _move(self, to: int) -> None:
        n = len(self._shown)
        if not n:
            return
        self.cursor = max(0, min(n - 1, to))
        self.following = self.cursor == n - 1
        top = round(self.scroll_y)
        height = max(1, self.scrollable_content_region.height - 1)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor + step)

    def action_page(self, step: int) -> None:
        self._move(self.cursor + step * max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self._move(0)

    def action_last(self) -> None:
        self._move(len(self._shown) - 1)
        self.following = True

    def action_open(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.RowOpened(self, row))

    # -- rendering ------------------------------------------------------------------------

    def column_widths(self, total: int | None = None) -> list[int]:
        """Each column's width in cells on a line of ``total`` cells (default: the
        table's): the sized columns as wide as their content, the 0-width one the rest."""
        if total is None:
            total = self.scrollable_content_region.width
        sized = [
            min(c.width, n) if c.width else 0
            for c, n in zip(self.columns, self._natural, strict=True)
        ]
        rest = max(8, total - sum(sized) - (len(self.columns) - 1))
        return [w or rest for w in sized]

    def _line(self, cells: Iterable[str], widths: list[int], style: Style, total: int) -> Strip:
        text = " ".join(set_cell_size(c, w) for c, w in zip(cells, widths, strict=False))
        return Strip([Segment(set_cell_size(text, total), style)], total)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        widths = self.column_widths(width)
        if y == 0:
            style = base + self.get_component_rich_style("tail-table--header")
            return self._line((c.label for c in self.columns), widths, style, width)
        index = round(self.scroll_y) + y - 1
        if not 0 <= index < len(self._shown):
            return Strip.blank(width, base)
        row = self._shown[index]
        style = base
        if row.tone in ("debug", "warning", "error", "critical"):
            style += self.get_component_rich_style(f"tail-table--{row.tone}")
        if index == self.cursor:
            style += self.get_component_rich_style("tail-table--cursor")
        return self._line(row.cells, widths, style, width)
