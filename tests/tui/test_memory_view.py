"""The Memory view against the real daemon: F6 opens it, search as you type, edit
through the prompt, forget after the confirmation, and g jumps to the source session."""

from __future__ import annotations

from pulse.v1 import memory_pb2, memory_pb2_grpc
from textual.widgets import DataTable, Input

from pulsetui.app import PulseApp
from pulsetui.dialogs.confirm import Confirm
from pulsetui.dialogs.prompt import Prompt
from pulsetui.screens.chat import ChatScreen
from pulsetui.screens.memory import MemoryScreen
from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon
from tests.tui.conftest import screen_ready, type_text, until


def ids(screen: MemoryScreen) -> list[str]:
    return [m.id for m in screen.items]


async def test_memory_view(daemon: Daemon, fake_llm: FakeLLM) -> None:
    stub = memory_pb2_grpc.MemoryStub(daemon.channel())
    dog = stub.Add(memory_pb2.MemoryAddRequest(content="My dog is called Rex"), timeout=10).id
    tea = stub.Add(memory_pb2.MemoryAddRequest(content="I prefer green tea"), timeout=10).id
    fake_llm.script(
        Reply(tool_calls=[("remember", {"content": "The user's bike is a red Brompton"})]),
        Reply(text="Noted."),
    )
    events = send(daemon, "my bike is a red Brompton", session="s-bikes")
    assert events[-1].final.text == "Noted."

    app = PulseApp(daemon.socket, autostart=False, view="chat")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        await pilot.press("f6")
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        await until(pilot, lambda: len(ids(screen)) == 3, what="all memories listed")
        assert ids(screen)[1:] == [tea, dog]

        await pilot.press("slash")
        await type_text(pilot, "dog")
        await until(pilot, lambda: ids(screen) == [dog], what="search as you type")
        assert "keyword" in screen.scores[dog].why

        table = screen.query_one(DataTable)
        table.focus()
        await pilot.press("e")
        await screen_ready(pilot, app, Prompt, what="edit prompt")
        field = app.screen.query_one(Input)
        field.value = "My dog is called Max"
        await pilot.press("enter")
        await until(
            pilot,
            lambda: [m.content for m in screen.items] == ["My dog is called Max"],
            what="edited text",
        )

        await pilot.press("d")
        await screen_ready(pilot, app, Confirm, what="confirmation")
        await pilot.press("n")
        assert app.screen is screen and ids(screen) == [dog]
        await pilot.press("d")
        await screen_ready(pilot, app, Confirm, what="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: ids(screen) == [], what="forgotten")
        listed = stub.List(memory_pb2.MemoryListRequest(), timeout=10).memories
        assert dog not in [m.id for m in listed]

        screen.query_one("#memory-search", Input).value = "brompton"
        await until(pilot, lambda: len(ids(screen)) == 1, what="the bike memory")
        table.focus()
        await pilot.press("g")
        await screen_ready(pilot, app, ChatScreen, what="chat view")
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await until(pilot, lambda: chat.session_id == "s-bikes", what="source session")
