"""ViewBar: the view keys (F1-F5), the palette and quit keys, above the footer.

Textual's Footer lists the focused widget's keys first and scrolls the rest out of sight
at 80 columns, so the keys that switch views get a line of their own, the current view
highlighted.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

VIEW_KEYS = (
    ("chat", "F1", "Chat"),
    ("streams", "F2", "Streams"),
    ("tasks", "F3", "Tasks"),
    ("costs", "F4", "Costs"),
    ("events", "F5", "Events"),
)


class ViewBar(Static):
    """One line: ``F1 Chat  F2 Streams … ^p palette  ^q quit``."""

    DEFAULT_CSS = """
    ViewBar {
        height: 1;
        background: $footer-background;
        color: $footer-description-foreground;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__(render_bar(current))
        self.current = current


def render_bar(current: str) -> Content:
    """The bar's text with ``current`` (a mode name) highlighted."""
    parts: list[str | tuple[str, str]] = []
    for mode, key, title in VIEW_KEYS:
        if mode == current:
            parts += [
                (f" {key} ", "bold reverse $footer-key-foreground"),
                (f"{title} ", "bold reverse"),
            ]
        else:
            parts += [(f" {key} ", "bold $footer-key-foreground"), f"{title} "]
    parts += [
        "  ",
        (" ^p ", "bold $footer-key-foreground"),
        "palette ",
        (" ^q ", "bold $footer-key-foreground"),
        "quit",
    ]
    return Content.assemble(*parts)
