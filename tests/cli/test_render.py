"""Tables that never cut identifiers, task times with seconds for sub-minute
schedules, and stored rows as a table under their column names (pure rendering)."""

from __future__ import annotations

import pytest
from pulse.v1 import chat_pb2, streams_pb2, tasks_pb2

from pulsectl import output, render_streams, render_tasks

NAME40 = "a-forty-character-task-name-never-cut-xx"
assert len(NAME40) == 40


def test_kept_columns_are_never_cut_and_others_give_way() -> None:
    rows = [[NAME40, "x" * 50, "y" * 30]]
    text = output.table(["name", "text", "more"], rows, width=50, keep={0}, drop=[2])
    lines = text.splitlines()
    assert lines[1].startswith(NAME40 + "  ") and all(len(line) <= 50 for line in lines)
    assert lines[0].split() == ["NAME", "TEXT"]  # "more" was left out
    assert lines[1].endswith("…")
    # nothing left to drop: the line is longer than the width, the name still whole
    tight = output.table(["name", "n"], [[NAME40, "1"]], width=20, keep={0})
    assert tight.splitlines()[1].startswith(NAME40)


def test_headers_are_never_cut() -> None:
    text = output.table(["id", "content"], [["a", "z" * 80]], width=20, keep={0})
    assert text.splitlines()[0].split() == ["ID", "CONTENT"]


def _task(name: str, **kw: object) -> tasks_pb2.Task:
    fields: dict[str, object] = {
        "schedule": "0 7 * * *",
        "enabled": True,
        "next_run": "2026-12-04T07:00:00+00:00",
        "last_run": "2026-12-03T07:00:00+00:00",
        "last_status": "ok",
    }
    fields.update(kw)
    return tasks_pb2.Task(name=name, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [80, 60])
def test_task_names_are_never_cut(width: int) -> None:
    tasks = [_task(NAME40), _task("short", timezone="Europe/Paris", schedule="every 30m")]
    lines = render_tasks.render_tasks(tasks, width).splitlines()
    assert lines[1].split()[0] == NAME40 and lines[2].split()[0] == "short"
    assert lines[1].index("0 7 * * *") == lines[2].index("every 30m") == lines[0].index("SCH")
    assert "…" not in "\n".join(lines)
    if width == 80:
        assert all(len(line) <= 80 for line in lines)


def test_task_table_columns_give_way_in_order() -> None:
    tasks = [_task(NAME40, timezone="Asia/Tokyo")]
    widths = (140, 110, 90, 70)
    heads = {w: render_tasks.render_tasks(tasks, w).splitlines()[0].split() for w in widths}
    assert heads[140] == ["NAME", "SCHEDULE", "TZ", "ON", "NEXT", "RUN", "LAST", "RUN", "STATUS"]
    assert heads[110] == ["NAME", "SCHEDULE", "ON", "NEXT", "RUN", "LAST", "RUN", "STATUS"]
    assert heads[90] == ["NAME", "SCHEDULE", "ON", "NEXT", "RUN", "STATUS"]
    assert heads[70] == ["NAME", "SCHEDULE", "ON", "NEXT", "RUN"]


def test_session_ids_are_never_cut() -> None:
    sid = "tg:chat-1234567890-with-a-long-thread-id"
    sessions = [
        chat_pb2.Session(session_id=sid, message_count=12, title="t" * 40, model="m" * 20),
        chat_pb2.Session(session_id="s-1", message_count=3, title="hello"),
    ]
    for width in (80, 60):
        lines = output.render_sessions(sessions, width).splitlines()
        assert lines[1].startswith(sid + "  "), lines


def test_stream_names_are_never_cut() -> None:
    streams = [streams_pb2.StreamInfo(name="a_rather_long_stream_name", description="d" * 90)]
    lines = render_streams.render_streams(streams, 40).splitlines()
    assert lines[1].startswith("a_rather_long_stream_name  ")


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ("every 20s", True),
        ("every 90s", True),
        ("in 1m30s", True),
        ("every 1h30m", False),
        ("every 120s", False),
        ("0 9 * * *", False),
        ("at 2026-12-01T09:00", False),
        ("on ingest", False),
    ],
)
def test_sub_minute_schedules(schedule: str, seconds: bool) -> None:
    assert render_tasks.sub_minute(schedule) is seconds


def test_every_20s_shows_seconds_even_on_the_minute() -> None:
    on_the_minute = "2026-12-03T12:03:00+00:00"
    fast = _task("fast", schedule="every 20s", next_run=on_the_minute, timezone="UTC")
    daily = _task("daily", schedule="3 12 * * *", next_run=on_the_minute, timezone="UTC")
    table = render_tasks.render_tasks([fast, daily], 120)
    assert "2026-12-03 12:03:00 UTC" in table and "2026-12-03 12:03 UTC" in table
    assert "next run    2026-12-03 12:03:00 UTC" in render_tasks.render_task(fast)
    preview = render_tasks.render_preview(
        "every 20s", "UTC", ["2026-12-03T12:02:40+00:00", on_the_minute]
    )
    assert preview.splitlines() == ["2026-12-03 12:02:40 UTC", "2026-12-03 12:03:00 UTC"]
    assert render_tasks.render_preview("3 12 * * *", "UTC", [on_the_minute]) == (
        "2026-12-03 12:03 UTC"
    )


def _message(seq: int, session: str, text: str, kind: str = "user_input") -> dict[str, object]:
    return {
        "seq": seq,
        "id": f"m{seq}",
        "timestamp": "2026-11-21T09:00:00+00:00",
        "source": "cli",
        "target": "agent",
        "session_id": session,
        "message_type": kind,
        "content": {"text": text},
        "reply_to": "",
    }


def test_stored_rows_are_a_table_under_their_column_names() -> None:
    rows = [
        _message(12, "session-with-a-rather-long-identifier-42", "hello " * 20),
        _message(3, "s-1", "hi", "agent_response"),
    ]
    lines = render_streams.render_rows("messages", rows, 60).splitlines()
    assert lines[0].split() == [
        "SEQ",
        "TIMESTAMP",
        "MESSAGE_TYPE",
        "SESSION_ID",
        "SOURCE",
        "TARGET",
        "CONTENT",
    ]
    col = lines[0].index("SESSION_ID")
    assert lines[1][col:].startswith("session-with-a-rather-long-identifier-42  cli")
    assert lines[2][col:].startswith("s-1 ") and lines[2].startswith("  3  ")  # seq right
    assert lines[1].endswith("…")


def test_empty_columns_are_left_out_and_unknown_streams_show_their_columns() -> None:
    row = {"seq": 1, "timestamp": "", "tool": "shell", "status": "ok", "duration_ms": 3.0}
    head = render_streams.render_rows("tool_logs", [row], 100).splitlines()[0].split()
    assert head == ["SEQ", "TIMESTAMP", "TOOL", "STATUS", "DURATION_MS"]
    other = render_streams.render_rows("custom", [{"seq": 1, "a": 1, "b": {"x": 2}}], 80)
    assert other.splitlines()[0].split() == ["SEQ", "TIMESTAMP", "A", "B"]
    assert other.splitlines()[1].endswith('1  {"x": 2}')
