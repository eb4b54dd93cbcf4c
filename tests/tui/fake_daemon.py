"""A loopback pulse.v1 server with fixed data, for the console's snapshot tests.

It speaks the real gRPC API on a temporary Unix socket (grpc's own server, the generated
servicers) but answers from constants, so every view renders the same screen on every
run. Times are fixed in January 2026 (UTC); the tests pin the local zone to UTC.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pulse.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    common_pb2,
    costs_pb2,
    costs_pb2_grpc,
    streams_pb2,
    streams_pb2_grpc,
    system_pb2,
    system_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

DAY = "2026-01-15"
SESSION = "s-5eed5eed5eed"


def _row(stream: str, seq: int, **values: Any) -> common_pb2.Row:
    return common_pb2.Row(stream=stream, seq=seq, json=json.dumps(values))


def _msg(seq: int, clock: str, kind: str, source: str, target: str, content: Any) -> common_pb2.Row:
    return _row(
        "messages",
        seq,
        id=f"m-{seq:04d}",
        timestamp=f"{DAY}T{clock}.000Z",
        source=source,
        target=target,
        session_id=SESSION,
        message_type=kind,
        content=content,
        user_id="local",
        channel_metadata={},
        priority=0,
        reply_to="",
    )


HISTORY = [
    _msg(1, "09:00:00", "user_input", "tui", "agent", {"text": "Plan my week from notes.md"}),
    _msg(
        2,
        "09:00:01",
        "tool_call",
        "agent",
        "tool:read_file",
        {"call_id": "c1", "name": "read_file", "arguments": {"path": "notes.md"}},
    ),
    _msg(
        3,
        "09:00:01",
        "tool_result",
        "tool:read_file",
        "agent",
        {"call_id": "c1", "name": "read_file", "status": "ok", "text": "- dentist mon 9:00"},
    ),
    _msg(
        4,
        "09:00:03",
        "agent_response",
        "agent",
        "tui",
        {
            "text": "Here is your week:\n\n- **Monday**: dentist at 9:00\n"
            "- **Tuesday**: write the report\n\nNothing else is planned."
        },
    ),
    _msg(5, "09:01:00", "user_input", "tui", "agent", {"text": "and the weekend?"}),
    _msg(
        6,
        "09:01:09",
        "error",
        "agent",
        "tui",
        {"code": "provider_error", "text": "anthropic answered 529 (overloaded) 3 times"},
    ),
]

SESSIONS = [
    chat_pb2.Session(
        session_id=SESSION,
        message_count=6,
        first_activity=f"{DAY}T09:00:00.000Z",
        last_activity=f"{DAY}T09:01:09.000Z",
        title="Plan my week from notes.md",
    ),
    chat_pb2.Session(
        session_id="s-0ld0ld0ld0ld",
        message_count=2,
        first_activity="2026-01-14T18:00:00.000Z",
        last_activity="2026-01-14T18:00:02.000Z",
        title="Groceries",
    ),
    chat_pb2.Session(
        session_id="task:briefing",
        message_count=4,
        first_activity="2026-01-13T08:00:00.000Z",
        last_activity="2026-01-14T08:00:05.000Z",
        title="Summarise my day",
    ),
]

EVENTS = [
    _row(
        "events",
        seq,
        id=f"e-{seq}",
        timestamp=f"{DAY}T{clock}.000Z",
        event_type=kind,
        source=source,
        severity=severity,
        payload=payload,
        tags=[],
    )
    for seq, clock, kind, source, severity, payload in [
        (1, "08:59:00", "daemon_started", "pulsed", "info", {"pid": 4242}),
        (2, "09:00:02", "tool_approved", "agent", "debug", {"tool": "read_file"}),
        (3, "09:01:05", "provider_retry", "agent", "warning", {"attempt": 2}),
        (4, "09:01:09", "turn_failed", "agent", "error", {"code": "provider_error"}),
        (5, "09:30:00", "budget_exceeded", "agent", "critical", {"daily_usd": 5.0}),
    ]
]

TASKS = [
    tasks_pb2.Task(
        name="briefing",
        schedule="0 8 * * *",
        prompt="Summarise my day",
        timezone="UTC",
        enabled=True,
        deliver_to="tui",
        version=2,
        next_run="2026-01-16T08:00:00+00:00",
        last_run="2026-01-15T08:00:00+00:00",
        last_status="ok",
    ),
    tasks_pb2.Task(
        name="backup-check",
        schedule="every 6h",
        prompt="Check last night's backup log",
        timezone="",
        enabled=False,
        deliver_to="none",
        version=1,
        next_run="",
        last_run="2026-01-14T18:00:00+00:00",
        last_status="error",
    ),
]

INGEST_ROWS = [
    _row(
        "ingest",
        seq,
        **{
            "id": f"i-{seq}",
            "timestamp": f"2026-01-15T{hh}:00Z",
            "source": "webhook:gh",
            "kind": "pull_request",
            "payload": {"action": "opened", "number": seq},
            "dedupe_key": "",
            "tags": [],
        },
    )
    for seq, hh in ((2, "11:30"), (1, "09:15"))
]
"""What a trigger's preview matches, newest first."""

RUNS = [
    tasks_pb2.TaskRun(
        message_id="m-run-2",
        fired_at="2026-01-15T08:00:00+00:00",
        status="ok",
        duration_ms=5400,
        answer="**Today**: dentist at 9:00, report due.",
        cost_usd=0.0123,
    ),
    tasks_pb2.TaskRun(
        message_id="m-run-1",
        fired_at="2026-01-14T08:00:00+00:00",
        status="error",
        duration_ms=900,
        answer="",
        cost_usd=0.0,
    ),
]


def _bucket(key: str, requests: int, cost: float, tin: int, tout: int, ms: float) -> Any:
    return costs_pb2.CostBucket(
        key=key,
        requests=requests,
        input_tokens=tin,
        output_tokens=tout,
        cost_usd=cost,
        avg_latency_ms=ms,
    )


TOTALS = {
    "today": _bucket("", 14, 0.4213, 52_300, 8_120, 1830.0),
    "7d": _bucket("", 96, 2.9105, 401_000, 61_500, 1710.0),
    "30d": _bucket("", 388, 11.2044, 1_620_000, 240_000, 1695.0),
}
BY = {
    "model": [
        _bucket("claude-sonnet-4-5", 70, 2.51, 0, 0, 0),
        _bucket("gpt-4o-mini", 26, 0.4005, 0, 0, 0),
    ],
    "origin": [
        _bucket("chat", 80, 2.2, 0, 0, 0),
        _bucket("task", 12, 0.61, 0, 0, 0),
        _bucket("memory", 4, 0.1005, 0, 0, 0),
    ],
    "day": [
        _bucket(f"2026-01-{d:02d}T00:00:00.000Z", 10, cost, 0, 0, 0)
        for d, cost in [(3, 0.2), (6, 0.9), (9, 0.4), (11, 0.35), (12, 1.1), (14, 0.6), (15, 0.42)]
    ],
}


class _System(system_pb2_grpc.SystemServicer):
    def Status(self, request: Any, context: Any) -> system_pb2.StatusResponse:
        return system_pb2.StatusResponse(
            version="0.1.0",
            pid=4242,
            store_backend="local",
            store_health="ok",
            provider="anthropic",
            model="claude-sonnet-4-5",
            spent_today_usd=0.4213,
            budget_daily_usd=5.0,
            agent_name="Pulse",
        )


class _Chat(chat_pb2_grpc.ChatServicer):
    def ListSessions(self, request: Any, context: Any) -> chat_pb2.ListSessionsResponse:
        return chat_pb2.ListSessionsResponse(sessions=SESSIONS)

    def History(self, request: Any, context: Any) -> chat_pb2.HistoryResponse:
        return chat_pb2.HistoryResponse(rows=HISTORY if request.session_id == SESSION else [])


class _Streams(streams_pb2_grpc.StreamsServicer):
    def List(self, request: Any, context: Any) -> streams_pb2.ListStreamsResponse:
        names = ("messages", "llm_logs", "tool_logs", "events", "tasks", "cursors")
        return streams_pb2.ListStreamsResponse(
            streams=[streams_pb2.StreamInfo(name=n) for n in names]
        )

    @staticmethod
    def _rows(stream: str) -> list[common_pb2.Row]:
        return {"messages": HISTORY, "events": EVENTS}.get(stream, [])

    def Query(self, request: Any, context: Any) -> streams_pb2.QueryResponse:
        rows = self._rows(request.stream)
        if request.order != "asc":
            rows = list(reversed(rows))
        return streams_pb2.QueryResponse(rows=rows[: request.limit or 100])

    def Tail(self, request: Any, context: Any) -> Iterator[streams_pb2.TailResponse]:
        after = request.after_seq if request.WhichOneof("start") == "after_seq" else 0
        rows = [r for r in self._rows(request.stream) if r.seq > after]
        if rows:
            yield streams_pb2.TailResponse(rows=rows)
        ended = threading.Event()
        context.add_callback(ended.set)
        ended.wait()


class _Tasks(tasks_pb2_grpc.TasksServicer):
    def List(self, request: Any, context: Any) -> tasks_pb2.ListTasksResponse:
        return tasks_pb2.ListTasksResponse(tasks=TASKS)

    def History(self, request: Any, context: Any) -> tasks_pb2.TaskHistoryResponse:
        return tasks_pb2.TaskHistoryResponse(runs=RUNS if request.name == "briefing" else [])

    def Preview(self, request: Any, context: Any) -> tasks_pb2.PreviewScheduleResponse:
        # Fixed answers keep the snapshot stable; the real daemon's Preview is tested in
        # tests/daemon/test_bad_input.py.
        if request.HasField("trigger"):
            return tasks_pb2.PreviewScheduleResponse(matching_rows=INGEST_ROWS)
        if request.schedule == "0 8 * * *":
            days = ("2026-01-16", "2026-01-17", "2026-01-18")
            return tasks_pb2.PreviewScheduleResponse(
                next_runs=[f"{d}T08:00:00+00:00" for d in days]
            )
        return tasks_pb2.PreviewScheduleResponse(problem="not a schedule this fake knows")


class _Costs(costs_pb2_grpc.CostsServicer):
    def Summary(self, request: Any, context: Any) -> costs_pb2.CostSummaryResponse:
        # The view asks for today, 7 and 30 days back from its own clock: tell them apart
        # by how far back ``since_ms`` reaches.
        now_ms = time.time() * 1000
        age_days = (now_ms - request.since_ms) / 86_400_000 if request.since_ms else 99
        key = "today" if age_days < 1 else "7d" if age_days < 8 else "30d"
        return costs_pb2.CostSummaryResponse(
            total=TOTALS[key],
            buckets=BY.get(request.by, []),
            budget_daily_usd=5.0,
            spent_today_usd=0.4213,
            caps=[
                costs_pb2.BudgetCap(
                    name="daily",
                    limit_usd=5.0,
                    spent_usd=0.4213,
                    left_usd=4.5787,
                    resets="at local midnight",
                )
            ],
        )


class FakeDaemon:
    """The server; ``socket`` is where it listens. Use as a context manager."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pulse-fake-"))
        self.socket = self.root / "fake.sock"
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        system_pb2_grpc.add_SystemServicer_to_server(_System(), self.server)
        chat_pb2_grpc.add_ChatServicer_to_server(_Chat(), self.server)
        streams_pb2_grpc.add_StreamsServicer_to_server(_Streams(), self.server)
        tasks_pb2_grpc.add_TasksServicer_to_server(_Tasks(), self.server)
        costs_pb2_grpc.add_CostsServicer_to_server(_Costs(), self.server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.server.add_insecure_port(f"unix:{self.socket}")

    def __enter__(self) -> FakeDaemon:
        self.server.start()
        self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None)
        shutil.rmtree(self.root, ignore_errors=True)
