"""The friction a new user hit with pulsectl (issue 15), on one real daemon: ``tasks
edit`` shows the new next run, task names are never cut, sub-minute schedules show
seconds, an invalid cron names its field, ``streams query`` prints a table, and every
example in the streams commands' ``--help`` runs."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime

import pytest
from pulse.v1 import tasks_pb2

from pulsectl import args as argspec
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon, fake_llm_config, running

LONG_NAME = "a-forty-character-task-name-never-cut-xx"
LONG_SESSION = "session-with-a-rather-long-identifier-42"


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    """One daemon for the module (the tests add tasks of their own names)."""
    with FakeLLM() as llm, running(Daemon(fake_llm_config(llm.url))) as daemon:
        llm.script("Hello from the fake.")
        out = daemon.pulsectl("chat", "hi there", "-s", LONG_SESSION)
        assert out.returncode == 0, out.stderr
        yield daemon


def ctl(d: Daemon, *argv: str, columns: int = 0) -> subprocess.CompletedProcess[str]:
    if columns:
        d.extra_env["COLUMNS"] = str(columns)
    try:
        return d.pulsectl(*argv)
    finally:
        d.extra_env.pop("COLUMNS", None)


def field(text: str, key: str) -> str:
    """The value of ``key`` in ``render_task`` output."""
    for line in text.splitlines():
        if line.startswith(key + "  "):
            return line[len(key) :].strip()
    raise AssertionError(f"{key} not in {text!r}")


# -- tasks edit ------------------------------------------------------------------------


def test_edit_prints_the_next_run_of_the_new_schedule(d: Daemon) -> None:
    out = ctl(d, "tasks", "add", "edited", "--schedule", "0 9 * * *", "--prompt", "p")
    assert out.returncode == 0, out.stderr
    assert field(out.stdout, "next run").endswith("09:00")
    out = ctl(d, "tasks", "edit", "edited", "--schedule", "30 17 * * *")
    assert out.returncode == 0, out.stderr
    assert field(out.stdout, "schedule") == "30 17 * * *"
    assert field(out.stdout, "next run").endswith("17:30")
    # An edit's answer used to race the scheduler reloading the task (about one in
    # three showed the previous schedule's time): each answer matches its own edit.
    stub = d.tasks()
    wanted = {"15 3 * * *": (3, 15), "45 22 * * *": (22, 45), "0 9 * * *": (9, 0)}
    for i in range(24):
        spec = list(wanted)[i % 3]
        task = stub.Update(tasks_pb2.UpdateTaskRequest(name="edited", schedule=spec))
        nxt = datetime.fromisoformat(task.next_run)
        assert (nxt.hour, nxt.minute) == wanted[spec], (i, spec, task.next_run)


# -- task names and times --------------------------------------------------------------


def test_task_names_are_never_cut_at_80_or_60_columns(d: Daemon) -> None:
    out = ctl(d, "tasks", "add", LONG_NAME, "--schedule", "0 7 * * *", "--prompt", "p")
    assert out.returncode == 0, out.stderr
    for columns in (80, 60):
        listing = ctl(d, "tasks", "list", columns=columns)
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        row = next(line for line in lines if line.startswith(LONG_NAME))
        assert row.split()[0] == LONG_NAME, (columns, listing.stdout)
        assert lines[0].startswith("NAME" + " " * (len(LONG_NAME) - 2))  # aligned header
        assert "…" not in row.split("  ")[0]
    listing = ctl(d, "tasks", "list", columns=80)
    assert all(len(line) <= 80 for line in listing.stdout.splitlines()), listing.stdout


def test_sub_minute_schedules_show_seconds(d: Daemon) -> None:
    out = ctl(d, "tasks", "add", "fast", "--schedule", "every 20s", "--prompt", "p")
    assert out.returncode == 0, out.stderr
    assert len(field(out.stdout, "next run")) == len("2026-12-03 12:00:20")
    shown = ctl(d, "tasks", "show", "fast")
    assert shown.returncode == 0, shown.stderr
    assert len(field(shown.stdout, "next run")) == len("2026-12-03 12:00:20")
    listing = ctl(d, "tasks", "list", columns=120)
    row = next(line for line in listing.stdout.splitlines() if line.startswith("fast "))
    assert row.split()[5].count(":") == 2, row  # HH:MM:SS
    preview = ctl(d, "tasks", "preview", "every 20s", "--count", "4")
    assert preview.returncode == 0, preview.stderr
    times = preview.stdout.splitlines()
    assert len(times) == 4 and all(t.count(":") == 2 for t in times), times
    cron = ctl(d, "tasks", "preview", "0 9 * * *", "--tz", "Asia/Tokyo", "--count", "2")
    assert cron.stdout.splitlines()[0].endswith("09:00 JST"), cron.stdout


def test_show_and_preview_errors(d: Daemon) -> None:
    missing = ctl(d, "tasks", "show", "nosuch")
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    bad = ctl(d, "tasks", "preview", "61 * * * *")
    assert bad.returncode == 1
    assert "minute 61 out of range 0–59" in bad.stderr


# -- invalid cron ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("61 * * * *", "minute 61 out of range 0–59"),
        ("0 9 * FOO *", "month: unknown name FOO (use 1–12 or JAN–DEC)"),
        ("*/0 * * * *", 'minute: step 0 in "*/0" must be a whole number of at least 1'),
    ],
)
def test_an_invalid_cron_names_its_field(d: Daemon, spec: str, why: str) -> None:
    out = ctl(d, "tasks", "add", "badcron", "--schedule", spec, "--prompt", "p")
    assert out.returncode == 1 and out.stdout == ""
    assert "INVALID_ARGUMENT" in out.stderr and why in out.stderr, out.stderr


# -- streams query ---------------------------------------------------------------------


def test_streams_query_prints_a_table_under_the_column_names(d: Daemon) -> None:
    out = ctl(d, "streams", "query", "messages", columns=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "TIMESTAMP", "MESSAGE_TYPE", "SESSION_ID"] + [
        "SOURCE",
        "TARGET",
        "CONTENT",
    ]
    start = lines[0].index("SESSION_ID")
    for line in lines[1:]:
        assert line[start:].startswith(LONG_SESSION + " "), line  # aligned, never cut
    # the header names are what --where takes
    where = ctl(
        d, "streams", "query", "messages", "--where", "message_type=agent_response", columns=200
    )
    assert where.returncode == 0, where.stderr
    assert len(where.stdout.splitlines()) == 2 and "Hello from the fake." in where.stdout
    raw = ctl(d, "streams", "query", "messages", "--json")
    rows = json.loads(raw.stdout)
    assert {r["session_id"] for r in rows} == {LONG_SESSION} and "seq" in rows[0]


# -- --help examples -------------------------------------------------------------------


def _examples(*command: str) -> list[str]:
    parser = argspec.build_parser()
    for name in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    epilog = parser.epilog or ""
    return [line.strip() for line in epilog.splitlines()[1:] if line.strip()]


STREAMS_COMMANDS = [("streams",), ("streams", "list"), ("streams", "tail"), ("streams", "query")]


def test_every_example_of_the_streams_commands_parses() -> None:
    seen = 0
    for command in STREAMS_COMMANDS:
        for example in _examples(*command):
            first, *_ = example.split(" | ")
            argv = shlex.split(first)
            assert argv[:1] == ["pulsectl"], example
            args = argspec.build_parser().parse_args(argv[1:])
            assert args.func.__module__ == "pulsectl.commands.streams", example
            assert getattr(args, "stream", "messages") in argspec.STREAMS, example
            seen += 1
    assert seen >= 5


def test_every_example_of_streams_list_and_query_runs(d: Daemon) -> None:
    for command in STREAMS_COMMANDS:
        for example in _examples(*command):
            first, _, pipe = example.partition(" | ")
            argv = shlex.split(first)[1:]
            if argv[:2] == ["streams", "tail"]:
                continue  # a tail runs until Ctrl+C: its arguments are parsed above
            out = d.pulsectl(*argv)
            assert out.returncode == 0, (example, out.stderr)
            if pipe and shutil.which(shlex.split(pipe)[0]):
                piped = subprocess.run(
                    shlex.split(pipe), input=out.stdout, capture_output=True, text=True
                )
                assert piped.returncode == 0, (example, piped.stderr)
