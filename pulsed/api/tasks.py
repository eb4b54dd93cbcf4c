"""Tasks: definitions as versions, presets, stream triggers, run now, run history."""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from pulse.v1 import common_pb2, tasks_pb2, tasks_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import FailedPrecondition, InvalidArgument, NotFound
from pulsed.scheduling.book import session_of
from pulsed.scheduling.spec import parse as parse_spec
from pulsed.scheduling.spec import preview
from pulsed.scheduling.task_views import TaskRun, TaskView
from pulsed.scheduling.where import TriggerDef
from pulsed.store.base import Row

_Updatable = Literal[
    "schedule", "prompt", "timezone", "deliver_to", "enabled", "catch_up", "timeout_s", "budget_usd"
]
UPDATABLE: tuple[_Updatable, ...] = get_args(_Updatable)


def task_pb(v: TaskView) -> tasks_pb2.Task:
    """A TaskView as the API's Task."""
    task = tasks_pb2.Task(
        name=v.name,
        schedule=v.schedule,
        prompt=v.prompt,
        timezone=v.timezone,
        enabled=v.enabled,
        deliver_to=v.deliver_to,
        version=v.version,
        created_at=v.created_at,
        updated_at=v.updated_at,
        next_run=v.next_run,
        last_run=v.last_run,
        last_status=v.last_status,
        timeout_s=v.timeout_s,
        budget_usd=v.budget_usd,
        preset=v.preset,
        created_by=v.created_by,
        retired_at=v.retired_at,
        failures=v.failures,
        backoff_until=v.backoff_until,
        running=v.running,
    )
    if v.catch_up is not None:
        task.catch_up = v.catch_up
    if v.trigger is not None:
        task.trigger.CopyFrom(trigger_pb(v.trigger))
        task.last_fired = v.last_fired
        task.rows_waiting = v.rows_waiting
    return task


def trigger_pb(t: TriggerDef) -> tasks_pb2.TriggerSpec:
    """A TriggerDef as the API's TriggerSpec."""
    return tasks_pb2.TriggerSpec(
        on=t.on,
        where=[common_pb2.Filter(column=c, op=o, value=v) for c, o, v in t.where],
        batch_s=t.batch_s,
        max_runs_per_hour=t.max_runs_per_hour,
        overflow=t.overflow,
        sql=t.sql,
    )


def trigger_of_pb(spec: tasks_pb2.TriggerSpec) -> TriggerDef:
    """The TriggerDef of a request's TriggerSpec (checked later, by the book)."""
    return TriggerDef(
        on=spec.on,
        where=[[f.column, f.op or "eq", f.value] for f in spec.where],
        batch_s=spec.batch_s,
        max_runs_per_hour=spec.max_runs_per_hour,
        overflow=spec.overflow or "queue",
        sql=spec.sql,
    )


def run_pb(r: TaskRun) -> tasks_pb2.TaskRun:
    """A TaskRun as the API's TaskRun."""
    return tasks_pb2.TaskRun(
        message_id=r.message_id,
        fired_at=r.fired_at,
        status=r.status,
        duration_ms=r.duration_ms,
        answer=r.answer,
        cost_usd=r.cost_usd,
        trigger=r.trigger,
        delivered_to=r.delivered_to,
        error_code=r.error_code,
    )


class TasksServicer(tasks_pb2_grpc.TasksServicer):
    """The Tasks service over the daemon's TaskBook and Scheduler."""

    def __init__(self, deps: ApiDeps) -> None:
        self.book = deps.book
        self.scheduler = deps.scheduler
        self.triggers = deps.triggers

    async def _pb(self, row: Row) -> tasks_pb2.Task:
        view = await self.book.view(row)
        return task_pb(self.triggers.annotate(self.scheduler.annotate(view)))

    @unary
    async def Add(self, request: tasks_pb2.AddTaskRequest, context: Context) -> tasks_pb2.Task:
        t = request.task
        trig = trigger_of_pb(t.trigger) if t.HasField("trigger") else None
        head, _, rest = t.schedule.strip().partition(" ")
        if trig is None and head.lower() == "sql" and rest.strip():
            trig = TriggerDef(on="", sql=rest.strip())  # a schedule "sql <query>"
        if trig is not None and trig.sql:
            await self.triggers.check_sql(trig)
        row = await self.book.add(
            t.name,
            t.schedule,
            t.prompt,
            t.timezone,
            t.deliver_to,
            enabled=t.enabled,
            catch_up=t.catch_up if t.HasField("catch_up") else None,
            timeout_s=t.timeout_s,
            budget_usd=t.budget_usd,
            preset=t.preset,
            trigger=trig,
        )
        return await self._pb(row)

    @unary
    async def Update(
        self, request: tasks_pb2.UpdateTaskRequest, context: Context
    ) -> tasks_pb2.Task:
        changes: dict[str, Any] = {f: getattr(request, f) for f in UPDATABLE if request.HasField(f)}
        if request.HasField("trigger"):
            changes["trigger"] = trigger_of_pb(request.trigger)
            if changes["trigger"].sql:
                await self.triggers.check_sql(changes["trigger"])
        if not changes:
            raise InvalidArgument(
                "nothing to change: give at least one of schedule, prompt, timezone, "
                "deliver_to, enabled, catch_up, timeout_s, budget_usd, trigger"
            )
        row = await self.book.update(request.name, **changes)
        return await self._pb(row)

    @unary
    async def Remove(
        self, request: tasks_pb2.RemoveTaskRequest, context: Context
    ) -> tasks_pb2.RemoveTaskResponse:
        await self.book.remove(request.name)
        return tasks_pb2.RemoveTaskResponse()

    @unary
    async def List(
        self, request: tasks_pb2.ListTasksRequest, context: Context
    ) -> tasks_pb2.ListTasksResponse:
        views = await self.book.list_tasks()
        return tasks_pb2.ListTasksResponse(
            tasks=[task_pb(self.triggers.annotate(self.scheduler.annotate(v))) for v in views]
        )

    @unary
    async def SetEnabled(
        self, request: tasks_pb2.SetEnabledRequest, context: Context
    ) -> tasks_pb2.Task:
        row = await self.book.update(request.name, enabled=request.enabled)
        return await self._pb(row)

    @unary
    async def RunNow(
        self, request: tasks_pb2.RunNowRequest, context: Context
    ) -> tasks_pb2.RunNowResponse:
        row = await self.scheduler.run_now(request.name)
        return tasks_pb2.RunNowResponse(
            message_id=str(row["id"]), session_id=session_of(request.name)
        )

    @unary
    async def History(
        self, request: tasks_pb2.TaskHistoryRequest, context: Context
    ) -> tasks_pb2.TaskHistoryResponse:
        await self.book.get(request.name)
        limit = request.limit or 20
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be between 1 and 1000")
        runs = await self.book.history(request.name, limit)
        return tasks_pb2.TaskHistoryResponse(runs=[run_pb(r) for r in runs])

    @unary
    async def Preview(
        self, request: tasks_pb2.PreviewScheduleRequest, context: Context
    ) -> tasks_pb2.PreviewScheduleResponse:
        count = request.count or 3
        if not 1 <= count <= 50:
            raise InvalidArgument("count must be between 1 and 50")
        try:
            trig: TriggerDef | None = None
            if request.HasField("trigger"):
                trig = trigger_of_pb(request.trigger)
            elif request.schedule.strip().startswith("on "):
                trig = TriggerDef(on=parse_spec(request.schedule).stream)
            if trig is not None and trig.sql:
                await self.triggers.check_sql(trig)
                return tasks_pb2.PreviewScheduleResponse()
            if trig is not None:
                found = await self.triggers.latest_matching(trig, count)
                return tasks_pb2.PreviewScheduleResponse(
                    matching_rows=[
                        common_pb2.Row(stream=r.stream, seq=r.seq, json=r.to_json()) for r in found
                    ]
                )
            runs = preview(request.schedule, request.timezone, count)
        except (InvalidArgument, NotFound, FailedPrecondition) as e:
            return tasks_pb2.PreviewScheduleResponse(problem=e.message)
        return tasks_pb2.PreviewScheduleResponse(
            next_runs=[r.isoformat(timespec="seconds") for r in runs]
        )

    @unary
    async def Test(
        self, request: tasks_pb2.TestTriggerRequest, context: Context
    ) -> tasks_pb2.TestTriggerResponse:
        stream = await self._stream_of(request.name)
        values = _test_row(request.row_json, stream) if stream else {}
        matched, reason, prompt = await self.triggers.test(request.name, values)
        return tasks_pb2.TestTriggerResponse(matched=matched, reason=reason, prompt=prompt)

    async def _stream_of(self, name: str) -> str:
        row = await self.book.get(name)
        sched = str(row["schedule"])
        return sched[3:] if sched.startswith("on ") else ""


def _test_row(text: str, stream: str) -> dict[str, Any]:
    """The row a Test request describes: its JSON object of columns; for the ingest
    stream, a value that is not an object of ingest columns is the payload.

    Raises:
        InvalidArgument: not JSON, or (other streams) not an object.
    """
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise InvalidArgument(f"row_json is not JSON: {e}") from None
    if stream == "ingest":
        columns = {"id", "timestamp", "source", "kind", "payload", "dedupe_key", "tags"}
        if not (isinstance(value, dict) and value and set(value) <= columns):
            return {"source": "test", "payload": value}
        return value
    if not isinstance(value, dict):
        raise InvalidArgument("row_json must be a JSON object of the stream's columns")
    return value
