"""Bad input gets a clear gRPC status and loses nothing; the daemon keeps answering."""

from __future__ import annotations

import grpc
import pytest
from pulse.v1 import chat_pb2, common_pb2, costs_pb2, streams_pb2, system_pb2, tasks_pb2

from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon


def status_of(fn) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as ei:
        r = fn()
        if hasattr(r, "__iter__") and not hasattr(r, "ListFields"):
            list(r)
    return ei.value.code(), ei.value.details()


def still_answers(d: Daemon) -> None:
    assert d.system().Status(system_pb2.StatusRequest(), timeout=5).pid == d.proc.pid


F = common_pb2.Filter


@pytest.mark.parametrize(
    ("request_", "code", "needle"),
    [
        (
            streams_pb2.QueryRequest(stream="nope"),
            grpc.StatusCode.NOT_FOUND,
            "unknown stream 'nope'",
        ),
        (
            streams_pb2.QueryRequest(stream="messages", filters=[F(column="nope", value="x")]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "has no column 'nope'",
        ),
        (
            streams_pb2.QueryRequest(
                stream="messages", filters=[F(column="priority", value="high")]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "priority is int",
        ),
        (
            streams_pb2.QueryRequest(
                stream="messages", filters=[F(column="source", op="LIKE", value="x")]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown filter operator",
        ),
        (
            streams_pb2.QueryRequest(
                stream="messages", filters=[F(column="id; DROP TABLE messages", value="x")]
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "has no column",
        ),
        (
            streams_pb2.QueryRequest(stream="messages", limit=10**6),
            grpc.StatusCode.INVALID_ARGUMENT,
            "limit",
        ),
        (
            streams_pb2.QueryRequest(stream="messages", order="sideways"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "order",
        ),
        (
            streams_pb2.QueryRequest(stream="messages", since_ms=-5),
            grpc.StatusCode.INVALID_ARGUMENT,
            "Unix time",
        ),
    ],
)
def test_query_errors(daemon: Daemon, request_, code, needle) -> None:  # type: ignore[no-untyped-def]
    got, details = status_of(lambda: daemon.streams().Query(request_, timeout=5))
    assert got == code
    assert needle in details
    still_answers(daemon)


def test_tail_unknown_stream(daemon: Daemon) -> None:
    got, details = status_of(
        lambda: daemon.streams().Tail(streams_pb2.TailRequest(stream="secrets"), timeout=5)
    )
    assert got == grpc.StatusCode.NOT_FOUND and "unknown stream" in details


def test_sql_metacharacters_are_values(daemon: Daemon, fake_llm: FakeLLM) -> None:
    nasty = "'; DROP TABLE messages; -- %_\"\\"
    events = send(daemon, nasty, session="meta")
    assert events[-1].WhichOneof("event") == "final"
    found = rows(daemon, "messages", session_id="meta")
    assert found[0]["content"]["text"] == nasty
    q = streams_pb2.QueryRequest(
        stream="messages", filters=[F(column="content", op="contains", value="DROP TABLE")]
    )
    assert len(daemon.streams().Query(q, timeout=5).rows) >= 1
    q = streams_pb2.QueryRequest(
        stream="messages", filters=[F(column="session_id", value="' OR '1'='1")]
    )
    assert len(daemon.streams().Query(q, timeout=5).rows) == 0
    still_answers(daemon)


def test_oversized_and_empty_messages_refused(daemon: Daemon, fake_llm: FakeLLM) -> None:
    got, details = status_of(lambda: send(daemon, "x" * 100_001))
    assert got == grpc.StatusCode.INVALID_ARGUMENT and "limit is 100000" in details
    got, details = status_of(lambda: send(daemon, "   "))
    assert got == grpc.StatusCode.INVALID_ARGUMENT and "empty" in details
    got, details = status_of(lambda: send(daemon, "hi", session="bad session id!"))
    assert got == grpc.StatusCode.INVALID_ARGUMENT and "invalid session id" in details
    assert fake_llm.requests == []
    assert rows(daemon, "messages") == []  # nothing half-stored
    still_answers(daemon)


def test_message_over_grpc_limit_refused(daemon: Daemon) -> None:
    got, _ = status_of(lambda: send(daemon, "y" * (17 * 1024 * 1024)))
    assert got == grpc.StatusCode.RESOURCE_EXHAUSTED
    still_answers(daemon)


def test_malformed_protobuf_refused(daemon: Daemon) -> None:
    call = daemon.channel().unary_unary("/pulse.v1.Streams/Query")
    with pytest.raises(grpc.RpcError) as ei:
        call(b"\xff\xff\xff\xff", timeout=5)
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed request" in ei.value.details()
    tail = daemon.channel().unary_stream("/pulse.v1.Streams/Tail")
    with pytest.raises(grpc.RpcError) as ei:
        list(tail(b"\x0a\xff", timeout=5))
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    still_answers(daemon)


@pytest.mark.parametrize(
    ("task", "needle"),
    [
        (tasks_pb2.Task(name="t", schedule="every 5s", prompt="p"), "shortest interval"),
        (
            tasks_pb2.Task(name="t", schedule="61 * * * *", prompt="p"),
            "minute 61 out of range 0–59",
        ),
        (tasks_pb2.Task(name="t", schedule="whenever", prompt="p"), "Valid examples"),
        (tasks_pb2.Task(name="Bad Name", schedule="every 1h", prompt="p"), "invalid task name"),
        (tasks_pb2.Task(name="t", schedule="every 1h", prompt=""), "prompt is empty"),
        (
            tasks_pb2.Task(name="t", schedule="every 1h", prompt="p", timezone="Moon/Base"),
            "unknown time zone",
        ),
    ],
)
def test_invalid_tasks_refused(daemon: Daemon, task: tasks_pb2.Task, needle: str) -> None:
    got, details = status_of(
        lambda: daemon.tasks().Add(tasks_pb2.AddTaskRequest(task=task), timeout=5)
    )
    assert got == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in details
    assert rows(daemon, "tasks") == []


def test_task_versions(daemon: Daemon) -> None:
    stub = daemon.tasks()
    t = stub.Add(
        tasks_pb2.AddTaskRequest(
            task=tasks_pb2.Task(name="brief", schedule="0 9 * * *", prompt="news", enabled=True)
        ),
        timeout=5,
    )
    assert t.version == 1 and t.enabled and t.next_run
    got, details = status_of(
        lambda: stub.Add(
            tasks_pb2.AddTaskRequest(
                task=tasks_pb2.Task(name="brief", schedule="0 9 * * *", prompt="x")
            ),
            timeout=5,
        )
    )
    assert got == grpc.StatusCode.ALREADY_EXISTS
    t = stub.Update(tasks_pb2.UpdateTaskRequest(name="brief", schedule="every 2h"), timeout=5)
    assert t.version == 2 and t.schedule == "every 2h" and t.prompt == "news"
    t = stub.SetEnabled(tasks_pb2.SetEnabledRequest(name="brief", enabled=False), timeout=5)
    assert not t.enabled and t.next_run == ""
    assert [x.name for x in stub.List(tasks_pb2.ListTasksRequest(), timeout=5).tasks] == ["brief"]
    stub.Remove(tasks_pb2.RemoveTaskRequest(name="brief"), timeout=5)
    assert list(stub.List(tasks_pb2.ListTasksRequest(), timeout=5).tasks) == []
    assert [r["version"] for r in rows(daemon, "tasks", name="brief")] == [1, 2, 3, 4]
    got, _ = status_of(lambda: stub.Remove(tasks_pb2.RemoveTaskRequest(name="brief"), timeout=5))
    assert got == grpc.StatusCode.NOT_FOUND


def test_task_run_now_and_history(daemon: Daemon, fake_llm: FakeLLM) -> None:
    from tests.daemon.util import wait_for

    stub = daemon.tasks()
    stub.Add(
        tasks_pb2.AddTaskRequest(
            task=tasks_pb2.Task(name="hello", schedule="every 1h", prompt="say hi", enabled=True)
        ),
        timeout=5,
    )
    fake_llm.script("hi from the task")
    run = stub.RunNow(tasks_pb2.RunNowRequest(name="hello"), timeout=5)
    assert run.session_id == "task:hello"

    def done():  # type: ignore[no-untyped-def]
        h = stub.History(tasks_pb2.TaskHistoryRequest(name="hello"), timeout=5).runs
        return h if h and h[0].status == "ok" else None

    runs = wait_for(done, what="task run")
    assert runs[0].answer == "hi from the task" and runs[0].message_id == run.message_id
    assert runs[0].cost_usd > 0
    log = rows(daemon, "llm_logs", session_id="task:hello")
    assert log[0]["origin"] == "task"


def test_costs_bad_grouping(daemon: Daemon) -> None:
    got, details = status_of(
        lambda: daemon.costs().Summary(costs_pb2.CostSummaryRequest(by="planet"), timeout=5)
    )
    assert got == grpc.StatusCode.INVALID_ARGUMENT and "cannot group costs by 'planet'" in details


def test_history_needs_valid_session(daemon: Daemon) -> None:
    got, _ = status_of(
        lambda: daemon.chat().History(chat_pb2.HistoryRequest(session_id=""), timeout=5)
    )
    assert got == grpc.StatusCode.INVALID_ARGUMENT


def test_schedule_preview(daemon: Daemon) -> None:
    stub = daemon.tasks()
    ok = stub.Preview(
        tasks_pb2.PreviewScheduleRequest(schedule="0 9 * * *", timezone="Europe/Paris"), timeout=5
    )
    assert ok.problem == "" and len(ok.next_runs) == 3
    assert all(r.endswith(("+01:00", "+02:00")) and "T09:00:00" in r for r in ok.next_runs)
    bad = stub.Preview(tasks_pb2.PreviewScheduleRequest(schedule="every 5s"), timeout=5)
    assert "shortest interval" in bad.problem and not bad.next_runs
    zone = stub.Preview(
        tasks_pb2.PreviewScheduleRequest(schedule="every 1h", timezone="Moon/Base"), timeout=5
    )
    assert "unknown time zone" in zone.problem
    past = stub.Preview(tasks_pb2.PreviewScheduleRequest(schedule="at 2020-01-01T00:00"), timeout=5)
    assert past.problem == "" and list(past.next_runs) == []
    got, _ = status_of(
        lambda: stub.Preview(
            tasks_pb2.PreviewScheduleRequest(schedule="every 1h", count=999), timeout=5
        )
    )
    assert got == grpc.StatusCode.INVALID_ARGUMENT
    assert rows(daemon, "tasks") == []  # nothing saved
