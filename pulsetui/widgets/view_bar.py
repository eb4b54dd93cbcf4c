"""ViewBar: the view keys (F1-F6), the palette and quit keys, above the footer.

Textual's Footer lists the focused widget's keys first and scrolls the rest out of sight
at 80 columns, so the keys that switch views get a line of their own, the current view
highlighted. The line is laid out for the width it has: roomy when it fits, tighter at
80 columns, without the palette and quit words below that.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

VIEW_KEYS = (
    ("chat", "F1", "Chat"),
    ("streams", "F2", "Streams"),
    ("tasks", "F3", "Tasks"),
    ("costs", "F4", "Costs"),
    ("events", "F5", "Events"),
    ("memory", "F6", "Memory"),
)
"""(mode, key, title) of each view, in key order (as the app's VIEWS)."""

KEY = "bold $footer-key-foreground"


class ViewBar(Widget):
    """One line: ``F1 Chat  F2 Streams … F6 Memory  ^p palette  ^q quit``."""

    DEFAULT_CSS = """
    ViewBar {
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current
        """The mode whose key is highlighted."""

    def render(self) -> Content:
        return render_bar(self.current, self.size.width or 80)


def render_bar(current: str, width: int = 80) -> Content:
    """The bar's text with ``current`` (a mode name) highlighted: the widest layout that
    fits in ``width`` cells."""
    for layout in (_roomy, _tight, _views_only):
        bar = layout(current)
        if bar.cell_length <= width:
            return bar
    return bar


def _roomy(current: str) -> Content:
    """`` F1 Chat  F2 Streams …   ^p palette  ^q quit`` (keys padded on both sides)."""
    parts: list[str | tuple[str, str]] = []
    for mode, key, title in VIEW_KEYS:
        if mode == current:
            parts += [(f" {key} ", f"{KEY} reverse"), (f"{title} ", "bold reverse")]
        else:
            parts += [(f" {key} ", KEY), f"{title} "]
    parts += ["  ", (" ^p ", KEY), "palette ", (" ^q ", KEY), "quit"]
    return Content.assemble(*parts)


def _views(current: str) -> list[str | tuple[str, str]]:
    parts: list[str | tuple[str, str]] = []
    for mode, key, title in VIEW_KEYS:
        if mode == current:
            parts += [(f" {key}", f"{KEY} reverse"), (f" {title} ", "bold reverse")]
        else:
            parts += [(f" {key}", KEY), f" {title}"]
    return parts


def _tight(current: str) -> Content:
    """`` F1 Chat F2 Streams …  ^p palette  ^q quit`` (fits 80 columns)."""
    return Content.assemble(
        *_views(current), "  ", ("^p", KEY), " palette", "  ", ("^q", KEY), " quit"
    )


def _views_only(current: str) -> Content:
    """`` F1 Chat F2 Streams … F6 Memory`` (below 80 columns)."""
    return Content.assemble(*_views(current))
