"""Approval: the agent wants to run a tool whose policy is "ask"."""

from __future__ import annotations

import json
import time
from typing import ClassVar

from pulse.v1 import chat_pb2
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class Approval(ModalScreen[bool]):
    """Shows the tool and its arguments; dismissed with True (allow) or False (deny).

    The daemon denies by itself when ``timeout_s`` passes; the dialog counts down and
    closes as denied then.
    """

    DEFAULT_CSS = """
    Approval { align: center middle; }
    Approval > Vertical {
        width: 76;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: round $warning;
        background: $surface;
        padding: 0 1;
        border-title-color: $warning;
    }
    Approval VerticalScroll { height: auto; max-height: 12; background: $panel; }
    Approval Horizontal { height: auto; align: center middle; }
    Approval Button { margin: 0 1; }
    Approval #countdown { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Allow"),
        Binding("n,escape", "answer(False)", "Deny"),
    ]

    def __init__(self, request: chat_pb2.ApprovalRequest) -> None:
        super().__init__()
        self.request = request
        self.deadline = time.monotonic() + (request.timeout_s or 120)

    def compose(self) -> ComposeResult:
        try:
            args = json.dumps(json.loads(self.request.arguments_json), indent=2)
        except ValueError:
            args = self.request.arguments_json
        with Vertical() as box:
            box.border_title = "approval needed"
            yield Static(Text.assemble("Run tool ", (self.request.tool, "bold"), "?"))
            with VerticalScroll():
                yield Static(Text(args))
            yield Static("", id="countdown")
            with Horizontal():
                yield Button("Allow (y)", id="allow", variant="success")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#deny", Button).focus()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.dismiss(False)
            return
        self.query_one("#countdown", Static).update(f"denied automatically in {left:.0f} s")

    def action_answer(self, allow: bool) -> None:
        self.dismiss(allow)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "allow")
