"""The console's rough edges a new user hit (issue 15), each driven by Pilot against the
real daemon: the Streams view opens on recent rows, a running turn shows how long it has
been thinking, toasts leave the status bar readable, the cost chart spans its panel and
the view bar names every view."""

from __future__ import annotations

from textual.widgets import Select

from pulsetui.app import PulseApp
from pulsetui.format import STREAM_COLUMNS
from pulsetui.screens.streams import StreamsScreen
from pulsetui.widgets.tail_table import TailTable
from tests.daemon.util import rows, send
from tests.harness import Daemon
from tests.tui.conftest import until


def app_for(daemon: Daemon, view: str = "chat") -> PulseApp:
    return PulseApp(daemon.socket, autostart=False, view=view)


async def connected(pilot, app: PulseApp) -> None:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: app.connection.state == "connected", what="connection")


async def test_streams_open_on_the_recent_rows_then_follow(daemon: Daemon) -> None:
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
