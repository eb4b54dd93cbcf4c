"""Charts made of block characters, readable in any 256-colour terminal and theme.

``BarChart``: one labelled horizontal bar per key (cost by model, by origin).
``ColumnChart``: one column per day, a few lines high, spread over the whole width, with
the first, middle and last dates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

EIGHTHS = " ▏▎▍▌▋▊▉█"
"""Left-aligned partial blocks, 0/8 to 8/8 of a cell."""

LEVELS = " ▁▂▃▄▅▆▇█"
"""Bottom-aligned partial blocks, 0/8 to 8/8 of a cell."""


def hbar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` (0-1) of ``width`` cells long, in eighths."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


class BarChart(Widget):
    """Horizontal bars: ``label ████▌    value`` per item, the largest bar full width."""

    DEFAULT_CSS = """
    BarChart { height: auto; color: $primary; }
    """

    items: reactive[tuple[tuple[str, float], ...]] = reactive((), layout=True)
    """(label, value) pairs in the order shown."""

    def __init__(
        self,
        *,
        fmt: Callable[[float], str] = str,
        empty: str = "no data",
        limit: int = 6,
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.fmt = fmt
        self.empty = empty
        self.limit = limit

    def set_items(self, items: Sequence[tuple[str, float]]) -> None:
        """Show these (label, value) pairs; beyond ``limit`` they are summed as "other"."""
        items = list(items)
        if len(items) > self.limit:
            rest = sum(v for _, v in items[self.limit - 1 :])
            items = items[: self.limit - 1] + [("other", rest)]
        self.items = tuple(items)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self.items))

    def render(self) -> Content:
        if not self.items:
            return Content.styled(self.empty, "$text-muted")
        width = self.content_region.width or 40
        values = [self.fmt(v) for _, v in self.items]
        label_w = min(16, max(len(k) for k, _ in self.items))
        value_w = max(len(v) for v in values)
        bar_w = max(4, width - label_w - value_w - 2)
        top = max((v for _, v in self.items), default=0) or 1
        lines = []
        for (key, value), shown in zip(self.items, values, strict=True):
            label = (key if len(key) <= label_w else key[: label_w - 1] + "…").ljust(label_w)
            lines.append(
                Content.assemble(
                    (label + " ", "$foreground"),
                    (hbar(value / top, bar_w), ""),
                    (" " + shown.rjust(value_w), "$foreground"),
                )
            )
        return Content("\n").join(lines)


class ColumnChart(Widget):
    """Vertical columns, one per key (a day), ``rows`` lines high, dates underneath."""

    DEFAULT_CSS = """
    ColumnChart { height: auto; color: $accent; }
    """

    items: reactive[tuple[tuple[str, float], ...]] = reactive((), layout=True)

    def __init__(
        self,
        *,
        rows: int = 4,
        fmt: Callable[[float], str] = str,
        empty: str = "no data",
        id: str | None = None,  # noqa: A002 - Textual's name
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.rows = rows
        self.fmt = fmt
        self.empty = empty

    def set_items(self, items: Sequence[tuple[str, float]]) -> None:
        """Show these (label, value) pairs, oldest first."""
        self.items = tuple(items)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return self.rows + 1 if self.items else 1

    def render(self) -> Content:
        if not self.items:
            return Content.styled(self.empty, "$text-muted")
        width = self.content_region.width or 40
        peak = max(v for _, v in self.items)
        axis = self.fmt(peak)
        room = max(1, width - len(axis) - 1)
        items = self.items[-room:]
        bar, gaps = column_layout(len(items), room)
        top = peak or 1
        lines = []
        for r in range(self.rows, 0, -1):
            cells = []
            for (_, v), gap in zip(items, gaps, strict=True):
                level = max(0.0, min(8.0, (v / top) * self.rows * 8 - (r - 1) * 8))
                ch = LEVELS[round(level)] if v else " "
                if r == 1 and v and ch == " ":
                    ch = "▁"
                cells.append(ch * bar + " " * gap)
            prefix = axis if r == self.rows else " " * len(axis)
            lines.append(Content.assemble((prefix + " ", "$text-muted"), "".join(cells)))
        lines.append(
            Content.styled(" " * (len(axis) + 1) + date_line(items, bar, gaps), "$text-muted")
        )
        return Content("\n").join(lines)


def column_layout(n: int, room: int) -> tuple[int, list[int]]:
    """How ``n`` columns fill ``room`` cells: (the width of each column, the gap after
    each), the gaps between columns differing by at most one cell so the first column
    starts at the left edge and the last one ends at the right edge."""
    if n <= 0:
        return 1, []
    bar = max(1, room // n - 1) if room >= 2 * n else 1
    spare = max(0, room - bar * n)
    if n == 1:
        return bar, [spare]
    between = n - 1
    gaps = [spare * (i + 1) // between - spare * i // between for i in range(between)]
    return bar, [*gaps, 0]


def date_line(items: Sequence[tuple[str, float]], bar: int, gaps: Sequence[int]) -> str:
    """The dates under the columns: the first (left), the middle one (under its column)
    and the last (right-aligned under the last column), as MM-DD."""
    starts = []
    x = 0
    for gap in gaps:
        starts.append(x)
        x += bar + gap
    end = starts[-1] + bar if starts else 0
    line = [" "] * max(end, 5)

    def put(at: int, text: str) -> None:
        at = max(0, min(at, len(line) - len(text)))
        if all(c == " " for c in line[max(0, at - 1) : at + len(text) + 1]):
            line[at : at + len(text)] = text

    put(0, items[0][0][5:10])
    put(end - 5, items[-1][0][5:10])
    mid = len(items) // 2
    if 0 < mid < len(items) - 1:
        put(starts[mid] + bar // 2 - 2, items[mid][0][5:10])
    return "".join(line)
