"""Unit tests of pulsectl's pure logic: argument parsing, --where and time values,
output formatting, exit codes, the systemd unit, chat turn rendering and the import
boundary. No daemon is involved (the daemon-backed tests live elsewhere)."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulse.v1 import chat_pb2, common_pb2, costs_pb2, system_pb2, tasks_pb2

from pulsectl import args as argspec
from pulsectl import argtypes, chat, cli, diagnostics, output, render_streams, render_tasks, service
from pulsectl.client import Filter, translate
from pulsectl.commands import streams
from pulsectl.diagnostics import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    DaemonUnreachable,
    ServerError,
    TurnFailed,
    UsageError,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kolkata() -> Iterator[None]:
    """Local time is UTC+05:30 (no daylight saving) for the test."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


# -- --where ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("message_type=error", ("message_type", "eq", "error")),
        ("tool!=shell", ("tool", "ne", "shell")),
        ("content~hello world", ("content", "contains", "hello world")),
        ("latency_ms>5000", ("latency_ms", "gt", "5000")),
        ("latency_ms>=5000", ("latency_ms", "ge", "5000")),
        ("priority<1", ("priority", "lt", "1")),
        ("priority<=1", ("priority", "le", "1")),
        ("model==gpt-4o", ("model", "eq", "gpt-4o")),
        ("a=b=c", ("a", "eq", "b=c")),
        ("note~x>y", ("note", "contains", "x>y")),
        ("session_id=", ("session_id", "eq", "")),
        ("level >= 3", ("level", "ge", "3")),
        ("text= padded", ("text", "eq", " padded")),
    ],
)
def test_parse_where_accepts_every_operator(text: str, expected: tuple[str, str, str]) -> None:
    assert argtypes.parse_where(text) == Filter(*expected)


@pytest.mark.parametrize("text", ["", "foo", "=x", "1col=x", "col", "col:x", "col..sub=x"])
def test_parse_where_rejects_malformed_filters_naming_the_forms(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        argtypes.parse_where(text)
    assert "col=value" in str(info.value) and "col<=value" in str(info.value)


def test_malformed_where_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["streams", "query", "messages", "--where", "nonsense"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid filter 'nonsense'" in err and "col~value (contains)" in err


# -- times -----------------------------------------------------------------------------

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400)],
)
def test_durations_count_back_from_now(text: str, seconds: int) -> None:
    assert argtypes.parse_time_ms(text, now=NOW) == int((NOW - seconds) * 1000)


def test_now_is_now() -> None:
    assert argtypes.parse_time_ms("now", now=NOW) == int(NOW * 1000)


def test_iso_times_with_an_offset() -> None:
    assert argtypes.parse_time_ms("2026-11-21T09:00:00Z") == int(
        datetime(2026, 11, 21, 9, tzinfo=UTC).timestamp() * 1000
    )
    assert argtypes.parse_time_ms("2026-11-21T09:00:00+01:00") == int(
        datetime(2026, 11, 21, 8, tzinfo=UTC).timestamp() * 1000
    )


def test_iso_times_without_an_offset_are_local(kolkata: None) -> None:
    expected = int(datetime(2026, 11, 21, 3, 30, tzinfo=UTC).timestamp() * 1000)
    assert argtypes.parse_time_ms("2026-11-21T09:00") == expected
    assert argtypes.parse_time_ms("2026-11-21 09:00:00") == expected
    assert argtypes.parse_time_ms("2026-11-21") == expected - 9 * 3600 * 1000


@pytest.mark.parametrize("text", ["yesterday", "24", "h", "-5m", "3 days", "2026-13-01"])
def test_bad_times_are_rejected_with_an_example(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        argtypes.parse_time_ms(text, now=NOW)
    assert "24h" in str(info.value) and "2026-11-21T09:00" in str(info.value)


def test_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["costs", "--since", "last week"]) == EXIT_USAGE
    assert "--since 24h" in capsys.readouterr().err


def test_costs_default_to_the_last_24_hours() -> None:
    before = int(time.time() * 1000)
    args = argspec.build_parser().parse_args(["costs"])
    assert args.until is None
    assert before - 86400_000 - 5000 < args.since <= int(time.time() * 1000) - 86400_000


@pytest.mark.parametrize(
    ("text", "expected"), [("earliest", "earliest"), ("LATEST", "latest"), ("1200", 1200)]
)
def test_tail_start(text: str, expected: str | int) -> None:
    assert argtypes.parse_start(text) == expected


def test_bad_tail_start_is_rejected() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="earliest, latest or a sequence"):
        argtypes.parse_start("-3")


# -- the parser ------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    return argspec.build_parser().parse_args(list(argv))


def test_global_flags_before_or_after_the_subcommand() -> None:
    before = parse("--json", "--socket", "/tmp/a.sock", "--no-start", "sessions", "list")
    after = parse("sessions", "list", "--json", "--socket", "/tmp/a.sock", "--no-start")
    for args in (before, after):
        assert (args.json, args.socket, args.no_start) == (True, "/tmp/a.sock", True)
    plain = parse("status")
    assert (plain.json, plain.socket, plain.no_start) == (False, None, False)


def test_a_flag_after_the_subcommand_wins() -> None:
    assert parse("--socket", "/a", "status", "--socket", "/b").socket == "/b"


def test_streams_query_arguments() -> None:
    args = parse(
        "streams",
        "query",
        "llm_logs",
        "--where",
        "model=x",
        "--where",
        "latency_ms>5",
        "--limit",
        "20",
        "--asc",
        "--since",
        "1h",
    )
    assert (args.func.__module__, args.func.__name__) == (streams.__name__, "cmd_query")
    assert args.where == [Filter("model", "eq", "x"), Filter("latency_ms", "gt", "5")]
    assert (args.limit, args.asc, args.until) == (20, True, None)


def test_tasks_arguments() -> None:
    args = parse(
        "tasks", "add", "morning", "--schedule", "0 9 * * *", "--prompt", "hi", "--disabled"
    )
    assert (args.name, args.schedule, args.prompt, args.tz, args.deliver_to, args.disabled) == (
        "morning",
        "0 9 * * *",
        "hi",
        "",
        "",
        True,
    )
    edit = parse("tasks", "edit", "morning", "--tz", "Europe/Paris")
    assert (edit.schedule, edit.prompt, edit.tz, edit.deliver_to) == (
        None,
        None,
        "Europe/Paris",
        None,
    )


def test_tasks_edit_without_changes_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tasks", "edit", "morning", "--no-start"]) == EXIT_USAGE
    assert "nothing to change" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["sessions"],
        ["bogus"],
        ["tasks", "add", "x", "--prompt", "p"],
        ["costs", "--by", "week"],
        ["sessions", "list", "--limit", "0"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage:" in captured.err


def test_help_lists_exit_codes_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"\n  {code}" in out
    assert "examples:" in out


def _leaf_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_commands(sub, (*prefix, name))
            return
    yield prefix


def test_every_command_has_a_description_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    leaves = list(_leaf_commands(argspec.build_parser()))
    assert ("streams", "tail") in leaves and ("service", "install") in leaves
    for leaf in leaves:
        assert cli.main([*leaf, "--help"]) == EXIT_OK
        out = capsys.readouterr().out
        assert "example:" in out and "pulsectl " + " ".join(leaf) in out, leaf
        assert "--json" in out, leaf


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == EXIT_OK
    assert capsys.readouterr().out.startswith("pulsectl ")


# -- errors and exit codes -------------------------------------------------------------


class FakeRpcError(grpc.RpcError, grpc.Call):
    """A failed call as the sync stubs raise it."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def initial_metadata(self) -> None:
        return None

    def trailing_metadata(self) -> None:
        return None

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def test_exit_codes_per_error_class() -> None:
    assert diagnostics.exit_code_for(CliError("x")) == EXIT_ERROR
    assert diagnostics.exit_code_for(ServerError("NOT_FOUND", "x")) == EXIT_ERROR
    assert diagnostics.exit_code_for(TurnFailed("budget_exceeded", "x")) == EXIT_ERROR
    assert diagnostics.exit_code_for(UsageError("x")) == EXIT_USAGE
    assert diagnostics.exit_code_for(DaemonUnreachable("x")) == EXIT_UNREACHABLE
    assert diagnostics.exit_code_for(KeyboardInterrupt()) == EXIT_INTERRUPTED


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
    ],
)
def test_server_errors_exit_1_naming_the_status(code: grpc.StatusCode) -> None:
    err = translate(FakeRpcError(code, "what went wrong"))
    assert isinstance(err, ServerError)
    assert diagnostics.exit_code_for(err) == EXIT_ERROR
    assert err.message == f"{code.name}: what went wrong"


def test_unavailable_means_the_daemon_is_unreachable() -> None:
    err = translate(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "Socket closed"), "/tmp/p.sock")
    assert isinstance(err, DaemonUnreachable)
    assert diagnostics.exit_code_for(err) == EXIT_UNREACHABLE
    assert "UNAVAILABLE: Socket closed" in err.message and "/tmp/p.sock" in err.hint


def test_report_writes_one_error_line_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    err = translate(
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "stream messages has no column 'foo'")
    )
    assert diagnostics.report(err) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: INVALID_ARGUMENT: stream messages has no column 'foo'\n"


def test_no_daemon_and_no_start_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sock = tmp_path / "none.sock"
    assert cli.main(["--no-start", "--socket", str(sock), "status"]) == EXIT_UNREACHABLE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"error: no daemon answers on {sock}" in captured.err
    assert "Traceback" not in captured.err


# -- formatting ------------------------------------------------------------------------


def test_truncate_and_one_line() -> None:
    assert output.truncate("abcdef", 6) == "abcdef"
    assert output.truncate("abcdefg", 6) == "abcde…"
    assert output.one_line("a\nb\tc") == "a b c"


def test_table_aligns_and_fits_the_width() -> None:
    rows = [["short", "1", "x" * 100], ["a-much-longer-name", "12345", "y"]]
    text = output.table(["name", "n", "text"], rows, width=40, right={1})
    lines = text.splitlines()
    assert lines[0].startswith("NAME")
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].rstrip().endswith("…")
    # the numeric column is right-aligned and keeps its width
    assert lines[1].index("    1") > 0 and "12345" in lines[2]


def test_table_without_a_width_keeps_everything() -> None:
    text = output.table(["a"], [["x" * 200]])
    assert "x" * 200 in text


def test_local_time(kolkata: None) -> None:
    assert output.local_time("2026-11-21T09:00:00.000Z") == "2026-11-21 14:30:00"
    assert output.local_time("2026-11-21T09:00:00+01:00") == "2026-11-21 13:30:00"
    assert output.local_time("2026-11-21T09:00:00") == "2026-11-21 14:30:00"  # naive is UTC
    assert output.local_time("") == "-"
    assert output.local_time("not a time") == "not a time"


@pytest.mark.parametrize(
    ("seconds", "text"), [(5, "5s"), (125, "2m 5s"), (7500, "2h 5m"), (2 * 86400 + 7200, "2d 2h")]
)
def test_human_duration(seconds: float, text: str) -> None:
    assert output.human_duration(seconds) == text


def test_numbers() -> None:
    assert output.money(0.12345) == "$0.1235"
    assert output.tokens(9999) == "9999"
    assert output.tokens(12345) == "12.3k"
    assert output.tokens(4_500_000) == "4.5M"
    assert output.milliseconds(850) == "850ms"
    assert output.milliseconds(12345) == "12.3s"
    assert output.budget_line(0.5, 5) == "$0.5000 today of $5.00 daily budget (10%)"
    assert output.budget_line(0.5, 0) == "$0.5000 today (no daily budget)"


def test_to_dict_keeps_proto_names_order_and_numbers() -> None:
    st = system_pb2.StatusResponse(version="1", pid=7, spent_today_usd=0.5)
    data = output.to_dict(st)
    assert list(data)[:3] == ["version", "pid", "uptime_s"]
    assert data["pid"] == 7 and data["active_turns"] == 0 and data["provider_problem"] == ""
    bucket = output.to_dict(costs_pb2.CostBucket(key="m", input_tokens=2**40))
    assert bucket["input_tokens"] == 2**40  # int64 as a JSON number, not a string


def test_row_dict_puts_seq_first() -> None:
    row = common_pb2.Row(stream="messages", seq=42, json='{"id": "m1", "content": {"text": "hi"}}')
    assert output.row_dict(row) == {"seq": 42, "id": "m1", "content": {"text": "hi"}}
    assert json.loads(json.dumps(output.row_dict(row)))["seq"] == 42


def test_status_rendering_and_warnings() -> None:
    st = system_pb2.StatusResponse(
        version="0.1.0",
        pid=12,
        uptime_s=3725,
        socket="/run/p.sock",
        store_backend="local",
        store_health="ok",
        schema_version=1,
        provider="anthropic",
        model="claude",
        provider_problem="set ANTHROPIC_API_KEY",
        active_turns=1,
        spent_today_usd=1,
        budget_daily_usd=5,
    )
    text = output.render_status(st)
    assert "pulsed 0.1.0  pid 12  up 1h 2m" in text
    assert "local (ok, schema v1)" in text
    assert "anthropic / claude  (not usable)" in text
    assert "$1.0000 today of $5.00 daily budget (20%)" in text
    assert output.status_warnings(st) == ["provider not usable: set ANTHROPIC_API_KEY"]


def test_row_lines_show_seq_time_and_main_columns(kolkata: None) -> None:
    row = {
        "seq": 7,
        "id": "m1",
        "timestamp": "2026-11-21T09:00:00.000Z",
        "source": "cli",
        "target": "agent",
        "session_id": "s-1",
        "message_type": "user_input",
        "content": {"text": "hello\nthere"},
    }
    line = render_streams.render_row("messages", row)
    assert line == "     7  2026-11-21 14:30:00  user_input  s-1  cli  agent  hello there"
    cut = render_streams.render_row("messages", row, width=62)
    assert len(cut) == 62 and cut.endswith("  agent  hel…")  # the free text gives way
    # identifiers are never cut: when they alone do not fit, the line stays whole
    assert render_streams.render_row("messages", row, width=30) == line
    unknown = render_streams.render_row("other", {"seq": 1, "timestamp": "", "a": 1, "b": [1]})
    assert unknown.endswith("a=1  b=[1]")


def test_costs_table_fits_80_columns() -> None:
    summary = costs_pb2.CostSummaryResponse(
        total=costs_pb2.CostBucket(requests=1234, input_tokens=12_345_678, cost_usd=123.45678),
        buckets=[
            costs_pb2.CostBucket(
                key="anthropic/claude-sonnet-4-5-20250929-extra-long",
                requests=1234,
                errors=12,
                input_tokens=12_345_678,
                output_tokens=456_789,
                cache_read_tokens=999_999,
                cache_write_tokens=12_000,
                cost_usd=123.45678,
                avg_latency_ms=23456,
            )
        ],
        budget_daily_usd=5,
        spent_today_usd=1.25,
    )
    text = output.render_costs(summary, "model", 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "$123.4568" in text and "\ntotal " in text
    # the model is never cut: the cache, error and latency columns gave way
    assert "anthropic/claude-sonnet-4-5-20250929-extra-long  " in text
    assert text.splitlines()[0].split() == ["MODEL", "REQ", "IN", "OUT", "COST"]
    assert "C.READ" in output.render_costs(summary, "model", 140)
    assert text.splitlines()[-1] == "spend: $1.2500 today of $5.00 daily budget (25%)"


def test_tasks_table_fits_80_columns(kolkata: None) -> None:
    task = tasks_pb2.Task(
        name="a-task-with-a-rather-long-name",
        schedule="every 30m",
        timezone="America/Argentina/Buenos_Aires",
        enabled=True,
        next_run="2026-11-21T09:00:00+00:00",
        last_run="2026-11-21T08:30:00+00:00",
        last_status="running",
    )
    text = render_tasks.render_tasks([task], 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    # the name is whole: the zone and last run columns gave way
    assert lines[0].split() == ["NAME", "SCHEDULE", "ON", "NEXT", "RUN", "STATUS"]
    assert lines[1].startswith("a-task-with-a-rather-long-name  every 30m")
    wide = render_tasks.render_tasks([task], 140).splitlines()
    # next run in the task's own zone, last run in local time
    assert "2026-11-21 06:00 -03" in wide[1] and "2026-11-21 14:00:00" in wide[1]
    assert "America/Argentina/Buenos_Aires" in wide[1]


def test_tasks_table_drops_the_zone_column_when_every_task_is_local() -> None:
    task = tasks_pb2.Task(name="daily-digest", schedule="0 9 * * *", enabled=False)
    text = render_tasks.render_tasks([task], 80)
    assert text.splitlines() == [
        "NAME          SCHEDULE   ON  NEXT RUN  LAST RUN  STATUS",
        "daily-digest  0 9 * * *  no  -         -         -",
    ]


def test_history_reads_as_a_conversation() -> None:
    def row(seq: int, kind: str, content: dict[str, Any]) -> common_pb2.Row:
        data = {"timestamp": "", "message_type": kind, "source": "cli", "content": content}
        return common_pb2.Row(stream="messages", seq=seq, json=json.dumps(data))

    rows = [
        row(1, "user_input", {"text": "what is here?"}),
        row(2, "tool_call", {"call_id": "c", "name": "list_dir", "arguments": {"path": "."}}),
        row(3, "tool_result", {"call_id": "c", "name": "list_dir", "status": "ok", "text": "a\nb"}),
        row(4, "agent_response", {"text": "Two files:\n- a\n- b"}),
        row(5, "error", {"code": "budget_exceeded", "text": "over budget"}),
    ]
    assert output.render_history(rows, 80).splitlines() == [
        "-  you (cli)",
        "  what is here?",
        '  → list_dir {"path": "."}',
        "  ← ok: a b",
        "",
        "-  agent",
        "  Two files:",
        "  - a",
        "  - b",
        "  ! budget_exceeded: over budget",
    ]


def test_tool_notes() -> None:
    assert output.tool_call_note("list_dir", '{"path":"."}') == '→ list_dir {"path": "."}'
    assert output.tool_result_note("ok", 3.2, "a b") == "← ok 3 ms"
    assert output.tool_result_note("error", 10, "boom") == "← error 10 ms: boom"


# -- chat turns ------------------------------------------------------------------------


class FakeStream:
    def __init__(self, events: list[chat_pb2.TurnEvent]) -> None:
        self._events = iter(events)
        self.cancelled = False

    def __iter__(self) -> FakeStream:
        return self

    def __next__(self) -> chat_pb2.TurnEvent:
        return next(self._events)

    def cancel(self) -> None:
        self.cancelled = True


class FakeChatClient:
    def __init__(self, events: list[chat_pb2.TurnEvent]) -> None:
        self.events = events
        self.sent: list[tuple[str, str, bool]] = []
        self.approvals: list[tuple[str, bool]] = []
        self.for_session: list[bool] = []

    def send(
        self, text: str, *, session_id: str = "", interactive: bool = False, model: str = ""
    ) -> FakeStream:
        self.sent.append((text, session_id, interactive))
        return FakeStream(self.events)

    def approve(self, request_id: str, approved: bool, for_session: bool = False) -> None:
        self.approvals.append((request_id, approved))
        self.for_session.append(for_session)

    def cancel(self, turn_id: str) -> None:
        raise AssertionError("not cancelled in these tests")


def ev(**kwargs: Any) -> chat_pb2.TurnEvent:
    return chat_pb2.TurnEvent(turn_id="t-1", session_id="s-9", **kwargs)


TURN = [
    ev(accepted=chat_pb2.Accepted(seq=1)),
    ev(delta=chat_pb2.Delta(text="Hel")),
    ev(delta=chat_pb2.Delta(text="lo")),
    ev(
        tool_call=chat_pb2.ToolCallStarted(call_id="c", name="shell", arguments_json='{"cmd":"ls"}')
    ),
    ev(
        approval_request=chat_pb2.ApprovalRequest(
            request_id="r1", tool="shell", arguments_json="{}"
        )
    ),
    ev(tool_result=chat_pb2.ToolResult(call_id="c", name="shell", status="ok", duration_ms=3)),
    ev(final=chat_pb2.Final(text="Hello", usage=common_pb2.Usage(llm_calls=1, cost_usd=0.01))),
]


def run_turn(
    events: list[chat_pb2.TurnEvent], session: str = "", **flags: bool
) -> tuple[chat.Turn, FakeChatClient]:
    client = FakeChatClient(events)
    options = {"json_mode": False, "interactive": False, "auto_yes": False, "drain": False} | flags
    runner = chat.TurnRunner(client, output.Output(), **options)  # type: ignore[arg-type]
    return runner.run("hi", session), client


def test_turn_streams_text_to_stdout_and_notes_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    turn, client = run_turn(TURN, auto_yes=True)
    captured = capsys.readouterr()
    assert captured.out == "Hello\n"
    assert (
        'session: s-9\n→ shell {"cmd": "ls"}\napproved shell (--yes)\n← ok 3 ms\n' in captured.err
    )
    assert (turn.session_id, turn.turn_id, turn.error) == ("s-9", "t-1", None)
    assert client.sent == [("hi", "", True)]
    assert client.approvals == [("r1", True)]


def test_turn_in_a_known_session_does_not_announce_it(capsys: pytest.CaptureFixture[str]) -> None:
    run_turn(TURN, session="s-9")
    assert "session:" not in capsys.readouterr().err


def test_without_a_terminal_approvals_are_denied(capsys: pytest.CaptureFixture[str]) -> None:
    _, client = run_turn(TURN)
    assert client.sent == [("hi", "", False)]
    assert client.approvals == [("r1", False)]


SHELL_ASK = [
    ev(
        approval_request=chat_pb2.ApprovalRequest(
            request_id="r2",
            tool="shell",
            arguments_json='{"command": "touch X"}',
            detail="$ touch X\nin /ws\n\nasked because:\n- touch X: matches no allow pattern",
        )
    ),
    ev(final=chat_pb2.Final(text="done")),
]


@pytest.mark.parametrize(
    ("answer", "approved", "for_session"),
    [("y\n", True, False), ("s\n", True, True), ("\n", False, False), ("", False, False)],
)
def test_a_person_answers_once_for_the_session_or_no(
    answer: str,
    approved: bool,
    for_session: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    _, client = run_turn(SHELL_ASK, interactive=True)
    err = capsys.readouterr().err
    assert "$ touch X" in err and "matches no allow pattern" in err
    assert "[y/s/N]" in err
    assert client.approvals == [("r2", approved)]
    assert client.for_session == [for_session]


def test_final_text_is_printed_when_nothing_streamed(capsys: pytest.CaptureFixture[str]) -> None:
    run_turn([ev(final=chat_pb2.Final(text="All at once"))])
    assert capsys.readouterr().out == "All at once\n"


def test_turn_error_is_kept_for_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    turn, _ = run_turn(
        [
            ev(delta=chat_pb2.Delta(text="par")),
            ev(error=chat_pb2.TurnError(code="max_iterations", message="gave up")),
        ]
    )
    assert capsys.readouterr().out == "par\n"
    assert turn.error is not None
    assert turn.error.message == "max_iterations: gave up"
    assert turn.error.exit_code == EXIT_ERROR


def test_json_mode_prints_one_event_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    run_turn(TURN, json_mode=True, auto_yes=True)
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == len(TURN)
    assert events[0] == {
        "turn_id": "t-1",
        "session_id": "s-9",
        "accepted": {"seq": 1, "queued_behind": 0},
    }
    assert events[1]["delta"] == {"text": "Hel"}
    assert events[-1]["final"]["text"] == "Hello"


# -- systemd unit ----------------------------------------------------------------------


def test_builtin_template_matches_the_repository_file() -> None:
    assert (REPO / "systemd" / "pulsed.service").read_text() == service.FALLBACK_TEMPLATE


def test_unit_rendering() -> None:
    unit = service.render_unit(
        service.FALLBACK_TEMPLATE,
        ["/opt/pulse venv/bin/pulsed"],
        {"PULSE_SOCKET": "/run/p.sock", "PULSE_DATA_DIR": "/data/100%"},
    )
    assert "@" not in unit
    assert 'ExecStart="/opt/pulse venv/bin/pulsed"\n' in unit
    assert 'Environment="PULSE_SOCKET=/run/p.sock"\n' in unit
    assert 'Environment="PULSE_DATA_DIR=/data/100%%"\n' in unit
    for line in (
        "Type=simple",
        "Restart=on-failure",
        "RestartSec=2",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=30",
        "WantedBy=default.target",
    ):
        assert f"\n{line}\n" in unit


def test_unit_without_environment_has_no_environment_lines() -> None:
    unit = service.render_unit(service.FALLBACK_TEMPLATE, ["/usr/bin/pulsed"], {})
    assert "\nEnvironment=" not in unit
    assert "ExecStart=/usr/bin/pulsed\n" in unit


def test_exec_command_prefers_the_pulsed_script(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.touch()
    assert service.exec_command(str(python)) == [str(python), "-m", "pulsed"]
    script = tmp_path / "bin" / "pulsed"
    script.touch(mode=0o755)
    assert service.exec_command(str(python)) == [str(script)]


def test_environment_keeps_only_pulse_paths_made_absolute(tmp_path: Path) -> None:
    env = {
        "PULSE_CONFIG": "rel/config.toml",
        "PULSE_SOCKET": "/s.sock",
        "HOME": "/h",
        "PULSE_X": "1",
    }
    got = service.environment(env)
    assert got == {"PULSE_CONFIG": os.path.abspath("rel/config.toml"), "PULSE_SOCKET": "/s.sock"}


def test_unit_path_follows_xdg_config_home() -> None:
    assert service.unit_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/systemd/user/pulsed.service")
    assert service.unit_path({"HOME": "/home/u"}) == Path(
        "/home/u/.config/systemd/user/pulsed.service"
    )


def test_install_without_systemctl_writes_the_unit_and_says_how_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_systemctl_missing", lambda: True)
    plan = service.install_plan({"XDG_CONFIG_HOME": str(tmp_path)}, executable=sys.executable)
    notes: list[str] = []
    with pytest.raises(CliError) as info:
        service.install(plan, notes.append)
    assert plan.path.read_text() == plan.unit
    assert info.value.exit_code == EXIT_ERROR
    assert "systemctl not found" in info.value.message and str(plan.path) in info.value.message
    assert "start the daemon by hand" in info.value.hint
    assert plan.commands[-1] == ["systemctl", "--user", "enable", "--now", "pulsed.service"]


def test_dry_run_prints_the_unit_and_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("PULSE_SOCKET", str(tmp_path / "none.sock"))
    assert cli.main(["service", "install", "--dry-run"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith(f"# {tmp_path}/systemd/user/pulsed.service\n")
    assert "ExecStart=" in out and "systemctl --user enable --now pulsed.service" in out
    assert not (tmp_path / "systemd").exists()


# -- boundaries ------------------------------------------------------------------------


def test_pulsectl_never_imports_the_daemon_or_textual() -> None:
    code = (
        "import sys, pulsectl.cli, pulsectl.client, pulsectl.output, pulsectl.service\n"
        "bad = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'pulsed', 'textual', 'anthropic', 'openai'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_the_cli_module_does_not_import_grpc_until_a_command_needs_it() -> None:
    code = "import sys, pulsectl.cli; print('grpc' in sys.modules, 'rich' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"


def test_the_unit_reads_keys_from_the_env_file() -> None:
    from pulsectl import service as systemd

    plan = systemd.install_plan(environ={"HOME": "/home/x"}, executable="/usr/bin/pulsed")
    assert "EnvironmentFile=-%h/.config/pulse/env" in plan.unit


def test_service_logs_without_journalctl_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil as _shutil

    from pulsectl.cli import main

    monkeypatch.setattr(_shutil, "which", lambda name: None)
    assert main(["service", "logs"]) == 1


def test_every_command_names_a_function_its_module_has() -> None:
    """Command modules are imported only when their command runs (argtree.Lazy), so a
    misspelt function name would only fail when someone runs that command."""
    import importlib

    def funcs(parser: argparse.ArgumentParser) -> Iterator[tuple[str, Any]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    if sub.get_default("func") is not None:
                        yield sub.prog, sub.get_default("func")
                    yield from funcs(sub)

    leaves = list(funcs(argspec.build_parser()))
    assert len(leaves) == len(list(_leaf_commands(argspec.build_parser())))
    for prog, func in leaves:
        module = importlib.import_module(func.__module__)
        assert callable(getattr(module, func.__name__, None)), prog


def _subparser(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def _defaults(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """``parser``'s defaults (set_defaults and each argument's), functions by their names
    (``Lazy`` makes a new function at each look-up)."""
    got = {**{a.dest: a.default for a in parser._actions}, **parser._defaults}
    return {k: (v.__module__, v.__qualname__) if callable(v) else v for k, v in got.items()}


def test_a_command_built_alone_is_the_command_of_the_whole_tree() -> None:
    """pulsectl builds only the subtree of the command it runs (``build_parser(command)``):
    every leaf's help and parsed defaults are the same as in the whole tree, and the
    table of which function adds which command names matches what each one adds."""
    full = argspec.build_parser()
    top = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    tabled = [n for names, _ in argspec._adders() for n in names]
    assert tabled == list(top.choices)  # every command, in --help's order
    for names, _ in argspec._adders():
        alone = argspec.build_parser(names[0])
        alone_top = next(a for a in alone._actions if isinstance(a, argparse._SubParsersAction))
        assert list(alone_top.choices) == list(names)
        for leaf in (lf for lf in _leaf_commands(full) if lf[0] in names):
            want, got = _subparser(full, leaf), _subparser(alone, leaf)
            assert got.format_help() == want.format_help(), leaf
            assert _defaults(got) == _defaults(want), leaf
    assert len(list(_leaf_commands(argspec.build_parser("no-such-command")))) == len(
        list(_leaf_commands(full))
    )


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], None),
        (["chat", "hello"], "chat"),
        (["--json", "--no-start", "tasks", "list"], "tasks"),
        (["--socket", "/tmp/chat", "status"], "status"),  # --socket's value is no command
        (["--socket=/tmp/x", "costs"], "costs"),
        (["--help", "chat"], None),
        (["-h"], None),
        (["--version"], None),
        (["--", "chat"], None),
        (["--socket"], None),
    ],
)
def test_command_of(argv: list[str], command: str | None) -> None:
    assert argspec.command_of(argv) == command


def test_top_help_lists_every_command_and_an_unknown_one_is_refused_with_all(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["--help"]) == EXIT_OK
    listed = capsys.readouterr().out
    assert all(f"    {n}" in listed for names, _ in argspec._adders() for n in names)
    assert cli.main(["chta"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "invalid choice: 'chta'" in err and "'chat'" in err and "'tasks'" in err
