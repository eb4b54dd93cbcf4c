"""The Chat view's session actions against the real daemon: export the highlighted
session to Markdown, remove it (and purge it), from the sidebar's keys and from the
command palette."""

from __future__ import annotations

import stat

from textual.command import CommandPalette
from textual.widgets import Checkbox, Input, OptionList

from pulsetui.app import PulseApp
from pulsetui.dialogs.prompt import Prompt
from pulsetui.dialogs.remove_session import RemoveSession
from pulsetui.screens.chat import ChatScreen
from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon
from tests.tui.conftest import screen_ready, type_text, until


def app_for(daemon: Daemon) -> PulseApp:
    return PulseApp(daemon.socket, autostart=False, view="chat")


async def ready(pilot, app: PulseApp, sessions: int) -> ChatScreen:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: app.connection.state == "connected", what="connection")
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    await until(pilot, lambda: len(screen.sessions) == sessions, what="sessions listed")
    return screen


def highlight(screen: ChatScreen, session_id: str) -> None:
    box = screen.query_one("#sessions", OptionList)
    ids = [box.get_option_at_index(i).id for i in range(box.option_count)]
    box.focus()
    box.highlighted = ids.index(session_id)


async def test_export_the_highlighted_session(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script("Oat milk, eggs.")
    session = send(daemon, "shopping list?")[0].session_id
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app, 1)
        highlight(screen, session)
        await pilot.pause()
        active = screen.active_bindings  # what the footer shows while the list has focus
        assert active["e"].binding.description == "Export"
        assert active["d"].binding.description == "Remove"
        await pilot.press("e")
        await screen_ready(pilot, app, Prompt, what="export prompt")
        box = app.screen.query_one(Input)
        assert box.value == f"~/pulse-{session}.md"
        target = daemon.root / "exported.md"
        box.value = str(target)
        await pilot.press("enter")
        await until(pilot, target.exists, what="the file")
    text = target.read_text()
    assert text.startswith(f"# Session {session}\n")
    assert "shopping list?" in text and "Oat milk, eggs." in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


async def test_remove_from_the_sidebar_and_purge_from_the_palette(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    hidden = send(daemon, "hide this one")[0].session_id
    purged = send(daemon, "purge this one")[0].session_id
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app, 2)
        highlight(screen, hidden)
        await pilot.press("d")
        await screen_ready(pilot, app, RemoveSession, what="dialog")
        assert app.screen.query(Checkbox)  # local store: purge is offered
        await pilot.press("y")
        await until(
            pilot, lambda: [s.session_id for s in screen.sessions] == [purged], what="hidden"
        )

        screen.switch_to(purged)
        await pilot.press("ctrl+p")
        await screen_ready(pilot, app, CommandPalette, what="palette")
        await type_text(pilot, "Remove session")
        await until(
            pilot,
            lambda: app.screen.query_one(OptionList).option_count > 0,
            what="palette hits",
        )
        await pilot.press("enter")
        await screen_ready(pilot, app, RemoveSession, what="dialog")
        assert app.screen.session_id == purged
        await pilot.press("p", "y")
        await until(pilot, lambda: not screen.sessions, what="purged")
        assert screen.session_id == ""  # the shown session went: a new one is shown
    assert rows(daemon, "messages", session_id=purged) == []
    assert len(rows(daemon, "messages", session_id=hidden)) == 2
    removals = [e["payload"] for e in rows(daemon, "events", event_type="session_removed")]
    assert [(p["session_id"], p["purged"]) for p in removals] == [
        (hidden, False),
        (purged, True),
    ]
