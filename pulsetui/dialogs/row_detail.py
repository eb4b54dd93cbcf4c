"""RowDetail: one stream row shown whole, its JSON pretty-printed."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from pulsectl.client import TailRow
from pulsetui.format import pretty_json


class RowDetail(ModalScreen[None]):
    """A modal with the row's JSON; Escape, Enter or q closes it."""

    DEFAULT_CSS = """
    RowDetail { align: center middle; }
    RowDetail > Vertical {
        width: 90%;
        height: 90%;
        border: round $primary;
        background: $surface;
        border-title-color: $primary;
        border-subtitle-color: $text-muted;
    }
    RowDetail VerticalScroll { padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "dismiss", "Close"),
    ]

    def __init__(self, row: TailRow) -> None:
        super().__init__()
        self.row = row

    def compose(self) -> ComposeResult:
        dark = self.app.current_theme.dark if self.app.current_theme else True
        code = Syntax(
            pretty_json(self.row.values),
            "json",
            theme="ansi_dark" if dark else "ansi_light",
            word_wrap=True,
            background_color="default",
        )
        with Vertical() as box:
            box.border_title = f"{self.row.stream} #{self.row.seq}"
            box.border_subtitle = "esc close · ↑↓ scroll"
            with VerticalScroll(can_focus=True):
                yield Static(code, id="row-json")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
