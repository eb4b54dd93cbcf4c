"""SkillsDialog: the agent's skills in a table, with why each unavailable one is out."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from pulsectl.client import AsyncPulseClient
from pulsectl.client.skills import why_not

if TYPE_CHECKING:
    from pulse.v1 import skills_pb2

STATE_STYLE = {
    "available": "green",
    "unavailable": "yellow",
    "invalid": "red",
    "disabled": "dim",
}


class SkillsDialog(ModalScreen[None]):
    """Skills.List as a table; the highlighted skill's details below it. Escape or q
    closes it."""

    DEFAULT_CSS = """
    SkillsDialog { align: center middle; }
    SkillsDialog > Vertical {
        width: 90%;
        height: 80%;
        border: round $primary;
        background: $surface;
        border-title-color: $primary;
        border-subtitle-color: $text-muted;
    }
    SkillsDialog DataTable { height: 1fr; }
    SkillsDialog #skill-detail { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    class Loaded(Message):
        """The daemon's answer to Skills.List."""

        def __init__(self, response: skills_pb2.ListSkillsResponse) -> None:
            super().__init__()
            self.response = response

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__()
        self.client = client
        self.skills: list[skills_pb2.Skill] = []
        """The skills shown, in table order."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Skills"
            box.border_subtitle = "esc close · ↑↓ select"
            table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_columns("skill", "state", "source", "description / why")
            yield table
            yield Static("loading…", id="skill-detail")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    @work(exclusive=True, exit_on_error=False, group="skills")
    async def load(self) -> None:
        """Ask the daemon for its skills; the answer arrives as ``Loaded``."""
        self.post_message(self.Loaded(await self.client.list_skills()))

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        resp = message.response
        self.skills = list(resp.skills)
        table = self.query_one(DataTable)
        table.clear()
        for s in self.skills:
            state = f"[{STATE_STYLE.get(s.state, '')}]{s.state}[/]"
            table.add_row(s.name, state, s.source, why_not(s) or s.description, key=s.name)
        available = sum(1 for s in self.skills if s.state == "available")
        box = self.query_one(Vertical)
        box.border_title = f"Skills — {available} of {len(self.skills)} available"
        if not resp.enabled:
            box.border_title += " ([skills] enabled = false)"
        self._detail(0)

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, row: int) -> None:
        detail = self.query_one("#skill-detail", Static)
        if not self.skills:
            detail.update("no skills found")
            return
        s = self.skills[min(max(row, 0), len(self.skills) - 1)]
        lines = [f"{s.name} · {s.state} · {s.path}"]
        if why_not(s):
            lines.append(why_not(s))
        lines += [f"overrides {p}" for p in s.overrides]
        detail.update("\n".join(lines))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
