"""Out-of-range values a person can type get INVALID_ARGUMENT naming them (issue 17 item 5),
never INTERNAL, through the real daemon's gRPC API; the daemon keeps answering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from pulse.v1 import common_pb2, costs_pb2, streams_pb2, system_pb2, tasks_pb2

from tests.daemon.util import rows
from tests.harness import Daemon, running

F = common_pb2.Filter
HUGE = "99999999999999999999"
LATE = "9999-12-31T23:59:59-14:00"
EARLY = "0001-01-01T00:00:00+14:00"
LONG_DIGITS = "9" * 5000  # beyond Python's int() digit limit


@pytest.fixture(scope="module")
def d() -> Iterator[Daemon]:
    """One daemon for the whole module (each case is a single read-only call).

    It has no usable LLM provider, on purpose: no case needs one, and with one the
    daemon's first call starts importing the provider SDK on a thread (about 770
    modules, 5.7 s measured on the 2-core CI machine under load) that competes for the
    interpreter with the calls below: the likeliest reason a Tail once missed its 5 s
    deadline at load 6-7.
    """
    daemon = Daemon()
    with running(daemon):
        yield daemon


def status_of(fn: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as ei:
        r = fn()
        if hasattr(r, "__iter__") and not hasattr(r, "ListFields"):
            for _ in r:
                pass
    return ei.value.code(), ei.value.details()


def still_answers(d: Daemon) -> None:
    assert d.system().Status(system_pb2.StatusRequest(), timeout=5).pid == d.proc.pid  # type: ignore[union-attr]


def q(stream: str, *fs: common_pb2.Filter, **kw: Any) -> streams_pb2.QueryRequest:
    return streams_pb2.QueryRequest(stream=stream, filters=list(fs), **kw)


QUERIES = [
    pytest.param(q("llm_logs", F(column="input_tokens", op="gt", value=HUGE)), HUGE, id="int-big"),
    pytest.param(
        q("llm_logs", F(column="input_tokens", op="lt", value="-" + HUGE)), HUGE, id="int-small"
    ),
    pytest.param(
        q("llm_logs", F(column="latency_ms", op="eq", value=str(2**63))), str(2**63), id="int-2^63"
    ),
    pytest.param(q("messages", F(column="timestamp", op="gt", value=LATE)), LATE, id="ts-late"),
    pytest.param(q("messages", F(column="timestamp", op="lt", value=EARLY)), EARLY, id="ts-early"),
    pytest.param(
        q("llm_logs", F(column="estimated_cost_usd", op="gt", value="nan")), "nan", id="float-nan"
    ),
    pytest.param(q("messages", since_ms=2**63 - 1), str(2**63 - 1), id="since-max"),
    pytest.param(q("messages", until_ms=-(2**63)), str(-(2**63)), id="until-min"),
    pytest.param(q("messages", limit=2**31 - 1), "limit", id="limit-max"),
    pytest.param(q("messages", limit=-1), "limit", id="limit-negative"),
]


@pytest.mark.parametrize(("request_", "needle"), QUERIES)
def test_query_out_of_range(d: Daemon, request_: streams_pb2.QueryRequest, needle: str) -> None:
    got, details = status_of(lambda: d.streams().Query(request_, timeout=5))
    assert (got, needle in details) == (grpc.StatusCode.INVALID_ARGUMENT, True), details
    still_answers(d)


TAILS = [
    pytest.param(
        streams_pb2.TailRequest(stream="messages", after_seq=2**64 - 1), str(2**64 - 1), id="seq"
    ),
    pytest.param(
        streams_pb2.TailRequest(
            stream="llm_logs",
            earliest=True,
            filters=[F(column="input_tokens", op="gt", value=HUGE)],
        ),
        HUGE,
        id="filter-int",
    ),
    pytest.param(
        streams_pb2.TailRequest(
            stream="messages", earliest=True, filters=[F(column="timestamp", op="gt", value=LATE)]
        ),
        LATE,
        id="filter-ts",
    ),
]


@pytest.mark.parametrize(("request_", "needle"), TAILS)
def test_tail_out_of_range(d: Daemon, request_: streams_pb2.TailRequest, needle: str) -> None:
    got, details = status_of(lambda: d.streams().Tail(request_, timeout=5))
    assert (got, needle in details) == (grpc.StatusCode.INVALID_ARGUMENT, True), details
    still_answers(d)


COSTS = [
    pytest.param(costs_pb2.CostSummaryRequest(since_ms=253402300799000), "since", id="since-9999"),
    pytest.param(costs_pb2.CostSummaryRequest(until_ms=253402300799000), "until", id="until-9999"),
    pytest.param(costs_pb2.CostSummaryRequest(since_ms=2**63 - 1), str(2**63 - 1), id="since-max"),
    pytest.param(costs_pb2.CostSummaryRequest(until_ms=-1), "-1", id="until-negative"),
]


@pytest.mark.parametrize(("request_", "needle"), COSTS)
def test_costs_out_of_range(d: Daemon, request_: costs_pb2.CostSummaryRequest, needle: str) -> None:
    try:
        d.costs().Summary(request_, timeout=5)  # a bound at the end of time may be valid
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details()
        assert needle in e.details()
    still_answers(d)


SCHEDULES = [
    pytest.param("in 99999999999999999d", "", "99999999999999999d", id="in-huge"),
    pytest.param("every 9999999999999999999w", "", "9999999999999999999w", id="every-huge"),
    pytest.param("in 999999999d", "", "999999999d", id="in-timedelta-max"),
    pytest.param("every 999999999d", "", "999999999d", id="every-timedelta-max"),
    pytest.param(f"in {LONG_DIGITS}s", "", "too long", id="in-digits"),
    pytest.param("at 9999-12-31T23:59:59", "Etc/GMT+12", "9999-12-31T23:59:59", id="at-zone"),
    pytest.param(f"at {LATE}", "", LATE, id="at-late"),
    pytest.param(f"at {EARLY}", "", EARLY, id="at-early"),
    pytest.param("at 0001-01-01T00:00:00", "Etc/GMT-14", "0001-01-01T00:00:00", id="at-zone-early"),
]


@pytest.mark.parametrize(("spec", "tz", "needle"), SCHEDULES)
def test_task_add_out_of_range(d: Daemon, spec: str, tz: str, needle: str) -> None:
    task = tasks_pb2.Task(name="far", schedule=spec, prompt="p", timezone=tz)
    got, details = status_of(lambda: d.tasks().Add(tasks_pb2.AddTaskRequest(task=task), timeout=5))
    assert (got, needle in details) == (grpc.StatusCode.INVALID_ARGUMENT, True), details
    still_answers(d)
    assert rows(d, "tasks", name="far") == []


@pytest.mark.parametrize(("spec", "tz", "needle"), SCHEDULES)
def test_preview_out_of_range(d: Daemon, spec: str, tz: str, needle: str) -> None:
    req = tasks_pb2.PreviewScheduleRequest(schedule=spec, timezone=tz)
    got = d.tasks().Preview(req, timeout=5)
    assert needle in got.problem and not got.next_runs, got.problem
    still_answers(d)


def test_update_to_out_of_range(d: Daemon) -> None:
    """An existing task cannot be moved out of range by a new schedule or zone."""
    stub = d.tasks()
    task = tasks_pb2.Task(name="near", schedule="at 9999-12-30T00:00:00", prompt="p")
    stub.Add(tasks_pb2.AddTaskRequest(task=task), timeout=5)
    try:
        for change in (
            tasks_pb2.UpdateTaskRequest(name="near", schedule="in 99999999999999999d"),
            tasks_pb2.UpdateTaskRequest(name="near", schedule=f"at {LATE}"),
            tasks_pb2.UpdateTaskRequest(name="near", timeout_s=float("nan")),
            tasks_pb2.UpdateTaskRequest(name="near", timeout_s=float("inf")),
        ):
            got, details = status_of(lambda c=change: stub.Update(c, timeout=5))  # type: ignore[misc]
            assert got == grpc.StatusCode.INVALID_ARGUMENT, details
        still_answers(d)
        assert [t.schedule for t in stub.List(tasks_pb2.ListTasksRequest(), timeout=5).tasks] == [
            "at 9999-12-30T00:00:00"
        ]
    finally:
        stub.Remove(tasks_pb2.RemoveTaskRequest(name="near"), timeout=5)


@pytest.mark.parametrize("timeout_s", [float("nan"), float("inf"), -1.0, 1e308])
def test_task_timeout_out_of_range(d: Daemon, timeout_s: float) -> None:
    task = tasks_pb2.Task(name="slow", schedule="every 1h", prompt="p", timeout_s=timeout_s)
    got, details = status_of(lambda: d.tasks().Add(tasks_pb2.AddTaskRequest(task=task), timeout=5))
    assert (got, "timeout" in details) == (grpc.StatusCode.INVALID_ARGUMENT, True), details
    still_answers(d)


def test_history_limits(d: Daemon) -> None:
    stub = d.tasks()
    stub.Add(
        tasks_pb2.AddTaskRequest(task=tasks_pb2.Task(name="hist", schedule="every 1h", prompt="p")),
        timeout=5,
    )
    try:
        for limit in (2**31 - 1, -1):
            got, details = status_of(
                lambda n=limit: stub.History(  # type: ignore[misc]
                    tasks_pb2.TaskHistoryRequest(name="hist", limit=n), timeout=5
                )
            )
            assert (got, "limit" in details) == (grpc.StatusCode.INVALID_ARGUMENT, True)
    finally:
        stub.Remove(tasks_pb2.RemoveTaskRequest(name="hist"), timeout=5)
    still_answers(d)


def test_range_ends_are_values(d: Daemon) -> None:
    """The ends of the ranges are accepted and compare as times (year 999 is before 2026:
    schema text keeps four year digits)."""
    stub = d.tasks()
    stub.Add(
        tasks_pb2.AddTaskRequest(task=tasks_pb2.Task(name="ends", schedule="every 1h", prompt="p")),
        timeout=5,
    )
    try:
        for op, value, found in (
            ("lt", "0999-01-01T00:00:00Z", 0),
            ("gt", "0001-01-01T00:00:00Z", 1),
            ("lt", "9999-12-31T23:59:59.999Z", 1),
            ("ge", "9999-12-31T23:59:59-00:00", 0),
        ):
            req = q(
                "tasks", F(column="timestamp", op=op, value=value), F(column="name", value="ends")
            )
            assert len(d.streams().Query(req, timeout=5).rows) == found, (op, value)
        req = q("llm_logs", F(column="input_tokens", op="le", value=str(2**63 - 1)))
        d.streams().Query(req, timeout=5)
        d.costs().Summary(costs_pb2.CostSummaryRequest(since_ms=1, until_ms=253402300799000))
    finally:
        stub.Remove(tasks_pb2.RemoveTaskRequest(name="ends"), timeout=5)
    still_answers(d)
