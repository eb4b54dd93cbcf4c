"""pulsetui: the full-screen console of Pulse, a pure gRPC client of pulsed.

``pulsetui [--socket PATH] [--no-start] [--view NAME] [--theme NAME]``. The views (Chat,
Streams, Tasks, Costs, Events, Memory) are Textual modes, reached with F1-F6 or from the command
palette (ctrl+p) by name; ctrl+q quits. One worker watches the connection (grpc health
Watch plus a System.Status poll) and reconnects with backoff; the status bar of every
view follows the ``connection`` reactive it feeds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, InvalidThemeError, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from pulsectl.client import START_HINT, AsyncPulseClient, ClientError, Filter, TailRow
from pulsetui.dialogs.skills import SkillsDialog
from pulsetui.format import one_line
from pulsetui.messages import (
    Connected,
    DaemonNote,
    Delivery,
    Disconnected,
    OpenSession,
    StatusUpdated,
)
from pulsetui.screens.base import PulseScreen
from pulsetui.screens.chat import ChatScreen
from pulsetui.screens.costs import CostsScreen
from pulsetui.screens.events import EventsScreen
from pulsetui.screens.memory import MemoryScreen
from pulsetui.screens.streams import StreamsScreen
from pulsetui.screens.tasks import TasksScreen
from pulsetui.widgets.status_bar import Connection

CLIENT_NAME = "pulsetui"
"""Sent as ``x-pulse-client``; the daemon records the console's messages as source ``tui``."""

CALL_TIMEOUT_S = 15.0
"""Deadline of the console's unary calls, seconds."""

STATUS_EVERY_S = 5.0
"""How often System.Status is polled while connected (spend, provider)."""

BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Pauses between reconnection attempts (the last one repeats)."""

TOAST_S = {"information": 3.0, "warning": 6.0, "error": 10.0}
"""Seconds a notification stays, by severity, when its caller names no timeout."""

DELIVERY_TOAST_S = 8.0
"""Seconds a task's answer delivered to the console stays (a failed one: as an error)."""

VIEWS = (
    ("chat", "Chat", "f1", "Talk to the agent: sessions, streaming answers, tool calls"),
    ("streams", "Streams", "f2", "Tail any stream live, filter it, open rows"),
    ("tasks", "Tasks", "f3", "Scheduled tasks: add, edit, enable, run, history"),
    ("costs", "Costs", "f4", "Spend, tokens and latency; by model, origin and day; budget"),
    ("events", "Events", "f5", "The daemon's events, coloured by severity"),
    ("memory", "Memory", "f6", "What the agent remembers: search, edit, forget"),
)
"""(mode, title, key, help) of each view."""

VIEW_SCREENS: dict[str, Callable[[AsyncPulseClient], PulseScreen]] = {
    "chat": ChatScreen,
    "streams": StreamsScreen,
    "tasks": TasksScreen,
    "costs": CostsScreen,
    "events": EventsScreen,
    "memory": MemoryScreen,
}
"""The screen class of each view (mode); the app builds each on first use."""


class PulseApp(App[int]):
    """The console. ``client`` is the daemon connection every screen's workers use."""

    TITLE = "Pulse"
    CSS_PATH = ["global.tcss", "app.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(key, f"view('{mode}')", title, priority=True, show=False)
            for mode, title, key, _ in VIEWS
        ),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    connection: reactive[Connection] = reactive(Connection)
    """What is known of the daemon; every StatusBar shows it."""

    def __init__(
        self,
        socket: Path | str | None = None,
        *,
        autostart: bool = True,
        view: str = "chat",
        theme: str = "",
    ) -> None:
        super().__init__()
        self.client = AsyncPulseClient(socket, client_name=CLIENT_NAME, timeout=CALL_TIMEOUT_S)
        self.autostart = autostart
        self.first_view = view
        self.views: dict[str, PulseScreen] = {}
        """The views built so far, by mode (Textual builds a mode's screen on first use)."""
        for mode in VIEW_SCREENS:
            self.add_mode(mode, partial(self._build_view, mode))
        if theme:
            self.theme = theme

    def _build_view(self, mode: str) -> PulseScreen:
        """The screen of view ``mode``, given the connection; kept in ``views``."""
        screen = self.views[mode] = VIEW_SCREENS[mode](self.client)
        return screen

    def on_mount(self) -> None:
        self.switch_mode(self.first_view)
        self.monitor_daemon()
        self.follow_deliveries()

    async def on_unmount(self) -> None:
        await self.client.close()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast (top right, clear of the status bar) for ``timeout`` seconds, by
        default ``TOAST_S`` of its severity: short for information, longer for errors."""
        if timeout is None:
            timeout = TOAST_S.get(severity, TOAST_S["information"])
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- views ----------------------------------------------------------------------------

    def action_view(self, mode: str) -> None:
        """Show the view ``mode`` (chat, streams, tasks, costs, events)."""
        if self.current_mode != mode:
            self.switch_mode(mode)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for mode, title, key, help_ in VIEWS:
            yield SystemCommand(title, f"{help_} ({key})", partial(self.action_view, mode))
        yield SystemCommand(
            "Skills",
            "The agent's skills: which are available, which not and why",
            self.action_skills,
        )
        yield from super().get_system_commands(screen)

    def action_skills(self) -> None:
        """Show the agent's skills (a modal over the current view)."""
        self.push_screen(SkillsDialog(self.client))

    @on(OpenSession)
    async def open_session(self, message: OpenSession) -> None:
        """Show a session in the Chat view."""
        await self.switch_mode("chat")
        chat = self.views["chat"]
        if isinstance(chat, ChatScreen):
            chat.switch_to(message.session_id)

    # -- connection -----------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="connection")
    async def monitor_daemon(self) -> None:
        """Keep ``client.online`` true while the daemon answers; report every change."""
        client = self.client
        if self.autostart:
            try:
                await client.ensure_daemon(autostart=True, notify=self._note)
            except ClientError as err:
                self.post_message(Disconnected(err.message, 0, err.hint))
        attempt = 0
        lost = False
        while True:
            try:
                status = await client.status(timeout=3)
            except ClientError as err:
                client.online.clear()
                client.drop_streams()
                pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                lost = True
                reason, hint = explain(err, client.socket)
                self.post_message(Disconnected(reason, pause, hint))
                await asyncio.sleep(pause)
                continue
            attempt = 0
            client.online.set()
            self.post_message(Connected(status, again=lost))
            lost = False
            await self._while_serving()
            client.online.clear()
            client.drop_streams()
            lost = True

    async def _while_serving(self) -> None:
        """Return when the daemon stops serving: its health Watch says so or breaks."""
        client = self.client

        async def watch() -> None:
            async for serving in client.watch_health():
                if not serving:
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            while True:
                done, _ = await asyncio.wait({watcher}, timeout=STATUS_EVERY_S)
                if done:
                    return
                try:
                    status = await client.status(timeout=3)
                except ClientError:
                    return
                self.post_message(StatusUpdated(status))
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    @on(Connected)
    def connected(self, message: Connected) -> None:
        self.connection = Connection("connected", "", message.status, reconnected=message.again)
        if message.again:
            self.notify("Connected to pulsed again.", title="reconnected")
            for screen in self.views.values():
                screen.reconnected()

    @on(StatusUpdated)
    def status_updated(self, message: StatusUpdated) -> None:
        conn = self.connection
        self.connection = Connection("connected", "", message.status, conn.reconnected)

    @on(Disconnected)
    def disconnected(self, message: Disconnected) -> None:
        detail = f"— retrying in {message.retry_in_s:g} s" if message.retry_in_s else ""
        first = self.connection.state != "disconnected"
        self.connection = Connection("disconnected", detail, self.connection.status)
        if first:
            text = message.reason + (f"\n{message.hint}" if message.hint else "")
            self.notify(text, title="pulsed unreachable", severity="error", markup=False)

    def _note(self, text: str) -> None:
        """Told by the client when it started a daemon."""
        self.post_message(DaemonNote(text))

    @on(DaemonNote)
    def daemon_note(self, message: DaemonNote) -> None:
        self.notify(message.text, title="pulsed", markup=False)

    # -- task deliveries ------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="deliveries")
    async def follow_deliveries(self) -> None:
        """Answers of tasks delivered to the console: messages rows with target tui."""
        filters = [Filter("target", "eq", "tui"), Filter("session_id", "contains", "task:")]
        async for rows in self.client.follow("messages", filters, start="latest", flush_s=0.2):
            for row in rows:
                if row.values.get("message_type") in ("agent_response", "error"):
                    self.post_message(Delivery(row))

    @on(Delivery)
    def delivery(self, message: Delivery) -> None:
        row: TailRow = message.row
        session = str(row.values.get("session_id", ""))
        task = session.removeprefix("task:")
        failed = row.values.get("message_type") == "error"
        self.notify(
            one_line(row.values.get("content"), 300),
            title=f"task {task}" + (" failed" if failed else ""),
            severity="error" if failed else "information",
            timeout=None if failed else DELIVERY_TOAST_S,
            markup=False,
        )

    # -- errors ---------------------------------------------------------------------------

    @on(Worker.StateChanged)
    def worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's error reaches the person (as a notification)."""
        if event.state != WorkerState.ERROR:
            return
        err = event.worker.error
        if isinstance(err, ClientError) and err.unreachable:
            return  # the status bar says so, and the connection worker retries
        if isinstance(err, ClientError):
            text = err.message + (f"\n{err.hint}" if err.hint else "")
        else:
            text = f"{type(err).__name__}: {err}"
        self.notify(text, title=f"error ({event.worker.group})", severity="error", markup=False)


def explain(err: ClientError, socket: Path) -> tuple[str, str]:
    """A person's words for a failed connection: (what happened, what to do).

    Nothing answering is said in the console's words; a daemon that answered with an
    error (e.g. its store is down) is quoted as it is.
    """
    if err.unreachable:
        return f"no daemon answers on {socket}", f"{START_HINT}; the console reconnects by itself"
    return err.message, err.hint


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``pulsetui``, parsed."""
    parser = argparse.ArgumentParser(
        prog="pulsetui",
        description="The Pulse console: chat, streams, tasks, costs and events over SSH.",
        epilog="Views: F1 Chat, F2 Streams, F3 Tasks, F4 Costs, F5 Events, F6 Memory; ctrl+p finds "
        "commands and views by name; ctrl+q quits.",
    )
    parser.add_argument(
        "--socket",
        help="the daemon's socket (default: $PULSE_SOCKET or the platform's runtime dir)",
    )
    parser.add_argument(
        "--no-start", action="store_true", help="do not start pulsed when none answers"
    )
    parser.add_argument(
        "--view",
        choices=[v[0] for v in VIEWS],
        default="chat",
        help="the view to open on (default: chat)",
    )
    parser.add_argument(
        "--theme", default="", help="a Textual theme, e.g. textual-light or textual-dark"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pulsetui``; returns the exit code."""
    args = parse_args(argv)
    try:
        app = PulseApp(args.socket, autostart=not args.no_start, view=args.view, theme=args.theme)
    except InvalidThemeError:
        themes = ", ".join(sorted(App().available_themes))
        print(f"pulsetui: error: unknown theme {args.theme!r} (themes: {themes})", file=sys.stderr)
        return 2
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
