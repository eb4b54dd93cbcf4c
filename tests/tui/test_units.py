"""The console's pure parts: schedule checks, filters, formatting, the tail table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pulse.v1 import system_pb2
from textual.app import App, ComposeResult

from pulsectl.client import Filter, TailRow, from_status, parse_filters
from pulsetui.app import explain
from pulsetui.format import count, money, one_line, when
from pulsetui.widgets.bars import hbar
from pulsetui.widgets.status_bar import Connection, render
from pulsetui.widgets.tail_table import TailTable, columns_for


def test_parse_filters() -> None:
    assert parse_filters("") == []
    assert parse_filters("source=tui message_type!=error") == [
        Filter("source", "eq", "tui"),
        Filter("message_type", "ne", "error"),
    ]
    assert parse_filters("latency_ms>=100 input_tokens<5") == [
        Filter("latency_ms", "ge", "100"),
        Filter("input_tokens", "lt", "5"),
    ]
    assert parse_filters("content~'hello world'") == [Filter("content", "contains", "hello world")]
    assert parse_filters("content=a=b") == [Filter("content", "eq", "a=b")]
    assert parse_filters("source==tui") == [Filter("source", "eq", "tui")]  # as in pulsectl
    with pytest.raises(ValueError, match="invalid filter"):
        parse_filters("tui")
    with pytest.raises(ValueError, match="cannot read"):
        parse_filters("content='open")


def test_connection_loss_is_told_from_a_daemon_that_answered_with_an_error() -> None:
    socket = Path("/run/pulse/pulsed.sock")
    lost = from_status("UNAVAILABLE", "failed to connect to all addresses", (), socket)
    reason, hint = explain(lost, socket)
    assert reason == f"no daemon answers on {socket}" and "reconnects by itself" in hint
    # UNAVAILABLE with the daemon's pulse-error trailer: the daemon is up, its store is not.
    store_down = from_status("UNAVAILABLE", "store unreachable", [("pulse-error", "StoreError")])
    assert explain(store_down, socket) == ("UNAVAILABLE: store unreachable", "")


def test_formatting() -> None:
    assert money(0.00849) == "$0.0085" and money(12.5) == "$12.50"
    assert [count(n) for n in (950, 1234, 52_300, 4_100_000)] == ["950", "1.2k", "52k", "4.1M"]
    assert one_line({"text": "a\nb"}) == "a⏎b"
    assert one_line({"x": 1}) == '{"x":1}'
    assert one_line("y" * 300, 10) == "y" * 9 + "…"
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert when("", now) == "-"
    assert when("2025-01-02T03:04:00Z", now).startswith("2025-")
    assert hbar(0.5, 4) == "██  " and hbar(1 / 16, 2) == "▏ " and hbar(0, 3) == "   "


def test_status_line() -> None:
    status = system_pb2.StatusResponse(
        store_backend="local",
        store_health="ok",
        provider="anthropic",
        model="claude-sonnet-4-5",
        spent_today_usd=6.0,
        budget_daily_usd=5.0,
    )
    line = render(Connection("connected", "", status)).plain
    assert line == "● connected │ local │ anthropic/claude-sonnet-4-5 │ $6.00 today of $5.00"
    assert len(line) <= 80
    status.provider_problem = "set ANTHROPIC_API_KEY"
    assert "no LLM provider" in render(Connection("connected", "", status)).plain
    down = render(Connection("disconnected", "— retrying in 2 s", status)).plain
    assert down == "○ disconnected — retrying in 2 s"
    status.provider_problem = ""
    status.channels.add(name="telegram", state="connected")
    status.channels.add(name="slack", state="reconnecting", failed_deliveries=2)
    line = render(Connection("connected", "", status)).plain
    assert "│ ● telegram │ ○ slack 2✖ │" in line


def rows(first: int, n: int) -> list[TailRow]:
    return [
        TailRow("events", seq, {"severity": "info", "event_type": f"e{seq}"})
        for seq in range(first, first + n)
    ]


class TableApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.opened: list[int] = []

    def compose(self) -> ComposeResult:
        yield TailTable(columns_for([("event_type", 0)]), cap=50)

    def on_tail_table_row_opened(self, message: TailTable.RowOpened) -> None:
        self.opened.append(message.row.seq)


async def test_tail_table_caps_follows_and_filters() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(TailTable)
        table.add_rows(rows(1, 30))
        table.add_rows(rows(31, 40))
        assert table.kept_count == 50 and table.received == 70
        assert [r.seq for r in table.rows][:2] == [21, 22]
        assert table.following and table.cursor_row is not None
        assert table.cursor_row.seq == 70
        # Moving up stops following; new rows keep the cursor on the same row.
        table.focus()
        await pilot.press("up", "up")
        assert not table.following and table.cursor_row.seq == 68
        table.add_rows(rows(71, 5))
        assert table.cursor_row.seq == 68
        await pilot.press("end")
        assert table.following and table.cursor_row.seq == 75
        # The text filter shows matching rows only, and can be cleared.
        table.text_filter = "E7"
        assert [r.seq for r in table.rows] == [70, 71, 72, 73, 74, 75]
        table.add_rows([*rows(76, 2), TailRow("events", 78, {"event_type": "x"})])
        assert [r.seq for r in table.rows][-3:] == [75, 76, 77]  # row 78 does not match
        table.text_filter = ""
        assert table.row_count == 50
        await pilot.press("home", "enter")
        assert app.opened == [table.rows[0].seq]


def test_a_filter_takes_the_column_headers_short_names() -> None:
    from pulsectl.client import parse_filters
    from pulsetui.format import column_alias

    got = [column_alias(f, "messages") for f in parse_filters("source=tui type!=error")]
    assert [(f.column, f.op, f.value) for f in got] == [
        ("source", "eq", "tui"),
        ("message_type", "ne", "error"),
    ]
    (ms,) = [column_alias(f, "tool_logs") for f in parse_filters("ms>=500")]
    assert ms.column == "duration_ms"
    (path,) = [column_alias(f, "ingest") for f in parse_filters("payload.type=x")]
    assert path.column == "payload.type"


def test_the_status_bar_shows_a_sessions_own_model() -> None:
    from pulse.v1 import system_pb2

    from pulsetui.widgets.status_bar import Connection, render

    conn = Connection(
        state="connected",
        status=system_pb2.StatusResponse(store_backend="local", provider="anthropic", model="m"),
    )
    assert "anthropic/m" in render(conn).plain
    shown = render(conn, "openai:gpt-4o-mini").plain
    assert "openai/gpt-4o-mini (session)" in shown and "anthropic/m" not in shown
