"""The console against the real daemon: Pilot drives PulseApp over a temporary socket,
the daemon's LLM is the loopback fake speaking the OpenAI wire protocol."""

from __future__ import annotations

import asyncio
import json
import time

from pulse.v1 import chat_pb2, costs_pb2, tasks_pb2
from textual.widgets import DataTable, Input, OptionList, Static

from pulsectl.client import Filter
from pulsetui.app import PulseApp
from pulsetui.dialogs.approval import Approval
from pulsetui.dialogs.prompt import Prompt
from pulsetui.dialogs.task_form import TaskForm
from pulsetui.format import money
from pulsetui.screens.chat import ChatScreen
from pulsetui.screens.costs import CostsScreen
from pulsetui.screens.streams import StreamsScreen
from pulsetui.screens.tasks import TasksScreen
from pulsetui.widgets.conversation import AgentMessage, ErrorMessage, ToolCard, UserMessage
from pulsetui.widgets.tail_table import TailTable
from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM, Hang, Reply
from tests.harness import Daemon
from tests.tui.conftest import screen_ready, type_text, until


def app_for(daemon: Daemon, view: str = "chat") -> PulseApp:
    return PulseApp(daemon.socket, autostart=False, view=view)


async def connected(pilot, app: PulseApp) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: app.connection.state == "connected", what="connection")


async def test_chat_streams_the_answer_and_shows_a_tool_card(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    (daemon.workspace / "notes.md").write_text("hi")
    answer = "Found **notes.md** in your workspace."
    fake_llm.script(
        Reply(tool_calls=[("list_dir", {"path": "."})]),
        Reply(text=answer, chunk_size=3, delay_s=0.01),
    )
    seen: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, ChatScreen.TurnEvent):
            seen.append(message.event.WhichOneof("event") or "")

    app = app_for(daemon)
    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await type_text(pilot, "what is in my workspace?")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.running and screen.turns, what="turn end")

        assert [m.text for m in screen.query(UserMessage)] == ["what is in my workspace?"]
        card = screen.query_one(ToolCard)
        assert (card.tool, card.status) == ("list_dir", "ok")
        assert card.duration is not None and card.duration >= 0
        assert json.loads(card.arguments) == {"path": "."}
        assert "notes.md" in card.result and "✔ ok" in card.title
        reply = screen.query_one(AgentMessage)
        assert reply.text == answer
        assert seen.count("delta") >= 5, seen  # streamed in pieces, not in one go
        assert seen[0] == "accepted" and seen[-1] == "final"
        assert "tool_call" in seen and "tool_result" in seen
        # The session now appears in the list with its first message as title.
        await until(pilot, lambda: len(screen.sessions) == 1, what="session list")
        sid = screen.session_id
        assert sid and screen.sessions[0].session_id == sid

    stored = rows(daemon, "messages", session_id=sid)
    assert stored[0]["source"] == "tui"  # x-pulse-client: pulsetui
    assert stored[-1]["message_type"] == "agent_response" and stored[-1]["target"] == "tui"


async def test_chat_input_history_errors_and_switching_sessions(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    first = send(daemon, "an older conversation")
    old_session = first[0].session_id
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await until(pilot, lambda: len(screen.sessions) == 1, what="sessions")
        # An empty message is not sent; a too long one comes back as a readable error.
        await pilot.press("enter")
        assert not screen.turns
        # Multi-line entry: ctrl+j breaks the line.
        await type_text(pilot, "line one")
        await pilot.press("ctrl+j")
        await type_text(pilot, "line two")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.running and screen.turns, what="turn")
        assert screen.query(UserMessage).last().text == "line one\nline two"
        assert screen.query_one(AgentMessage).text == "echo: line one\nline two"
        # History: up brings the last message back.
        await pilot.press("up")
        assert screen.query_one("#chat-input").text == "line one\nline two"
        await pilot.press("down")
        assert screen.query_one("#chat-input").text == ""
        # Switch to the older session from the list.
        sessions = screen.query_one("#sessions", OptionList)
        await pilot.press("ctrl+l")
        assert app.focused is sessions
        index = [s.session_id for s in screen.sessions].index(old_session) + 1
        sessions.highlighted = index
        await pilot.press("enter")
        await until(
            pilot,
            lambda: [m.text for m in screen.query(UserMessage)] == ["an older conversation"],
            what="history of the older session",
        )
        assert screen.session_id == old_session
        assert screen.query_one(AgentMessage).text == "echo: an older conversation"

        # Refused input shows inline, readable.
        limit_text = "x" * 200_001
        screen.query_one("#chat-input").load_text(limit_text)
        await pilot.press("enter")
        await until(pilot, lambda: screen.query(ErrorMessage), what="error shown")
        error = screen.query(ErrorMessage).last()
        assert "INVALID_ARGUMENT" in error.message and "limit" in error.message


async def test_chat_approval_dialog_and_cancel(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "hello"})]),
        Reply(text="Written."),
        Hang(20),
    )
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await type_text(pilot, "write a file")
        await pilot.press("enter")
        await screen_ready(pilot, app, Approval, what="approval dialog")
        assert app.screen.request.tool == "write_file"
        await pilot.press("y")
        await until(pilot, lambda: not screen.running, what="turn end")
        assert (daemon.workspace / "a.txt").read_text() == "hello"
        assert screen.query_one(ToolCard).status == "ok"

        # A hanging turn: escape cancels it; the cancellation shows inline.
        await type_text(pilot, "take your time")
        await pilot.press("enter")
        await until(pilot, lambda: any(v.turn_id for v in screen.running), what="turn accepted")
        await until(pilot, lambda: len(fake_llm.requests) >= 3, what="LLM request")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.running, what="cancelled")
        assert screen.query(ErrorMessage).last().code == "cancelled"


async def test_approval_shows_the_diff_over_the_conversation_and_allows_for_the_session(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    """Overwriting a file shows a diff in a panel that leaves the conversation visible;
    "allow for this session" (s) runs the same call unasked later in the session."""
    (daemon.workspace / "n.txt").write_text("hello\n")
    call = ("write_file", {"path": "n.txt", "content": "bye\n"})
    fake_llm.script(
        Reply(tool_calls=[call]),
        Reply(text="Once."),
        Reply(tool_calls=[call]),
        Reply(text="Again."),
    )
    app = app_for(daemon)
    async with app.run_test(size=(80, 30)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await type_text(pilot, "overwrite it")
        await pilot.press("enter")
        # Pushed is not yet composed: wait for its parts too.
        await until(
            pilot,
            lambda: isinstance(app.screen, Approval) and bool(app.screen.query("#detail")),
            what="approval dialog",
        )
        dialog = app.screen
        assert isinstance(dialog, Approval)
        detail = str(dialog.query_one("#detail", Static).render())
        assert "overwrites n.txt" in detail and "-hello" in detail and "+bye" in detail
        box = dialog.query_one("Approval > Vertical")
        await until(pilot, lambda: box.region.height > 0, what="dialog laid out")
        assert box.region.y > 0  # docked at the bottom: the conversation shows above it
        await pilot.press("s")
        await until(pilot, lambda: not screen.running, what="turn end")
        assert (daemon.workspace / "n.txt").read_text() == "bye\n"
        (daemon.workspace / "n.txt").write_text("hello\n")
        await type_text(pilot, "again")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.running, what="second turn end")
        assert not isinstance(app.screen, Approval)
        assert (daemon.workspace / "n.txt").read_text() == "bye\n"
    approvals = [r["approval"] for r in rows(daemon, "tool_logs")]
    assert approvals == ["approved_session", "session"]


async def test_rename_session(daemon: Daemon, fake_llm: FakeLLM) -> None:
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await until(pilot, lambda: screen.sessions, what="session listed")
        await pilot.press("ctrl+r")
        await screen_ready(pilot, app, Prompt, what="rename prompt")
        app.screen.query_one(Input).value = ""
        await type_text(pilot, "Morning notes")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: screen.sessions and screen.sessions[0].title == "Morning notes",
            what="renamed title",
        )
    listed = daemon.pulsectl("sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["title"] == "Morning notes"


async def test_task_add_with_invalid_then_valid_schedule(daemon: Daemon) -> None:
    app = app_for(daemon, "tasks")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, TasksScreen)
        await pilot.press("a")
        await screen_ready(pilot, app, TaskForm, what="form")
        form = app.screen
        await type_text(pilot, "briefing")
        await pilot.press("tab", "tab")  # past the kind ("schedule") to the schedule
        await type_text(pilot, "every 5x")
        help_ = form.query_one("#schedule-help", Static)
        await until(pilot, lambda: "not a duration" in str(help_.render()), what="daemon's verdict")
        assert help_.has_class("-invalid")
        assert "not a duration" in form.schedule_problem
        assert form.query_one("#schedule", Input).has_class("-invalid")
        await pilot.press("tab", "tab")  # time zone, then the prompt
        await type_text(pilot, "Summarise my day")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, TaskForm)  # refused before reaching the daemon
        assert "schedule" in str(form.query_one("#form-error", Static).render())

        schedule = form.query_one("#schedule", Input)
        schedule.focus()
        schedule.value = ""
        await type_text(pilot, "0 9 * * *")
        form.query_one("#timezone", Input).value = "UTC"
        await until(pilot, lambda: str(help_.render()).startswith("✔ next:"), what="preview")
        assert not help_.has_class("-invalid")
        preview = str(help_.render())
        assert preview.startswith("✔ next:") and preview.count("09:00") == 3
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="form closed")
        await until(pilot, lambda: [t.name for t in screen.tasks] == ["briefing"], what="list")
        table = screen.query_one("#tasks-table", DataTable)
        assert table.get_row_at(0)[:3] == ["briefing", "0 9 * * *", "UTC"]

        # The daemon has the last word: a delivery target it refuses keeps the form open.
        await pilot.press("a")
        await screen_ready(pilot, app, TaskForm, what="form")
        form = app.screen
        form.query_one("#name", Input).value = "other"
        form.query_one("#schedule", Input).value = "every 1h"
        form.query_one("#prompt").load_text("ping")
        form.query_one("#deliver_to", Input).value = "not a target!"
        await pilot.press("ctrl+s")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "refused" in str(error.render()), what="daemon refusal")
        assert "delivery target" in str(error.render())
        await pilot.press("escape")

    listed = daemon.tasks().List(tasks_pb2.ListTasksRequest(), timeout=5).tasks
    assert [(t.name, t.schedule, t.timezone, t.deliver_to) for t in listed] == [
        ("briefing", "0 9 * * *", "UTC", "tui")
    ]


async def test_task_actions_and_run_history(daemon: Daemon, fake_llm: FakeLLM) -> None:
    daemon.tasks().Add(
        tasks_pb2.AddTaskRequest(
            task=tasks_pb2.Task(name="ping", schedule="every 1h", prompt="say pong", enabled=True)
        ),
        timeout=5,
    )
    fake_llm.script("pong!")
    app = app_for(daemon, "tasks")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, TasksScreen)
        await until(pilot, lambda: screen.tasks, what="tasks")
        await pilot.press("space")  # disable
        await until(pilot, lambda: not screen.tasks[0].enabled, what="disabled")
        await pilot.press("r")  # run now
        await until(
            pilot,
            lambda: screen.runs and screen.runs[0].status == "ok",
            timeout=20,
            what="run finished",
        )
        assert screen.runs[0].answer == "pong!"
        await pilot.press("d")
        await pilot.press("y")
        await until(pilot, lambda: not screen.tasks, what="deleted")
    assert not daemon.tasks().List(tasks_pb2.ListTasksRequest(), timeout=5).tasks


async def test_streams_filter_by_column_and_text(daemon: Daemon) -> None:
    app = app_for(daemon, "streams")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, StreamsScreen)
        table = screen.query_one(TailTable)
        await pilot.press("f")
        await type_text(pilot, "message_type=agent_response")
        await pilot.press("enter")
        assert screen.filters == [Filter("message_type", "eq", "agent_response")]
        for text in ("alpha", "beta", "gamma"):
            send(daemon, text)
        await until(pilot, lambda: table.row_count == 3, what="three answers")
        assert {r.values["message_type"] for r in table.rows} == {"agent_response"}
        # Text filter, applied in the console.
        await pilot.press("slash")
        await type_text(pilot, "beta")
        assert [r.values["content"]["text"] for r in table.rows] == ["echo: beta"]
        await pilot.press("enter")
        # Pause holds rows back; resume shows them.
        screen.query_one("#text-filter", Input).value = ""
        await pilot.press("p")
        send(daemon, "delta")
        await until(pilot, lambda: len(screen.held) == 1, what="held while paused")
        assert table.row_count == 3
        await pilot.press("p")
        assert table.row_count == 4 and not screen.held
        # A bad filter is explained, not sent.
        await pilot.press("f")
        screen.query_one("#column-filter", Input).value = "nonsense"
        await pilot.press("enter")
        assert "invalid filter" in screen.problem
        # From earliest: the user inputs as well.
        screen.query_one("#column-filter", Input).value = "message_type=user_input"
        await pilot.press("enter")
        await pilot.press("e")
        await until(pilot, lambda: table.row_count == 4, what="replayed inputs")
        assert [r.values["content"]["text"] for r in table.rows] == [
            "alpha",
            "beta",
            "gamma",
            "delta",
        ]


async def test_costs_totals_after_some_turns(daemon: Daemon, fake_llm: FakeLLM) -> None:
    for text in ("one", "two", "three"):
        send(daemon, text)
    logs = rows(daemon, "llm_logs")
    assert len(logs) == 3
    spent = sum(r["estimated_cost_usd"] for r in logs)
    tokens_in = sum(r["input_tokens"] for r in logs)
    app = app_for(daemon, "costs")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, CostsScreen)
        await until(pilot, lambda: screen.data is not None, what="costs loaded")
        assert screen.data is not None
        for key in ("today", "7d", "30d"):
            total = screen.data.totals[key]
            assert total.requests == 3
            assert abs(total.cost_usd - spent) < 1e-9
            assert total.input_tokens == tokens_in
        card = str(screen.query_one("#card-today", Static).render())
        assert money(spent) in card and "3 req" in card
        assert [b.key for b in screen.data.by_model] == ["fake-model"]
        assert [b.key for b in screen.data.by_origin] == ["chat"]

        # A new turn updates the view by itself (it follows llm_logs).
        send(daemon, "four")
        await until(
            pilot,
            lambda: screen.data is not None and screen.data.totals["today"].requests == 4,
            what="live update",
        )
    summary = daemon.costs().Summary(costs_pb2.CostSummaryRequest(), timeout=5)
    assert summary.total.requests == 4


async def test_reconnects_after_daemon_restart(daemon: Daemon) -> None:
    app = app_for(daemon, "events")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        table = app.screen.query_one(TailTable)
        await until(pilot, lambda: table.row_count >= 1, what="daemon_started event")
        # The daemon stops fast: the console drops its tails when health says NOT_SERVING.
        started = time.monotonic()
        await asyncio.to_thread(daemon.stop)
        assert time.monotonic() - started < 8, "pulsed waited out its grace for our tails"
        await until(pilot, lambda: app.connection.state == "disconnected", what="lost")
        assert "retrying" in app.connection.detail
        await asyncio.to_thread(daemon.start)
        await until(
            pilot,
            lambda: app.connection.state == "connected" and app.connection.reconnected,
            timeout=20,
            what="reconnected",
        )
        await until(
            pilot,
            lambda: [r.values["event_type"] for r in table.rows].count("daemon_started") == 2,
            what="the tail resumed without a gap",
        )
        kinds = [r.values["event_type"] for r in table.rows]
        assert kinds == ["daemon_started", "daemon_stopped", "daemon_started"]


async def test_task_delivery_to_the_console_is_a_notification(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    daemon.tasks().Add(
        tasks_pb2.AddTaskRequest(
            task=tasks_pb2.Task(
                name="digest", schedule="every 1h", prompt="digest", deliver_to="tui", enabled=True
            )
        ),
        timeout=5,
    )
    app = app_for(daemon)
    # The deliveries tail starts from "latest": the last seq of messages it reads, and
    # every row after it reaches the console. Wait for that read, not for a fixed time.
    read: list[str] = []
    last_seq = app.client.last_seq

    async def recording_last_seq(stream: str) -> int:
        seq = await last_seq(stream)
        read.append(stream)
        return seq

    app.client.last_seq = recording_last_seq  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: "messages" in read, what="deliveries tail open")
        send(daemon, "a chat answer is not a delivery")
        fake_llm.script("Your digest: all quiet.")
        daemon.tasks().RunNow(tasks_pb2.RunNowRequest(name="digest"), timeout=5)
        await until(
            pilot,
            lambda: any("all quiet" in str(n.message) for n in app._notifications),
            what="delivery notification",
        )
        titles = [n.title for n in app._notifications]
        assert "task digest" in titles
        assert not any("not a delivery" in str(n.message) for n in app._notifications)


async def test_views_are_reachable_by_keys_and_palette(daemon: Daemon) -> None:
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        for key, mode in (("f2", "streams"), ("f3", "tasks"), ("f4", "costs"), ("f5", "events")):
            await pilot.press(key)
            assert app.current_mode == mode
        await pilot.press("f1")
        assert app.current_mode == "chat"
        await pilot.press("ctrl+p")
        await type_text(pilot, "Costs")
        await pilot.press("enter")
        await until(pilot, lambda: app.current_mode == "costs", what="palette switched view")
        assert chat_pb2.TurnEvent  # the proto module is importable beside the app
