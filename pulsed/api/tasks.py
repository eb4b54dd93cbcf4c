"""Tasks: definitions as versions, run now, run history."""

from __future__ import annotations

import grpc
from pulse.v1 import tasks_pb2, tasks_pb2_grpc

from pulsed.api.errors import unary
from pulsed.errors import InvalidArgument
from pulsed.runtime import Runtime
from pulsed.tasks import TaskView, session_of


def task_pb(v: TaskView) -> tasks_pb2.Task:
    return tasks_pb2.Task(
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
    )


class TasksServicer(tasks_pb2_grpc.TasksServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.book = rt.tasks

    @unary
    async def Add(
        self, request: tasks_pb2.AddTaskRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.Task:
        t = request.task
        row = await self.book.add(
            t.name, t.schedule, t.prompt, t.timezone, t.deliver_to, enabled=t.enabled
        )
        return task_pb(await self.book.view(row))

    @unary
    async def Update(
        self, request: tasks_pb2.UpdateTaskRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.Task:
        changes = {
            f: getattr(request, f)
            for f in ("schedule", "prompt", "timezone", "deliver_to", "enabled")
            if request.HasField(f)
        }
        if not changes:
            raise InvalidArgument(
                "nothing to change: give at least one of schedule, prompt, timezone, deliver_to"
            )
        row = await self.book.update(request.name, **changes)
        return task_pb(await self.book.view(row))

    @unary
    async def Remove(
        self, request: tasks_pb2.RemoveTaskRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.RemoveTaskResponse:
        await self.book.remove(request.name)
        return tasks_pb2.RemoveTaskResponse()

    @unary
    async def List(
        self, request: tasks_pb2.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.ListTasksResponse:
        return tasks_pb2.ListTasksResponse(tasks=[task_pb(v) for v in await self.book.list_tasks()])

    @unary
    async def SetEnabled(
        self, request: tasks_pb2.SetEnabledRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.Task:
        row = await self.book.update(request.name, enabled=request.enabled)
        return task_pb(await self.book.view(row))

    @unary
    async def RunNow(
        self, request: tasks_pb2.RunNowRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.RunNowResponse:
        row = await self.book.fire(request.name, trigger="manual")
        self.rt.turns.submit(row, interactive=False)
        return tasks_pb2.RunNowResponse(
            message_id=str(row["id"]), session_id=session_of(request.name)
        )

    @unary
    async def History(
        self, request: tasks_pb2.TaskHistoryRequest, context: grpc.aio.ServicerContext
    ) -> tasks_pb2.TaskHistoryResponse:
        await self.book.get(request.name)
        limit = request.limit or 20
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be between 1 and 1000")
        runs = await self.book.history(request.name, limit)
        return tasks_pb2.TaskHistoryResponse(runs=[tasks_pb2.TaskRun(**r) for r in runs])
