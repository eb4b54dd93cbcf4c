"""The console's rough edges a new user hit (issue 15), each driven by Pilot against the
real daemon: the Streams view opens on recent rows, a running turn shows how long it has
been thinking, toasts leave the status bar readable, the cost chart spans its panel and
the view bar names every view."""

from __future__ import annotations

import pytest
from textual.widgets import Select
from textual.widgets._toast import Toast

from pulsetui import format
from pulsetui.app import PulseApp
from pulsetui.format import STREAM_COLUMNS
from pulsetui.messages import DaemonNote
from pulsetui.screens import streams
from pulsetui.screens.chat import ChatScreen
from pulsetui.screens.costs import CostsScreen
from pulsetui.screens.streams import StreamsScreen
from pulsetui.widgets.bars import ColumnChart
from pulsetui.widgets.conversation import AgentMessage, ErrorMessage
from pulsetui.widgets.status_bar import StatusBar
from pulsetui.widgets.tail_table import TailTable
from pulsetui.widgets.thinking import Thinking
from pulsetui.widgets.view_bar import ViewBar
from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM, Hang
from tests.harness import Daemon
from tests.tui.conftest import type_text, until


def app_for(daemon: Daemon, view: str = "chat") -> PulseApp:
    return PulseApp(daemon.socket, autostart=False, view=view)


async def connected(pilot, app: PulseApp) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: app.connection.state == "connected", what="connection")


async def test_streams_open_on_the_recent_rows_then_follow(
    daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    for text in ("alpha", "beta", "gamma"):
        send(daemon, text)
    stored = rows(daemon, "messages")
    assert len(stored) == 6  # each turn: user_input and agent_response
    app = app_for(daemon, "streams")
    async with app.run_test(size=(120, 30)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, StreamsScreen)
        table = screen.query_one(TailTable)
        await until(pilot, lambda: table.row_count == 6, what="the stored rows")
        assert [r.seq for r in table.rows] == [r["_seq"] for r in stored]
        # Then it follows: new rows come after them, none twice.
        send(daemon, "delta")
        await until(pilot, lambda: table.row_count == 8, what="the live rows")
        seqs = [r.seq for r in table.rows]
        assert seqs == sorted(set(seqs))
        assert table.rows[-1].values["message_type"] == "agent_response"

        # The content column gets the spare width; the others are as wide as their content.
        widths = table.column_widths()
        names = [c.name for c in table.columns]
        assert names[-1] == "content"
        gaps = len(widths) - 1
        assert widths[-1] == table.scrollable_content_region.width - sum(widths[:-1]) - gaps
        source = names.index("source")
        configured = dict(STREAM_COLUMNS["messages"])["source"]
        longest = max(len(str(r.values["source"])) for r in table.rows)
        assert widths[source] == max(longest, len("source"))
        assert widths[source] < configured

        # Another stream opens on its recent rows too.
        screen.query_one("#stream-pick", Select).value = "llm_logs"
        await until(pilot, lambda: screen.stream == "llm_logs", what="stream switched")
        await until(pilot, lambda: table.row_count == 4, what="the stored LLM calls")
        assert {r.values["status"] for r in table.rows} == {"success"}
        assert "last 200, then live" in str(screen.query_one("#streams-info").render())

        # At most RECENT rows: the newest ones.
        monkeypatch.setattr(streams, "RECENT", 3)
        screen.query_one("#stream-pick", Select).value = "messages"
        await until(pilot, lambda: screen.stream == "messages", what="back to messages")
        await until(pilot, lambda: table.row_count == 3, what="the last three")
        assert [r.seq for r in table.rows] == seqs[-3:]


async def test_a_running_turn_shows_thinking_with_elapsed_seconds(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Hang(20))
    app = app_for(daemon)
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        thinking = screen.query_one(Thinking)
        assert not thinking.display

        def line() -> str:
            return str(thinking.render())

        # A hanging turn: the line shows at once and counts the seconds.
        await type_text(pilot, "take your time")
        await pilot.press("enter")
        await until(pilot, lambda: thinking.display and "thinking… 0s" in line(), what="0s")
        assert thinking.region.height == 1  # laid out above the message box
        await until(pilot, lambda: "thinking… 1s" in line(), what="a second later")
        # Cancelled: the line goes away.
        await until(pilot, lambda: any(v.turn_id for v in screen.running), what="accepted")
        await pilot.press("escape")
        await until(pilot, lambda: not screen.running, what="cancelled")
        assert screen.query(ErrorMessage).last().code == "cancelled"
        assert not thinking.display and not thinking.busy and line() == ""

        # An answer ends it too, and the next turn counts from 0 again.
        first_start = thinking.started
        await type_text(pilot, "hello")
        await pilot.press("enter")
        await until(pilot, lambda: not screen.running, what="answered")
        assert thinking.started > first_start  # the clock started again at this turn
        assert screen.query(AgentMessage).last().text.endswith("hello")
        assert not thinking.display

        # So does a Send the daemon refuses.
        screen.query_one("#chat-input").load_text("x" * 200_001)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: not screen.running, what="refused")
        assert "limit" in screen.query(ErrorMessage).last().message
        assert not thinking.display


async def test_toasts_are_short_for_information_and_leave_the_status_bar_readable(
    daemon: Daemon,
) -> None:
    app = app_for(daemon)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await connected(pilot, app)
        await pilot.press("ctrl+r")  # nothing to rename yet: an information toast
        app.notify("the store went away [budget] daily_usd", title="error (x)", severity="error")
        await pilot.pause(0.1)
        shown = {n.title or n.message[:10]: n for n in app._notifications}
        info, error = shown["Send a mes"], shown["error (x)"]
        assert info.severity == "information" and info.timeout <= 3
        assert error.severity == "error" and error.timeout >= 8
        await until(pilot, lambda: len(app.screen.query(Toast)) >= 2, what="toasts shown")
        # Regions are known once laid out, which is later than mounted.
        await until(
            pilot,
            lambda: all(t.region.height > 0 for t in app.screen.query(Toast)),
            what="toasts laid out",
        )
        bottom = [app.screen.query_one(StatusBar).region, app.screen.query_one("ViewBar").region]
        for toast in app.screen.query(Toast):
            assert toast.region.height <= 3  # title and text, no padding lines
            assert not any(toast.region.overlaps(r) for r in bottom), (toast.region, bottom)
        # Text from the daemon or the client is shown as it is, not read as markup.
        app.post_message(DaemonNote("started pulsed; see [budget] daily_usd"))
        note = "started pulsed; see [budget] daily_usd"

        def texts() -> list[str]:
            return [str(t.render()) for t in app.screen.query(Toast)]

        await until(pilot, lambda: any("started pulsed" in t for t in texts()), what="the note")
        assert any(note in t for t in texts()), texts()


def bar_extent(chart: ColumnChart) -> tuple[int, int]:
    """(first, last) cell of the chart's bar lines that is not blank, after the axis."""
    lines = str(chart.render()).split("\n")[: chart.rows]
    axis = len(lines[0].split(" ")[0]) + 1
    cols = [i for line in lines for i, ch in enumerate(line) if i >= axis and ch != " "]
    return min(cols) - axis, max(cols) - axis


async def test_the_cost_chart_spans_its_panel(daemon: Daemon) -> None:
    send(daemon, "one")
    app = app_for(daemon, "costs")
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        screen = app.screen
        assert isinstance(screen, CostsScreen)
        await until(pilot, lambda: screen.data is not None, what="costs loaded")
        chart = screen.query_one("#by-day", ColumnChart)
        # The chart draws to its laid-out width (40 before the first layout).
        await until(
            pilot,
            lambda: chart.items and chart.content_region.width >= 100,  # the screen's width
            what="chart filled and laid out",
        )
        width = chart.content_region.width
        axis = len(str(chart.render()).split(" ")[0]) + 1
        # Only today has a cost: its column is the last one, at the right edge.
        first, last = bar_extent(chart)
        assert last == width - axis - 1, (first, last, width)
        footer = str(chart.render()).split("\n")[-1]
        assert footer.rstrip().endswith(format.local_now().strftime("%m-%d"))
        assert len(footer.rstrip()) == width
        # Narrower, the chart still fills the panel.
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: chart.content_region.width < width, what="chart laid out again")
        width = chart.content_region.width
        _, last = bar_extent(chart)
        assert last == width - axis - 1


def highlighted(bar: ViewBar) -> str:
    """The text of the bar's reversed (current view) spans."""
    content = bar.render()
    assert not isinstance(content, str)
    return "".join(
        content.plain[span.start : span.end]
        for span in content.spans
        if "reverse" in str(span.style)
    )


async def test_the_view_bar_names_every_view_memory_too(daemon: Daemon) -> None:
    app = app_for(daemon, "memory")
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot, app)
        bar = app.screen.query_one(ViewBar)
        text = str(bar.render())
        for key, title in (("F1", "Chat"), ("F5", "Events"), ("F6", "Memory")):
            assert f"{key} {title}" in text
        assert text.rstrip().endswith("^q quit") and len(text) <= 80
        assert highlighted(bar).split() == ["F6", "Memory"]
        await pilot.press("f2")
        assert app.current_mode == "streams"
        bar = app.screen.query_one(ViewBar)
        assert "F6 Memory" in str(bar.render())
        assert highlighted(bar).split() == ["F2", "Streams"]
        await pilot.press("f6")
        assert app.current_mode == "memory"
        # Wider, the keys get more room.
        await pilot.resize_terminal(120, 30)
        wide = " F6 Memory    ^p palette  ^q quit"
        await until(
            pilot, lambda: wide in str(app.screen.query_one(ViewBar).render()), what=repr(wide)
        )
