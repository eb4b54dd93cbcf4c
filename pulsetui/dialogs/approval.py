"""Approval: the agent wants to run a tool whose policy is "ask"."""

from __future__ import annotations

import json
import time
from typing import ClassVar, Literal

from pulse.v1 import chat_pb2
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

Decision = Literal["once", "session", "deny"]


def render_detail(detail: str) -> Text:
    """The tool's detail text, a unified diff's added and removed lines coloured."""
    out = Text()
    for line in detail.splitlines(keepends=True):
        if line.startswith("+") and not line.startswith("+++"):
            out.append(line, "green")
        elif line.startswith("-") and not line.startswith("---"):
            out.append(line, "red")
        elif line.startswith("@@"):
            out.append(line, "cyan")
        elif line.startswith("$ "):
            out.append(line, "bold")
        else:
            out.append(line)
    return out


class Approval(ModalScreen[Decision]):
    """A panel along the bottom, over the conversation (which stays visible above it):
    the tool, what it would do (the daemon's detail: the shell's exact command and why
    it asks, write_file's diff; else the arguments) and three answers: allow once (y),
    allow for this session (s: the same call runs unasked for the rest of the session),
    deny (n or escape). Dismissed with ``once``, ``session`` or ``deny``.

    The daemon denies by itself when ``timeout_s`` passes; the dialog counts down and
    closes as denied then.
    """

    DEFAULT_CSS = """
    Approval { align: center bottom; background: $background 15%; }
    Approval > Vertical {
        width: 100%;
        height: auto;
        max-height: 70%;
        border: round $warning;
        background: $surface;
        padding: 0 1;
        border-title-color: $warning;
    }
    Approval VerticalScroll { height: auto; max-height: 14; background: $panel; }
    Approval Horizontal { height: auto; align: center middle; }
    Approval Button { margin: 0 1; min-width: 10; }
    Approval #countdown { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer('once')", "Allow once"),
        Binding("s", "answer('session')", "Allow for session"),
        Binding("n,escape", "answer('deny')", "Deny"),
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
            box.border_title = f"approval needed: {self.request.tool}"
            yield Static(Text.assemble("Run tool ", (self.request.tool, "bold"), "?"))
            with VerticalScroll():
                if self.request.detail:
                    yield Static(render_detail(self.request.detail), id="detail")
                else:
                    yield Static(Text(args), id="arguments")
            yield Static("", id="countdown")
            with Horizontal():
                yield Button("Allow once (y)", id="once", variant="success")
                yield Button("Allow for this session (s)", id="session", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#deny", Button).focus()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.dismiss("deny")
            return
        self.query_one("#countdown", Static).update(f"denied automatically in {left:.0f} s")

    def action_answer(self, decision: Decision) -> None:
        self.dismiss(decision)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        decision = event.button.id
        self.dismiss(decision if decision in ("once", "session") else "deny")  # type: ignore[arg-type]
