"""Tasks: definitions as versions, presets, run now, run history."""

from __future__ import annotations

from typing import Literal, get_args

from pulse.v1 import tasks_pb2, tasks_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import InvalidArgument
from pulsed.scheduling.book import TaskRun, TaskView, session_of
from pulsed.scheduling.spec import preview
from pulsed.store.base import Row

_Updatable = Literal[
    "schedule", "prompt", "timezone", "deliver_to", "enabled", "catch_up", "timeout_s"
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
        preset=v.preset,
        created_by=v.created_by,
        retired_at=v.retired_at,
        failures=v.failures,
        backoff_until=v.backoff_until,
        running=v.running,
    )
    if v.catch_up is not None:
        task.catch_up = v.catch_up
    return task


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

    async def _pb(self, row: Row) -> tasks_pb2.Task:
        return task_pb(self.scheduler.annotate(await self.book.view(row)))

    @unary
    async def Add(self, request: tasks_pb2.AddTaskRequest, context: Context) -> tasks_pb2.Task:
        t = request.task
        row = await self.book.add(
            t.name,
            t.schedule,
            t.prompt,
            t.timezone,
            t.deliver_to,
            enabled=t.enabled,
            catch_up=t.catch_up if t.HasField("catch_up") else None,
            timeout_s=t.timeout_s,
            preset=t.preset,
        )
        return await self._pb(row)

    @unary
    async def Update(
        self, request: tasks_pb2.UpdateTaskRequest, context: Context
    ) -> tasks_pb2.Task:
        changes = {f: getattr(request, f) for f in UPDATABLE if request.HasField(f)}
        if not changes:
            raise InvalidArgument(
                "nothing to change: give at least one of schedule, prompt, timezone, "
                "deliver_to, enabled, catch_up, timeout_s"
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
            tasks=[task_pb(self.scheduler.annotate(v)) for v in views]
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
            runs = preview(request.schedule, request.timezone, count)
        except InvalidArgument as e:
            return tasks_pb2.PreviewScheduleResponse(problem=e.message)
        return tasks_pb2.PreviewScheduleResponse(
            next_runs=[r.isoformat(timespec="seconds") for r in runs]
        )
