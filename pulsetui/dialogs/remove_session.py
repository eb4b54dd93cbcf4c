"""RemoveSession: confirm removing a chat session, optionally purging its rows."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static

REMOVE = "remove"
PURGE = "purge"


class RemoveSession(ModalScreen[str | None]):
    """Dismissed with ``remove`` (hide it), ``purge`` (hide it and delete its rows; only
    when ``purge_offered``) or None (keep it: n, Escape).

    Args:
        session_id: the session asked about.
        title: its title, shown to recognise it.
        purge_offered: whether the store can delete rows (the local backend); otherwise
            the dialog says why it cannot.
    """

    DEFAULT_CSS = """
    RemoveSession { align: center middle; }
    RemoveSession > Vertical {
        width: 66;
        max-width: 95%;
        height: auto;
        border: round $warning;
        background: $surface;
        padding: 1 2;
    }
    RemoveSession .hint { color: $text-muted; }
    RemoveSession Checkbox { margin-top: 1; }
    RemoveSession Horizontal { height: auto; align: center middle; margin-top: 1; }
    RemoveSession Button { margin: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Remove"),
        Binding("n,escape", "answer(False)", "Keep"),
        Binding("p", "toggle_purge", "Purge", show=False),
    ]

    def __init__(self, session_id: str, title: str, *, purge_offered: bool) -> None:
        super().__init__()
        self.session_id = session_id
        self.session_title = title
        self.purge_offered = purge_offered

    def compose(self) -> ComposeResult:
        with Vertical():
            shown = f" ({self.session_title})" if self.session_title else ""
            yield Static(Text(f"Remove session {self.session_id}{shown} from the list?"))
            yield Static(
                Text("Its rows stay in the streams; it comes back when written to again."),
                classes="hint",
            )
            if self.purge_offered:
                yield Checkbox(
                    "also delete its messages and logs for good (p); memories stay",
                    id="purge",
                )
            else:
                yield Static(
                    Text("(The Timeplus backend keeps every row: its streams are append-only.)"),
                    classes="hint",
                )
            with Horizontal():
                yield Button("Remove (y)", id="yes", variant="error")
                yield Button("Keep (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @property
    def purge(self) -> bool:
        """Whether the purge box is ticked."""
        boxes = self.query("#purge").results(Checkbox)
        return any(box.value for box in boxes)

    def action_toggle_purge(self) -> None:
        for box in self.query("#purge").results(Checkbox):
            box.toggle()

    def action_answer(self, yes: bool) -> None:
        self.dismiss((PURGE if self.purge else REMOVE) if yes else None)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.action_answer(event.button.id == "yes")
