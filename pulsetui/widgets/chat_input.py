"""ChatInput: multi-line message entry with a history, for plain terminals.

Enter sends; ctrl+j (what many terminals send for ctrl+enter) or alt+enter starts a new
line, and pasted text keeps its lines. Up on the first line and down on the last one walk
through the messages sent before, as in a shell.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "alt+enter", "shift+enter")


class ChatInput(TextArea):
    """The message box of the Chat view."""

    DEFAULT_CSS = """
    ChatInput {
        height: auto;
        min-height: 3;
        max-height: 8;
        border: round $primary 50%;
        &:focus { border: round $primary; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", show=True, priority=False),
        Binding("ctrl+j", "newline", "New line", show=True),
    ]

    class Submitted(Message):
        """The person pressed Enter on a non-empty message."""

        def __init__(self, chat_input: ChatInput, text: str) -> None:
            super().__init__()
            self.chat_input = chat_input
            self.text = text

        @property
        def control(self) -> ChatInput:
            return self.chat_input

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:  # noqa: A002
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            placeholder=placeholder,
        )
        self.sent: list[str] = []
        """Messages sent, oldest first."""
        self._browse = -1
        self._draft = ""

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            self._stop(event)
            self.action_submit()
        elif key in NEWLINE_KEYS:
            self._stop(event)
            self.action_newline()
        elif key == "up" and self.cursor_location[0] == 0 and self.sent:
            self._stop(event)
            self._walk(-1)
        elif key == "down" and self._browse >= 0 and self.cursor_at_last_line:
            self._stop(event)
            self._walk(1)

    @staticmethod
    def _stop(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

    @property
    def cursor_at_last_line(self) -> bool:
        """Whether the cursor is on the text's last line."""
        return self.cursor_location[0] == self.document.line_count - 1

    def _walk(self, step: int) -> None:
        """Show the previous (-1) or next (+1) message of the history."""
        if self._browse < 0:
            if step > 0:
                return
            self._draft = self.text
            self._browse = len(self.sent)
        self._browse += step
        if self._browse < 0:
            self._browse = 0
            return
        if self._browse >= len(self.sent):
            self._browse = -1
            self.load_text(self._draft)
        else:
            self.load_text(self.sent[self._browse])
        self.move_cursor(self.document.end)

    def action_newline(self) -> None:
        """Insert a line break at the cursor."""
        self.insert("\n")

    def action_submit(self) -> None:
        """Send the text (when there is some) and remember it."""
        text = self.text
        if not text.strip():
            return
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
        self._browse = -1
        self._draft = ""
        self.clear()
        self.post_message(self.Submitted(self, text))
