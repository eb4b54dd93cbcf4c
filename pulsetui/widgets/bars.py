"""Charts made of block characters, readable in any 256-colour terminal and theme.

``BarChart``: one labelled horizontal bar per key (cost by model, by origin).
``ColumnChart``: one column per day, a few lines high, with the first and last dates.
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
        step = 2 if len(items) * 2 <= room else 1
        top = peak or 1
        lines = []
        for r in range(self.rows, 0, -1):
            cells = []
            for _, v in items:
                level = max(0.0, min(8.0, (v / top) * self.rows * 8 - (r - 1) * 8))
                ch = LEVELS[round(level)] if v else " "
                if r == 1 and v and ch == " ":
                    ch = "▁"
                cells.append(ch if step == 1 else ch + " ")
            prefix = axis if r == self.rows else " " * len(axis)
            lines.append(Content.assemble((prefix + " ", "$text-muted"), "".join(cells)))
        first, last = items[0][0][5:10], items[-1][0][5:10]
        gap = max(1, len(items) * step - len(first) - len(last))
        footer = " " * (len(axis) + 1) + first + " " * gap + last
        lines.append(Content.styled(footer, "$text-muted"))
        return Content("\n").join(lines)
