"""Snapshots of every view at 80x24 (pytest-textual-snapshot), against a loopback server
with fixed data (tests/tui/fake_daemon.py). Update them with
``pytest tests/tui/test_snapshots.py --snapshot-update`` after a deliberate change, and
look at the report pytest writes when one differs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from pulsetui import format
from pulsetui.app import PulseApp
from pulsetui.dialogs.task_form import TaskForm
from pulsetui.widgets.conversation import AgentMessage
from pulsetui.widgets.tail_table import TailTable
from tests.tui.conftest import screen_ready, until
from tests.tui.fake_daemon import FakeDaemon

Compare = Callable[..., bool]


@pytest.fixture
def fake_daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDaemon]:
    """The fixed-data server, with the local zone pinned to UTC and the console's clock to
    noon on the fixed data's day."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(format, "local_now", lambda: datetime(2026, 1, 15, 12, tzinfo=UTC))
    try:
        with FakeDaemon() as fake:
            yield fake
    finally:
        monkeypatch.undo()
        time.tzset()


def app_for(fake: FakeDaemon, view: str, theme: str = "") -> PulseApp:
    return PulseApp(fake.socket, autostart=False, view=view, theme=theme)


def steady(app: PulseApp) -> None:
    """Stop cursors blinking, so the screenshot does not depend on when it is taken."""
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]


def ready(check: Callable[[PulseApp], object]) -> Callable[[Pilot[object]], Awaitable[None]]:
    """A run_before that waits for the connection and then for ``check``."""

    async def run_before(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, PulseApp)
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        await until(pilot, lambda: check(app), what="view filled")
        steady(app)
        await pilot.pause(0.2)

    return run_before


def chat_ready(app: PulseApp) -> bool:
    return bool(app.screen.query(AgentMessage))


async def open_session(pilot: Pilot[object]) -> None:
    app = pilot.app
    assert isinstance(app, PulseApp)
    await until(pilot, lambda: app.connection.state == "connected", what="connection")
    await until(pilot, lambda: getattr(app.screen, "sessions", None), what="sessions")
    await pilot.press("ctrl+l", "down", "enter")
    await until(pilot, lambda: chat_ready(app), what="history")
    steady(app)
    await pilot.pause(0.2)


def test_chat_view(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    assert snap_compare(app_for(fake_daemon, "chat"), run_before=open_session)


def test_chat_view_light_theme(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    app = app_for(fake_daemon, "chat", theme="textual-light")
    assert snap_compare(app, run_before=open_session)


def test_streams_view(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        app = pilot.app
        assert isinstance(app, PulseApp)
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        await pilot.press("e")
        table = app.screen.query_one(TailTable)
        await until(pilot, lambda: table.row_count == 6, what="rows")
        await pilot.press("up", "up")
        steady(app)
        info = app.screen.query_one("#streams-info")
        # The info line is redrawn every 0.5 s: wait for it to show the rows, the rate
        # back to 0 rows/s and the table no longer following (not for a fixed time).
        await until(
            pilot,
            lambda: all(
                part in str(info.render()) for part in ("6 shown", " 0 rows/s", "End: follow")
            ),
            what="info line settled",
        )
        await pilot.pause(0.1)

    assert snap_compare(app_for(fake_daemon, "streams"), run_before=run_before)


def test_tasks_view(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    def filled(app: PulseApp) -> bool:
        return getattr(app.screen, "runs_of", "") == "briefing"

    assert snap_compare(app_for(fake_daemon, "tasks"), run_before=ready(filled))


def test_task_form(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await ready(lambda app: getattr(app.screen, "runs_of", "") == "briefing")(pilot)
        await pilot.press("e")
        assert isinstance(pilot.app, PulseApp)
        form = await screen_ready(pilot, pilot.app, TaskForm, what="edit form")
        help_ = form.query_one("#schedule-help")
        # The next runs come from the daemon's answer to the form's preview request.
        await until(pilot, lambda: "next:" in str(help_.render()), what="schedule preview")
        steady(pilot.app)
        await pilot.pause(0.1)

    assert snap_compare(app_for(fake_daemon, "tasks"), run_before=run_before)


def test_task_form_on_stream(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    async def run_before(pilot: Pilot[object]) -> None:
        await ready(lambda app: getattr(app.screen, "runs_of", "") == "briefing")(pilot)
        await pilot.press("a")
        await until(pilot, lambda: pilot.app.screen.query("#kind"), what="form")
        await pilot.press(*"prs", "tab", "enter", "down", "enter")
        preview = pilot.app.screen.query_one("#trigger-preview")
        await until(pilot, lambda: "number" in str(preview.render()), what="trigger preview")
        assert isinstance(pilot.app, PulseApp)
        steady(pilot.app)
        await pilot.pause(0.1)

    assert snap_compare(app_for(fake_daemon, "tasks"), run_before=run_before)


def test_costs_view(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    def filled(app: PulseApp) -> bool:
        return getattr(app.screen, "data", None) is not None

    assert snap_compare(app_for(fake_daemon, "costs"), run_before=ready(filled))


def test_events_view(fake_daemon: FakeDaemon, snap_compare: Compare) -> None:
    def filled(app: PulseApp) -> bool:
        return app.screen.query_one(TailTable).row_count == 5

    assert snap_compare(app_for(fake_daemon, "events"), run_before=ready(filled))
