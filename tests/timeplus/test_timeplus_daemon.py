"""The real daemon and pulsectl with the Timeplus backend, against a loopback Timeplus
(tests/fakes/timeplus.py) and the loopback LLM: status, chat context, outages, SQL, copy."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from pulsed.store import schema
from tests.fakes.llm import FakeLLM
from tests.fakes.timeplus import FakeTimeplus, Live, Request
from tests.harness import ROOT, Daemon, fake_llm_config, running

WAIT = 15.0


def timeplus_config(tp: FakeTimeplus, backend: str = "timeplus") -> str:
    return f"""
[store]
backend = "{backend}"
[store.timeplus]
host = "127.0.0.1"
batch_port = {tp.batch_port}
stream_port = {tp.stream_port}
"""


@pytest.fixture
def tp() -> Iterator[FakeTimeplus]:
    with FakeTimeplus() as fake:
        yield fake


@pytest.fixture
def tp_daemon(tp: FakeTimeplus, fake_llm: FakeLLM) -> Iterator[Daemon]:
    """pulsed with [store] backend = "timeplus" on the fake Timeplus."""
    d = Daemon(fake_llm_config(fake_llm.url, extra=timeplus_config(tp)))
    with running(d):
        yield d


def poll(predicate, what: str, timeout: float = WAIT):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_timeplus_daemon_status_and_store_status(tp_daemon: Daemon, tp: FakeTimeplus) -> None:
    out = tp_daemon.pulsectl("status", "--json")
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st["store_backend"] == "timeplus" and st["store_health"] == "ok"
    assert tp.queries("CREATE STREAM IF NOT EXISTS `default`.`messages`")
    out = tp_daemon.pulsectl("store", "status", "--json")
    assert out.returncode == 0, out.stderr
    store = json.loads(out.stdout)
    assert store["backend"] == "timeplus" and store["health"] == "ok"
    assert store["location"] == f"http://127.0.0.1:{tp.batch_port}, database default"
    names = [s["name"] for s in store["streams"]]
    assert names == list(schema.STREAMS)
    events = next(s for s in store["streams"] if s["name"] == "events")
    assert int(events["rows"]) >= 1  # daemon_started, read back before table() shows it
    plain = tp_daemon.pulsectl("store", "status")
    assert plain.returncode == 0 and "spooled rows" in plain.stdout


def test_timeplus_daemon_keeps_the_conversation_in_context(
    tp_daemon: Daemon, fake_llm: FakeLLM, tp: FakeTimeplus
) -> None:
    """The fake Timeplus never returns stored rows (as table() right after an insert):
    the second turn still sees the first exchange."""
    fake_llm.script("Nice to meet you, Ada.", "Your name is Ada.")
    first = tp_daemon.pulsectl("chat", "My name is Ada.", "-s", "tp-ctx")
    assert first.returncode == 0, first.stderr
    second = tp_daemon.pulsectl("chat", "What is my name?", "-s", "tp-ctx")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "Your name is Ada."
    sent = json.dumps(fake_llm.requests[-1].body)
    assert "My name is Ada." in sent and "Nice to meet you, Ada." in sent
    stored = poll(lambda: len(tp.rows("messages")) >= 4 and tp.rows("messages"), "4 messages")
    assert [r["message_type"] for r in stored] == [
        "user_input",
        "agent_response",
        "user_input",
        "agent_response",
    ]


def test_timeplus_daemon_rides_out_an_outage(
    tp_daemon: Daemon, fake_llm: FakeLLM, tp: FakeTimeplus
) -> None:
    fake_llm.script("hello", "still here")
    # The first call of the day reads today's spend from Timeplus (the budget check).
    assert tp_daemon.pulsectl("chat", "hi", "-s", "tp-out").returncode == 0
    tp.stop()
    out = tp_daemon.pulsectl("chat", "are you there?", "-s", "tp-out")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "still here"
    status = tp_daemon.pulsectl("status", "--json")
    st = json.loads(status.stdout)
    assert st["store_health"].startswith("timeplus unreachable at http://127.0.0.1:")
    assert "rows spooled)" in st["store_health"]
    plain = tp_daemon.pulsectl("status")
    assert "warning: store: timeplus unreachable" in plain.stderr
    # The daemon answers UNAVAILABLE for what needs Timeplus: an error (1), not "no daemon" (3).
    counted = tp_daemon.pulsectl("streams", "list")
    assert counted.returncode == 1, counted.stderr
    assert "UNAVAILABLE" in counted.stderr and "is pulsed running" not in counted.stderr
    tp.start()
    stored = poll(lambda: len(tp.rows("messages")) >= 4 and tp.rows("messages"), "the flush")
    assert [r["content"] for r in stored if r["message_type"] == "user_input"] == [
        json.dumps({"text": t}, separators=(",", ":")) for t in ("hi", "are you there?")
    ]
    # The turn during the outage still had the earlier exchange in its context.
    assert "hello" in json.dumps(fake_llm.requests[-1].body)
    poll(
        lambda: json.loads(tp_daemon.pulsectl("status", "--json").stdout)["store_health"] == "ok",
        "health ok",
    )


def test_timeplus_sql_streams_rows_and_ctrl_c_cancels_the_query(
    tp_daemon: Daemon, tp: FakeTimeplus
) -> None:
    lives: list[Live] = []

    def handler(req: Request) -> Live | None:
        if req.port == "stream" and "FROM messages" in req.sql:
            lives.append(Live())
            return lives[-1]
        return None

    tp.handler = handler
    proc = subprocess.Popen(
        [sys.executable, "-m", "pulsectl", "--no-start", "sql", "SELECT id, seq FROM messages"],
        env=tp_daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        live = poll(lambda: lives and lives[0].started.is_set() and lives[0], "the query")
        assert live.request is not None and live.request.args.get("readonly") == "2"
        live.items.put(["id", "seq"])
        live.items.put(["string", "int64"])
        live.items.put(["m-1", "17"])
        assert proc.stdout is not None
        assert proc.stdout.readline() == "id  seq\n"
        assert proc.stdout.readline() == "m-1  17\n"  # printed while the query runs
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
        assert "cancelled after 1 rows" in err
        assert live.cancelled.wait(WAIT)
        tp.wait_request(lambda r: r.sql.startswith("KILL QUERY"))
    finally:
        if proc.poll() is None:
            proc.kill()


def test_timeplus_sql_refuses_writes(tp_daemon: Daemon) -> None:
    out = tp_daemon.pulsectl("sql", "DROP STREAM messages")
    assert out.returncode == 1
    assert "INVALID_ARGUMENT" in out.stderr and "read-only" in out.stderr


def test_timeplus_sql_needs_the_timeplus_backend(daemon: Daemon) -> None:
    out = daemon.pulsectl("sql", "SELECT 1")
    assert out.returncode == 1
    assert "FAILED_PRECONDITION" in out.stderr and "Timeplus backend only" in out.stderr


def test_timeplus_init_and_copy_from_the_local_backend(tp: FakeTimeplus, fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url, extra=timeplus_config(tp, backend="local")))
    try:
        d.start()
        fake_llm.script("one", "two")
        for text in ("first", "second"):
            assert d.pulsectl("chat", text, "-s", "cp").returncode == 0
        init = d.pulsectl("store", "init")
        assert init.returncode == 0, init.stderr
        assert "ready in Timeplus at http://127.0.0.1:" in init.stdout
        out = d.pulsectl("store", "copy", "--from", "local", "--to", "timeplus", "--json")
        assert out.returncode == 0, out.stderr
        totals = json.loads(out.stdout)
        assert totals["messages"] == {"total": 4, "copied": 4, "skipped": 0}
        assert "messages: 4 copied, 0 already there" in out.stderr
        assert [r["session_id"] for r in tp.rows("messages")] == ["cp"] * 4
        again = d.pulsectl("store", "copy", "--stream", "messages", "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout) == {"messages": {"total": 4, "copied": 0, "skipped": 4}}
        assert len(tp.rows("messages")) == 4
        status = json.loads(d.pulsectl("store", "status", "--json").stdout)
        assert status["backend"] == "local" and status["location"].endswith("pulse.db")
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()
