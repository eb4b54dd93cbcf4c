"""Memory: what the agent remembers. Search as you type, edit, forget (after a
confirmation), and jump to the session a memory came from.

An empty search lists every current memory (Memory.List, newest change first); text
searches (Memory.Search) and shows each hit's score and why it matched.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from pulse.v1 import memory_pb2
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static

from pulsectl.client import AsyncPulseClient
from pulsetui.dialogs.confirm import Confirm
from pulsetui.dialogs.prompt import Prompt
from pulsetui.format import one_line
from pulsetui.messages import OpenSession
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.view_bar import ViewBar

TYPE_DELAY_S = 0.15
"""Pause after a keystroke before searching (a later keystroke cancels the search)."""


class MemoryScreen(PulseScreen):
    """The Memory view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search"),
        Binding("e", "edit", "Edit"),
        Binding("d,delete", "forget", "Forget"),
        Binding("g", "open_session", "Go to session"),
        Binding("r", "refresh", "Refresh"),
    ]

    class Loaded(Message):
        """Memories to show for ``query``: hits (with scores) or a plain list."""

        def __init__(
            self, query: str, items: list[memory_pb2.MemoryItem], hits: list[memory_pb2.MemoryHit]
        ) -> None:
            super().__init__()
            self.query = query
            self.items = items
            self.hits = hits

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.query_text = ""
        self.items: list[memory_pb2.MemoryItem] = []
        self.scores: dict[str, memory_pb2.MemoryHit] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="memory-bar"):
            yield Input(
                placeholder="/ search memories (empty: all)", id="memory-search", compact=True
            )
        yield Static(id="memory-info")
        yield DataTable(id="memory-table", cursor_type="row", zebra_stripes=True)
        yield StatusBar()
        yield ViewBar("memory")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "updated", "type", "score", "content")
        table.focus()
        self.load("")

    def reconnected(self) -> None:
        self.load(self.query_text)

    # -- workers ------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="memory-load")
    async def load(self, query: str, delay: float = 0.0) -> None:
        """Memory.List ('' query) or Memory.Search; the answer arrives as Loaded."""
        if delay:
            await asyncio.sleep(delay)
        await self.client.online.wait()
        if query.strip():
            hits = list((await self.client.memory_search(query, 50)).hits)
            self.post_message(self.Loaded(query, [h.memory for h in hits], hits))
        else:
            items = list((await self.client.memory_list()).memories)
            self.post_message(self.Loaded(query, items, []))

    @work(exclusive=False, exit_on_error=False, group="memory-change")
    async def update(self, memory_id: str, content: str) -> None:
        await self.client.memory_update(memory_id, content=content)
        self.notify(f"{memory_id} updated")
        self.load(self.query_text)

    @work(exclusive=False, exit_on_error=False, group="memory-change")
    async def forget(self, memory_id: str) -> None:
        await self.client.memory_forget(memory_id)
        self.notify(f"forgot {memory_id}")
        self.load(self.query_text)

    # -- state --------------------------------------------------------------------------

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        if message.query != self.query_text:
            return
        self.items = message.items
        self.scores = {h.memory.id: h for h in message.hits}
        table = self.query_one(DataTable)
        keep = self.current_id()
        table.clear()
        for m in self.items:
            hit = self.scores.get(m.id)
            score = f"{hit.score:.2f} {hit.why}" if hit else ""
            kind = m.memory_type + (f"/{m.category}" if m.category else "")
            table.add_row(
                m.id, m.updated_at[:10], kind, score, Text(one_line(m.content, 300)), key=m.id
            )
        if keep and any(m.id == keep for m in self.items):
            table.move_cursor(row=table.get_row_index(keep))
        what = f"{len(self.items)} memories"
        if message.query.strip():
            what = (
                f"{len(self.items)} relevant to {message.query!r}"
                if self.items
                else (f"nothing relevant to {message.query!r}")
            )
        self.query_one("#memory-info", Static).update(
            what + " · e edit · d forget · g go to its session"
        )

    def current(self) -> memory_pb2.MemoryItem | None:
        """The memory under the cursor."""
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row < 0 or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def current_id(self) -> str:
        m = self.current()
        return m.id if m else ""

    @on(Input.Changed, "#memory-search")
    def search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.load(event.value, TYPE_DELAY_S)

    @on(Input.Submitted, "#memory-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    # -- actions ------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#memory-search", Input).focus()

    def action_refresh(self) -> None:
        self.load(self.query_text)

    def action_edit(self) -> None:
        m = self.current()
        if m is None:
            return
        memory_id = m.id

        def done(text: str | None) -> None:
            if text is not None and text.strip() and text.strip() != m.content:
                self.update(memory_id, text.strip())

        self.app.push_screen(Prompt(f"Edit {memory_id}", m.content), done)

    def action_forget(self) -> None:
        m = self.current()
        if m is None:
            return
        memory_id = m.id

        def done(yes: bool | None) -> None:
            if yes:
                self.forget(memory_id)

        question = (
            f"Forget {memory_id}?\n\n{one_line(m.content, 200)}\n\nIt is never recalled again."
        )
        self.app.push_screen(Confirm(question, yes="Forget", no="Keep"), done)

    def action_open_session(self) -> None:
        m = self.current()
        if m is None:
            return
        if not m.source_session_id:
            self.notify("This memory was not learnt in a session (added by hand).")
            return
        self.post_message(OpenSession(m.source_session_id))
