"""The thinking line belongs to the session whose turn runs: driven by Pilot against the
real daemon, with FakeLLM holding each answer until the test has switched sessions."""

from __future__ import annotations

import threading

from textual.widgets import OptionList

from pulsetui.app import PulseApp
from pulsetui.screens.chat import ChatScreen
from pulsetui.widgets.conversation import AgentMessage, ErrorMessage
from pulsetui.widgets.thinking import Thinking
from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Hang
from tests.harness import Daemon
from tests.tui.conftest import type_text, until


async def pick(pilot, screen: ChatScreen, session_id: str) -> None:  # type: ignore[no-untyped-def]
    """Select ``session_id`` in the sidebar, as the person does (highlight, enter)."""
    box = screen.query_one("#sessions", OptionList)
    box.focus()
    ids = [box.get_option_at_index(i).id for i in range(box.option_count)]
    box.highlighted = ids.index(session_id)
    await pilot.press("enter")
    await until(pilot, lambda: screen.session_id == session_id, what=f"on {session_id}")


def held(fake_llm: FakeLLM) -> tuple[threading.Event, threading.Event]:
    """Script one answer held until the first event is set; the second is set on arrival."""
    release, arrived = threading.Event(), threading.Event()
    fake_llm.script(Hang(20, until=release, started=arrived))
    return release, arrived


async def test_the_thinking_line_follows_the_session_whose_turn_runs(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    other = send(daemon, "an earlier talk")[0].session_id
    app = PulseApp(daemon.socket, autostart=False, view="chat")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: len(screen.sessions) == 1, what="the earlier session")
        thinking = screen.query_one(Thinking)

        def line() -> str:
            return str(thinking.render())

        # A held turn in a new session: the line shows.
        release, arrived = held(fake_llm)
        await type_text(pilot, "hold on")
        await pilot.press("enter")
        await until(pilot, lambda: any(v.turn_id for v in screen.running), what="accepted")
        await until(pilot, arrived.is_set, what="the LLM call")
        mine = screen.session_id
        assert mine and mine != other
        [view] = screen.running
        await until(pilot, lambda: len(screen.sessions) == 2, what="the new session listed")
        assert thinking.display

        # Away: the line goes, and Esc there does not cancel the turn.
        await pick(pilot, screen, other)
        assert not thinking.display and line() == ""
        assert not screen.check_action("cancel_turn", ())
        await pilot.press("escape")

        # Back while it runs: the line returns, counting from the turn's Send.
        await pick(pilot, screen, mine)
        assert thinking.display and thinking.started == view.started
        await until(pilot, lambda: "thinking… 1s" in line(), what="a second after the Send")

        # It ends while the person looks at the other session: gone there and here.
        await pick(pilot, screen, other)
        release.set()
        await until(pilot, lambda: not screen.running, what="answered")
        assert not thinking.display
        await pick(pilot, screen, mine)
        await until(
            pilot,
            lambda: [m.text for m in screen.query(AgentMessage)] == ["echo: hold on"],
            what="the answer in the history",
        )
        assert not thinking.display and not screen.query(ErrorMessage)  # not cancelled

        # A turn that ends after the person came back is drawn once, live.
        release, arrived = held(fake_llm)
        await type_text(pilot, "again")
        await pilot.press("enter")
        await until(pilot, arrived.is_set, what="the second LLM call")
        [view] = screen.running
        await pick(pilot, screen, other)
        assert not view.shown
        await pick(pilot, screen, mine)
        await until(pilot, lambda: view.shown, what="its history back on screen")
        release.set()
        await until(pilot, lambda: not screen.running, what="answered again")
        await until(
            pilot,
            lambda: [m.text for m in screen.query(AgentMessage)][-1:] == ["echo: again"],
            what="the second answer",
        )
        assert [m.text for m in screen.query(AgentMessage)].count("echo: again") == 1
        assert not thinking.display

        # Esc cancels the turn of the session on screen, also after coming back to it.
        held(fake_llm)
        await type_text(pilot, "cancel me")
        await pilot.press("enter")
        await until(pilot, lambda: any(v.turn_id for v in screen.running), what="third")
        await pick(pilot, screen, other)
        await pick(pilot, screen, mine)
        assert thinking.display
        screen.query_one("#chat-input").focus()
        await pilot.press("escape")
        await until(pilot, lambda: not screen.running, what="cancelled")
        assert screen.query(ErrorMessage).last().code == "cancelled"
        assert not thinking.display
