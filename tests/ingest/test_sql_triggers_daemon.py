"""SQL triggers (``tasks add --sql``) on the real daemon with the Timeplus backend, against
the loopback Timeplus (tests/fakes/timeplus.py, its row engine streaming inserted rows
with ``_tp_sn``) and the loopback LLM: a row fires one run carrying it, not again after
kill -9 or a dropped connection; bad SQL is refused at add or puts the task in an error
state; the local backend refuses ``--sql``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from pulse.v1 import tasks_pb2

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM
from tests.fakes.timeplus import Fail, FakeTimeplus, Live, Reply, Request
from tests.harness import Daemon, fake_llm_config, running
from tests.ingest.test_triggers_daemon import answered, ctl_json, ingest, runs_of
from tests.timeplus.test_timeplus_daemon import timeplus_config

SENSORS = "SELECT source, payload FROM ingest WHERE source = 'sensor'"


COUNTS = "SELECT count() AS n FROM ingest EMIT PERIODIC 1s"
LIVES: list[Live] = []
"""The streaming answers to ``COUNTS`` (the engine does not run aggregates), newest last."""


def answer(req: Request) -> Reply | None:
    """Timeplus' answers the engine does not give: an unknown stream fails EXPLAIN; a
    column named ``missing_at_run`` fails only when the query runs; ``COUNTS`` streams
    what the test pushes."""
    if req.sql.startswith("EXPLAIN") and "no_such_stream" in req.sql:
        return Fail(60, "Stream default.no_such_stream doesn't exist", "UNKNOWN_STREAM", 404)
    if req.port == "stream" and "missing_at_run" in req.sql:
        return Fail(47, "Missing columns: 'missing_at_run'", "UNKNOWN_IDENTIFIER", 404)
    if req.port == "stream" and req.sql.startswith(COUNTS):
        LIVES.append(Live())
        return LIVES[-1]
    return None


@pytest.fixture
def tp() -> Iterator[FakeTimeplus]:
    LIVES.clear()
    with FakeTimeplus(handler=answer, engine=True) as fake:
        yield fake


@pytest.fixture
def tp_daemon(tp: FakeTimeplus, fake_llm: FakeLLM) -> Iterator[Daemon]:
    d = Daemon(fake_llm_config(fake_llm.url, extra=timeplus_config(tp)))
    with running(d):
        yield d


def watching(tp: FakeTimeplus, after: int = 0, seek: bool = False) -> Request:
    """The trigger's streaming query, once it reached the fake (from request ``after``)."""
    return tp.wait_request(
        lambda r: (
            r.port == "stream"
            and "WHERE (source = 'sensor')" in r.sql
            and (not seek or "_tp_sn >" in r.sql)
        ),
        after=after,
    )


def carried(fake_llm: FakeLLM, i: int) -> str:
    """What the ``i``-th LLM call's newest user message says (the run's prompt)."""
    messages = fake_llm.requests[i].body["messages"]
    return str([m for m in messages if m["role"] == "user"][-1]["content"])


def add_sensors(d: Daemon) -> dict[str, Any]:
    return ctl_json(d, "tasks", "add", "hot", "--sql", SENSORS, "--prompt", "React to the reading")


def test_a_row_fires_one_run_and_not_again_after_kill9(
    tp: FakeTimeplus, tp_daemon: Daemon, fake_llm: FakeLLM
) -> None:
    task = add_sensors(tp_daemon)
    assert task["schedule"] == f"sql {SENSORS}" and task["trigger"]["sql"] == SENSORS
    assert task["trigger"].get("on", "") == ""
    watching(tp)
    ingest(tp_daemon, {"reading": "elsewhere-1"}, source="other")
    ingest(tp_daemon, {"reading": "hot-reading-42"}, source="sensor")
    wait_for(lambda: answered(tp_daemon, "hot"), what="the SQL trigger's run")
    [run] = runs_of(tp_daemon, "hot")
    assert run["content"]["stream"] == "sql" and run["content"]["rows"] == 1
    assert len(run["content"]["done"]) == 1 and run["content"]["query"]
    assert "hot-reading-42" in carried(fake_llm, 0) and "elsewhere-1" not in carried(fake_llm, 0)
    [listed] = ctl_json(tp_daemon, "tasks", "list")
    assert listed["schedule"].startswith("sql SELECT") and listed["last_fired"]
    plain = tp_daemon.pulsectl("tasks", "list")
    assert plain.returncode == 0 and "sql SELECT" in plain.stdout
    edited = tp_daemon.pulsectl("tasks", "edit", "hot", "--max-runs-per-hour", "100")
    assert edited.returncode == 0, edited.stderr
    assert ["sql", SENSORS] in [line.split(None, 1) for line in edited.stdout.splitlines()]

    before = len(tp.requests)
    tp_daemon.kill9()
    tp_daemon.start()
    resumed = watching(tp, before, seek=True)
    assert int(resumed.params["pulse_after_sn"]) >= 0  # re-reads the run's batch, dedupes it
    ingest(tp_daemon, {"reading": "hot-reading-43"}, source="sensor")
    wait_for(lambda: len(answered(tp_daemon, "hot")) == 2, what="the second row's run")
    assert len(runs_of(tp_daemon, "hot")) == 2
    assert "hot-reading-43" in carried(fake_llm, 1) and "hot-reading-42" not in carried(fake_llm, 1)


def test_a_dropped_connection_resumes_without_duplicates(
    tp: FakeTimeplus, tp_daemon: Daemon, fake_llm: FakeLLM
) -> None:
    add_sensors(tp_daemon)
    watching(tp)
    ingest(tp_daemon, {"reading": "first"}, source="sensor")
    wait_for(lambda: answered(tp_daemon, "hot"), what="the first run")
    before = len(tp.requests)
    tp.stop()
    tp.start()
    watching(tp, before, seek=True)
    ingest(tp_daemon, {"reading": "second"}, source="sensor")
    wait_for(lambda: len(answered(tp_daemon, "hot")) == 2, what="the second run")
    assert [r["content"]["rows"] for r in runs_of(tp_daemon, "hot")] == [1, 1]
    assert "first" not in carried(fake_llm, 1) and "second" in carried(fake_llm, 1)
    [event] = wait_for(
        lambda: rows(tp_daemon, "events", event_type="trigger_sql_reconnecting"),
        what="the reconnection event",
    )
    assert event["payload"]["task"] == "hot"

    # Switched off and on again, it fires on rows from then on (as stream triggers do).
    ctl_json(tp_daemon, "tasks", "disable", "hot")
    ingest(tp_daemon, {"reading": "while-off"}, source="sensor")
    before = len(tp.requests)
    ctl_json(tp_daemon, "tasks", "enable", "hot")
    fresh = watching(tp, before)
    assert "_tp_sn >" not in fresh.sql  # its old position is not used
    ingest(tp_daemon, {"reading": "back-on"}, source="sensor")
    wait_for(lambda: len(answered(tp_daemon, "hot")) == 3, what="the run after enabling")
    assert "back-on" in carried(fake_llm, 2) and "while-off" not in carried(fake_llm, 2)


def test_an_aggregate_query_fires_on_each_result_and_starts_from_the_latest(
    tp: FakeTimeplus, tp_daemon: Daemon, fake_llm: FakeLLM
) -> None:
    ctl_json(tp_daemon, "tasks", "add", "counts", "--sql", COUNTS, "--prompt", "Report the count")
    [event] = wait_for(
        lambda: rows(tp_daemon, "events", event_type="trigger_sql_from_latest"), what="the event"
    )
    assert event["payload"]["task"] == "counts" and "it has EMIT" in event["payload"]["reason"]
    wait_for(lambda: LIVES and LIVES[-1].started.is_set(), what="the query")
    LIVES[-1].put({"n": "17"})
    wait_for(lambda: answered(tp_daemon, "counts"), what="the run")
    [run] = runs_of(tp_daemon, "counts")
    assert run["content"]["rows"] == 1 and '"n":"17"' in carried(fake_llm, 0)
    assert "done" not in run["content"]


def test_bad_sql_is_refused_at_add(tp_daemon: Daemon) -> None:
    unknown = tp_daemon.pulsectl(
        "tasks", "add", "x", "--sql", "SELECT * FROM no_such_stream", "--prompt", "p"
    )
    assert unknown.returncode == 1 and "doesn't exist" in unknown.stderr
    as_schedule = tp_daemon.pulsectl(
        "tasks", "add", "x", "--schedule", "sql SELECT * FROM no_such_stream", "--prompt", "p"
    )
    assert as_schedule.returncode == 1 and "doesn't exist" in as_schedule.stderr
    for sql, says in (
        ("DROP STREAM ingest", "only read-only SQL"),
        ("SELECT * FROM table(ingest)", "must be a streaming query"),
    ):
        out = tp_daemon.pulsectl("tasks", "add", "x", "--sql", sql, "--prompt", "p")
        assert out.returncode == 1 and says in out.stderr, out.stderr
    both = tp_daemon.pulsectl(
        "tasks", "add", "x", "--sql", SENSORS, "--on", "ingest", "--prompt", "p"
    )
    assert both.returncode == 2 and "--on STREAM [--where ...] or --sql QUERY" in both.stderr
    with pytest.raises(grpc.RpcError) as err:
        tp_daemon.tasks().Add(
            tasks_pb2.AddTaskRequest(
                task=tasks_pb2.Task(
                    name="x",
                    prompt="p",
                    trigger=tasks_pb2.TriggerSpec(on="ingest", sql=SENSORS),
                )
            ),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "(--on, --where)" in str(err.value.details()) and "(--sql)" in str(err.value.details())
    assert ctl_json(tp_daemon, "tasks", "list") == []
    preview = tp_daemon.tasks().Preview(
        tasks_pb2.PreviewScheduleRequest(
            trigger=tasks_pb2.TriggerSpec(sql="SELECT * FROM table(ingest)")
        ),
        timeout=10,
    )
    assert "must be a streaming query" in preview.problem and not preview.matching_rows


def test_a_query_refused_when_it_runs_puts_the_task_in_an_error_state(
    tp: FakeTimeplus, tp_daemon: Daemon
) -> None:
    ctl_json(
        tp_daemon,
        "tasks",
        "add",
        "broken",
        "--sql",
        "SELECT missing_at_run FROM ingest",
        "--prompt",
        "p",
    )
    [event] = wait_for(
        lambda: rows(tp_daemon, "events", event_type="trigger_sql_failed"), what="the event"
    )
    assert event["payload"]["task"] == "broken" and "missing_at_run" in event["payload"]["error"]
    [listed] = ctl_json(tp_daemon, "tasks", "list")
    assert (
        listed["last_status"].startswith("sql error:") and "missing_at_run" in listed["last_status"]
    )
    tested = tp_daemon.pulsectl("tasks", "test", "broken", "--payload", "{}")
    assert tested.returncode == 1 and "decides which rows its query returns" in tested.stderr
    # It does not spin: one attempt, however long since.
    assert len([r for r in tp.queries("missing_at_run") if r.port == "stream"]) == 1


def test_the_local_backend_refuses_sql_triggers(daemon: Daemon) -> None:
    out = daemon.pulsectl("tasks", "add", "x", "--sql", SENSORS, "--prompt", "p")
    assert out.returncode == 1 and 'backend = "timeplus"' in out.stderr, out.stderr
    assert ctl_json(daemon, "tasks", "list") == []
    preview = daemon.tasks().Preview(
        tasks_pb2.PreviewScheduleRequest(trigger=tasks_pb2.TriggerSpec(sql=SENSORS)), timeout=10
    )
    assert 'backend = "timeplus"' in preview.problem
