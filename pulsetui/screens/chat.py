"""Chat: sessions on the left, the conversation and the message box on the right.

Each Send runs in its own worker that only posts the turn's events; the handlers here own
the conversation's state (which answer is streaming, which tool card is which).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pulse.v1 import chat_pb2
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Markdown, OptionList, Static
from textual.widgets.markdown import MarkdownStream
from textual.widgets.option_list import Option

from pulsectl.client import AsyncPulseClient, ClientError, TailRow
from pulsectl.client.export import EXPORT_LIMIT, export_markdown
from pulsetui.dialogs.approval import Approval
from pulsetui.dialogs.prompt import Prompt
from pulsetui.dialogs.remove_session import PURGE, RemoveSession
from pulsetui.screens.base import PulseScreen
from pulsetui.widgets.chat_input import ChatInput
from pulsetui.widgets.context_view import context_table
from pulsetui.widgets.conversation import (
    AgentMessage,
    ErrorMessage,
    Note,
    ToolCard,
    UserMessage,
    history_widget,
)
from pulsetui.widgets.session_list import SessionCommands, SessionList
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.thinking import Thinking
from pulsetui.widgets.view_bar import ViewBar

NEW = "__new__"
TITLE_CELLS = 21
"""Session titles are cut to fit the session list at 80 columns."""
HISTORY_LIMIT = 200
SLASH_COMMANDS = ("/context", "/model", "/compact")
"""Typed in the message box, these talk to the daemon instead of starting a turn."""


@dataclass
class TurnView:
    """What the screen tracks of one turn it sent."""

    local: int
    session_id: str
    turn_id: str = ""
    answer: AgentMessage | None = None
    stream: MarkdownStream | None = None
    cards: dict[str, ToolCard] = field(default_factory=dict)
    done: bool = False
    shown: bool = True
    """Whether its events are drawn: False once the person switched to another session,
    True again when its session's history is back on screen."""
    started: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` at the Send; the thinking line counts from it."""
    text: str = ""
    """The answer's text since the last tool call, drawn or not (redrawn on coming back)."""


class ChatScreen(PulseScreen):
    """The Chat view."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "new_session", "New session"),
        Binding("ctrl+r", "rename", "Rename"),
        Binding("ctrl+l", "focus_sessions", "Sessions"),
        Binding("escape", "cancel_turn", "Cancel turn"),
    ]
    COMMANDS: ClassVar[set[Any]] = {SessionCommands}
    """Palette commands of the view: export and remove the highlighted session."""

    class TurnEvent(Message):
        """An event of a turn this screen sent (``local`` numbers the Send)."""

        def __init__(self, local: int, event: chat_pb2.TurnEvent) -> None:
            super().__init__()
            self.local = local
            self.event = event

    class SendFailed(Message):
        """The Send itself failed (daemon unreachable, message refused)."""

        def __init__(self, local: int, error: ClientError) -> None:
            super().__init__()
            self.local = local
            self.error = error

    class SessionsLoaded(Message):
        """Chat.ListSessions answered: the sessions, most recently active first."""

        def __init__(self, sessions: list[chat_pb2.Session]) -> None:
            super().__init__()
            self.sessions = sessions

    class Renamed(Message):
        """A rename went through; the list shows the new title once reloaded."""

    class SessionActionDone(Message):
        """An export or a removal ended: ``text`` for the person; ``removed`` names a
        session that left the list."""

        def __init__(self, text: str, *, error: bool = False, removed: str = "") -> None:
            super().__init__()
            self.text = text
            self.error = error
            self.removed = removed

    class HistoryLoaded(Message):
        """Chat.History answered for ``session_id``: its stored rows, oldest first."""

        def __init__(self, session_id: str, rows: list[TailRow]) -> None:
            super().__init__()
            self.session_id = session_id
            self.rows = rows

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__(client)
        self.session_id = ""
        """The session shown; '' for a new one not yet sent."""
        self.sessions: list[chat_pb2.Session] = []
        self.turns: dict[int, TurnView] = {}
        self._locals = itertools.count(1)

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-main"):
            with Vertical(id="sessions-pane"):
                yield Static("Sessions", classes="pane-title")
                yield SessionList(id="sessions")
            with Vertical(id="chat-pane"):
                yield VerticalScroll(id="conversation")
                yield Thinking(id="thinking")
                yield ChatInput(
                    id="chat-input", placeholder="Message Pulse (enter sends, ctrl+j new line)"
                )
        yield StatusBar()
        yield ViewBar("chat")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#conversation", VerticalScroll).anchor()
        self.query_one(ChatInput).focus()
        self._show_intro()
        self.load_sessions()

    def reconnected(self) -> None:
        """The daemon is back: refresh what came from it."""
        self.load_sessions()

    # -- workers (I/O only; they post messages) ---------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="chat-sessions")
    async def load_sessions(self) -> None:
        """Chat.ListSessions; the answer arrives as SessionsLoaded."""
        resp = await self.client.list_sessions(100)
        self.post_message(self.SessionsLoaded(list(resp.sessions)))

    @work(exclusive=True, exit_on_error=False, group="chat-history")
    async def load_history(self, session_id: str) -> None:
        """Chat.History of ``session_id``; the answer arrives as HistoryLoaded."""
        resp = await self.client.history(session_id, HISTORY_LIMIT)
        self.post_message(self.HistoryLoaded(session_id, [TailRow.of(r) for r in resp.rows]))

    @work(exit_on_error=False, group="chat-send")
    async def send(self, local: int, text: str, session_id: str) -> None:
        """Chat.Send of ``text``; each turn event arrives as TurnEvent (``local`` numbers it)."""
        try:
            async for event in self.client.send(text, session_id=session_id, interactive=True):
                self.post_message(self.TurnEvent(local, event))
        except ClientError as err:
            self.post_message(self.SendFailed(local, err))

    @work(exit_on_error=False, group="chat-calls")
    async def approve(self, request_id: str, decision: str) -> None:
        """Chat.Approve: the person's answer (once | session | deny) to a request."""
        await self.client.approve(
            request_id, decision in ("once", "session"), for_session=decision == "session"
        )

    @work(exit_on_error=False, group="chat-calls")
    async def slash(self, name: str, rest: str, session_id: str) -> None:
        """/context, /model [PROVIDER:]MODEL, /compact [FOCUS]: the answer as a note."""
        box = self.query_one("#conversation", VerticalScroll)
        if not session_id:
            await box.mount(Note(f"{name}: send a message first, to start the session"))
            return
        shown: Widget
        try:
            if name == "/context":
                shown = Static(context_table(await self.client.context(session_id)))
            elif name == "/compact":
                done = await self.client.compact(session_id, rest)
                shown = Note(
                    f"compacted: {done.covered_messages} earlier messages summarised"
                    if done.summary_id
                    else "too little history to compact"
                )
            elif rest:
                model = await self.client.set_session_model(session_id, rest)
                warn = f" ({model.warning})" if model.warning else ""
                shown = Note(f"this session now uses {model.provider}:{model.model}{warn}")
                self.load_sessions()  # the session list and status bar show it
            else:
                ctx = await self.client.context(session_id)
                shown = Note(f"this session uses {ctx.provider}:{ctx.model}")
        except ClientError as err:
            shown = ErrorMessage(name.lstrip("/"), err.message)
        await box.mount(shown)
        box.scroll_end(animate=False)

    @work(exit_on_error=False, group="chat-calls")
    async def cancel(self, turn_id: str) -> None:
        """Chat.Cancel of the running or queued turn ``turn_id``."""
        await self.client.cancel(turn_id)

    @work(exit_on_error=False, group="chat-calls")
    async def rename(self, session_id: str, title: str) -> None:
        """Chat.RenameSession; Renamed follows when it went through."""
        await self.client.rename_session(session_id, title)
        self.post_message(self.Renamed())

    @work(exit_on_error=False, group="chat-sessions-actions")
    async def export_session(self, session_id: str, path: str) -> None:
        """Chat.History of ``session_id`` written to ``path`` as Markdown (0600)."""
        resp = await self.client.history(session_id, EXPORT_LIMIT)
        found = [TailRow.of(r).values for r in resp.rows]
        if not found:
            self.post_message(self.SessionActionDone(f"{session_id} has no messages", error=True))
            return
        target = Path(path).expanduser()
        try:
            await asyncio.to_thread(_write_private, target, export_markdown(session_id, found))
        except OSError as e:
            self.post_message(
                self.SessionActionDone(f"cannot write {target}: {e.strerror or e}", error=True)
            )
            return
        self.post_message(self.SessionActionDone(f"{len(found)} rows written to {target}"))

    @work(exit_on_error=False, group="chat-sessions-actions")
    async def remove_session(self, session_id: str, purge: bool) -> None:
        """Chat.RemoveSession (``purge``: its rows deleted too)."""
        try:
            done = await self.client.remove_session(session_id, purge=purge)
        except ClientError as err:
            text = err.message + (f"\n{err.hint}" if err.hint else "")
            self.post_message(self.SessionActionDone(text, error=True))
            return
        text = f"removed {session_id}" + (
            f": {done.rows_deleted} rows deleted" if purge else " from the list"
        )
        self.post_message(self.SessionActionDone(text, removed=session_id))

    # -- sessions -----------------------------------------------------------------------

    def _highlighted_session(self) -> chat_pb2.Session | None:
        """The session highlighted in the sidebar, else the one shown (None: neither)."""
        box = self.query_one("#sessions", OptionList)
        sid = ""
        if box.highlighted is not None:
            sid = box.get_option_at_index(box.highlighted).id or ""
        if not sid or sid == NEW:
            sid = self.session_id
        return next((s for s in self.sessions if s.session_id == sid), None)

    def action_export_session(self) -> None:
        session = self._highlighted_session()
        if session is None:
            self.notify("Highlight a session in the list first (ctrl+l).")
            return
        sid = session.session_id

        def done(path: str | None) -> None:
            if path and path.strip():
                self.export_session(sid, path.strip())

        self.app.push_screen(
            Prompt(
                f"Export {sid} as Markdown to:",
                f"~/pulse-{sid.replace(':', '-')}.md",
                "enter writes the file (replacing one there) · esc cancels",
            ),
            done,
        )

    def action_remove_session(self) -> None:
        session = self._highlighted_session()
        if session is None:
            self.notify("Highlight a session in the list first (ctrl+l).")
            return
        sid = session.session_id
        status = getattr(getattr(self.app, "connection", None), "status", None)
        purge_offered = status is None or status.store_backend in ("", "local")

        def done(answer: str | None) -> None:
            if answer is not None:
                self.remove_session(sid, answer == PURGE)

        self.app.push_screen(RemoveSession(sid, session.title, purge_offered=purge_offered), done)

    @on(SessionActionDone)
    def session_action_done(self, message: SessionActionDone) -> None:
        self.notify(message.text, severity="error" if message.error else "information")
        if message.removed:
            if message.removed == self.session_id:
                self.switch_to("")
            self.load_sessions()

    @on(Renamed)
    def renamed(self) -> None:
        self.load_sessions()

    @on(SessionsLoaded)
    def show_sessions(self, message: SessionsLoaded) -> None:
        self.sessions = message.sessions
        self._fill_session_list()
        self._show_session_model()

    def _show_session_model(self) -> None:
        """The status bar shows the current session's own model, if it has one."""
        model = next((s.model for s in self.sessions if s.session_id == self.session_id), "")
        for bar in self.query(StatusBar):
            bar.show_session_model(model)

    def _fill_session_list(self) -> None:
        options = [Option(Text("+ new session", style="bold"), id=NEW)]
        for s in self.sessions:
            title = " ".join((s.title or "(untitled)").split())
            if len(title) > TITLE_CELLS:
                title = title[: TITLE_CELLS - 1] + "…"
            label = Text(title)
            if s.model:  # a model of its own (/model): shown under the title
                label.append("\n" + s.model.split(":", 1)[-1][:TITLE_CELLS], style="dim")
            options.append(Option(label, id=s.session_id))
        box = self.query_one("#sessions", OptionList)
        box.set_options(options)
        ids = [NEW, *(s.session_id for s in self.sessions)]
        current = self.session_id or NEW
        box.highlighted = ids.index(current) if current in ids else 0

    @on(OptionList.OptionSelected, "#sessions")
    def session_selected(self, event: OptionList.OptionSelected) -> None:
        sid = event.option.id or NEW
        self.switch_to("" if sid == NEW else sid)
        self.query_one(ChatInput).focus()

    def switch_to(self, session_id: str) -> None:
        """Show ``session_id`` ('' for a new session) and load its history."""
        for view in self.turns.values():
            view.shown = False
        self.session_id = session_id
        self._show_session_model()
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.remove_children()
        if session_id:
            conversation.mount(Note(f"loading {session_id}…"))
            self.load_history(session_id)
        else:
            self._show_intro()
        self._show_busy()
        self.refresh_bindings()

    def _show_intro(self) -> None:
        self.query_one("#conversation", VerticalScroll).mount(
            Note("New session. Type a message; your first one names the session.", "intro")
        )

    @on(HistoryLoaded)
    async def show_history(self, message: HistoryLoaded) -> None:
        if message.session_id != self.session_id:
            return
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.remove_children()
        widgets: list[Widget] = []
        cards: dict[str, ToolCard] = {}
        if len(message.rows) >= HISTORY_LIMIT:
            widgets.append(Note(f"(the last {HISTORY_LIMIT} messages)"))
        for row in message.rows:
            widget = history_widget(row, cards)
            if widget is not None:
                widgets.append(widget)
        if not widgets:
            widgets.append(Note("No messages in this session yet."))
        await conversation.mount_all(widgets)
        for view in self.running:
            if view.session_id == message.session_id:  # still running: drawn from here on
                await self._end_stream(view)
                view.answer = None
                view.cards.update(cards)
                view.shown = True
                if view.text:
                    await self._draw_answer(view, conversation)
        conversation.scroll_end(animate=False)

    def action_new_session(self) -> None:
        self.switch_to("")
        self._fill_session_list()
        self.query_one(ChatInput).focus()

    def action_focus_sessions(self) -> None:
        self.query_one("#sessions", OptionList).focus()

    def action_rename(self) -> None:
        if not self.session_id:
            self.notify("Send a message first: a new session has nothing to rename yet.")
            return
        current = next((s.title for s in self.sessions if s.session_id == self.session_id), "")
        session = self.session_id

        def done(title: str | None) -> None:
            if title is not None:
                self.rename(session, title)

        self.app.push_screen(
            Prompt(
                f"New title for {session}:",
                current,
                "enter saves · an empty title goes back to the first message · esc cancels",
            ),
            done,
        )

    # -- turns ----------------------------------------------------------------------------

    @property
    def running(self) -> list[TurnView]:
        """Turns sent from this screen that have not ended."""
        return [v for v in self.turns.values() if not v.done]

    @property
    def running_here(self) -> list[TurnView]:
        """Running turns of the session on screen (drawn, or their history loading)."""
        return [v for v in self.running if self._on_screen(v)]

    def _on_screen(self, view: TurnView) -> bool:
        return view.shown or (bool(view.session_id) and view.session_id == self.session_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_turn":
            return any(v.turn_id for v in self.running_here)
        return True

    @on(ChatInput.Submitted)
    def submitted(self, message: ChatInput.Submitted) -> None:
        name, _, rest = message.text.strip().partition(" ")
        if name in SLASH_COMMANDS:
            self.slash(name, rest.strip(), self.session_id)
            return
        local = next(self._locals)
        self.turns[local] = TurnView(local, self.session_id)
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.query(".intro").remove()
        conversation.mount(UserMessage(message.text))
        conversation.scroll_end(animate=False)
        self.send(local, message.text, self.session_id)
        self._show_busy()

    def action_cancel_turn(self) -> None:
        """Esc: cancel the running turns of the session on screen (never another's)."""
        for view in self.running_here:
            if view.turn_id:
                self.cancel(view.turn_id)

    def _conversation(self, view: TurnView) -> VerticalScroll | None:
        return self.query_one("#conversation", VerticalScroll) if view.shown else None

    @on(TurnEvent)
    async def turn_event(self, message: TurnEvent) -> None:
        view = self.turns.get(message.local)
        if view is None:
            return
        ev = message.event
        kind = ev.WhichOneof("event")
        if kind == "accepted":
            view.turn_id = ev.turn_id
            if not view.session_id:
                view.session_id = ev.session_id
                if view.shown and not self.session_id:
                    self.session_id = ev.session_id
                    self.load_sessions()
            if ev.accepted.queued_behind and (box := self._conversation(view)):
                n = ev.accepted.queued_behind
                box.mount(Note(f"queued behind {n} turn{'s' if n > 1 else ''}"))
            self._show_busy()
            self.refresh_bindings()
        elif kind == "delta":
            await self._delta(view, ev.delta.text)
        elif kind == "tool_call":
            await self._end_stream(view)
            view.answer = None
            view.text = ""
            card = ToolCard(ev.tool_call.call_id, ev.tool_call.name, ev.tool_call.arguments_json)
            view.cards[ev.tool_call.call_id] = card
            if box := self._conversation(view):
                await box.mount(card)
        elif kind == "tool_result":
            r = ev.tool_result
            if (started := view.cards.get(r.call_id)) is not None:
                started.finish(r.status, r.preview, r.duration_ms)
        elif kind == "approval_request":
            request = ev.approval_request

            def answered(decision: str | None) -> None:
                self.approve(request.request_id, decision or "deny")

            self.app.push_screen(Approval(request), answered)
        elif kind == "final":
            await self._end_stream(view)
            text = ev.final.text
            if view.answer is None and text and (box := self._conversation(view)):
                view.answer = AgentMessage(text)
                await box.mount(view.answer)
            elif view.answer is not None and view.answer.text != text and text:
                view.answer.text = text
                await view.answer.update(text)
            self._finish(view)
        elif kind == "error":
            await self._end_stream(view)
            if box := self._conversation(view):
                await box.mount(ErrorMessage(ev.error.code, ev.error.message))
            self._finish(view)

    async def _delta(self, view: TurnView, text: str) -> None:
        view.text += text
        if (box := self._conversation(view)) is None:
            return
        if view.answer is None:
            await self._draw_answer(view, box)
            return
        view.answer.text += text
        if view.stream is not None:
            await view.stream.write(text)

    async def _draw_answer(self, view: TurnView, box: VerticalScroll) -> None:
        """Mount the answer so far (``view.text``); the next deltas stream into it."""
        view.answer = AgentMessage()
        await box.mount(view.answer)
        view.stream = Markdown.get_stream(view.answer)
        view.answer.text = view.text
        await view.stream.write(view.text)

    async def _end_stream(self, view: TurnView) -> None:
        if view.stream is not None:
            stream, view.stream = view.stream, None
            await stream.stop()

    def _show_busy(self) -> None:
        """The thinking line counts from the Send of the earliest running turn of the
        session on screen, and is hidden when that session has none."""
        here = self.running_here
        self.query_one(Thinking).show_since(min(v.started for v in here) if here else None)

    def _finish(self, view: TurnView) -> None:
        view.done = True
        if not view.shown and self._on_screen(view):
            self.load_history(view.session_id)  # it ended while its history was loading
        self._show_busy()
        self.refresh_bindings()
        self.load_sessions()

    @on(SendFailed)
    async def turn_failed(self, message: SendFailed) -> None:
        view = self.turns.get(message.local)
        if view is None:
            return
        await self._end_stream(view)
        if box := self._conversation(view):
            err = message.error
            text = err.message + (f" — {err.hint}" if err.hint else "")
            await box.mount(ErrorMessage("", text))
        self._finish(view)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (created 0600; an existing file is replaced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
