from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Task(_message.Message):
    __slots__ = ("name", "schedule", "prompt", "timezone", "enabled", "deliver_to", "version", "created_at", "updated_at", "next_run", "last_run", "last_status", "catch_up", "timeout_s", "preset", "created_by", "retired_at", "failures", "backoff_until", "running")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TO_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    RETIRED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_UNTIL_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    name: str
    schedule: str
    prompt: str
    timezone: str
    enabled: bool
    deliver_to: str
    version: int
    created_at: str
    updated_at: str
    next_run: str
    last_run: str
    last_status: str
    catch_up: bool
    timeout_s: float
    preset: str
    created_by: str
    retired_at: str
    failures: int
    backoff_until: str
    running: bool
    def __init__(self, name: _Optional[str] = ..., schedule: _Optional[str] = ..., prompt: _Optional[str] = ..., timezone: _Optional[str] = ..., enabled: _Optional[bool] = ..., deliver_to: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[str] = ..., updated_at: _Optional[str] = ..., next_run: _Optional[str] = ..., last_run: _Optional[str] = ..., last_status: _Optional[str] = ..., catch_up: _Optional[bool] = ..., timeout_s: _Optional[float] = ..., preset: _Optional[str] = ..., created_by: _Optional[str] = ..., retired_at: _Optional[str] = ..., failures: _Optional[int] = ..., backoff_until: _Optional[str] = ..., running: _Optional[bool] = ...) -> None: ...

class AddTaskRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class UpdateTaskRequest(_message.Message):
    __slots__ = ("name", "schedule", "prompt", "timezone", "deliver_to", "enabled", "catch_up", "timeout_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TO_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    schedule: str
    prompt: str
    timezone: str
    deliver_to: str
    enabled: bool
    catch_up: bool
    timeout_s: float
    def __init__(self, name: _Optional[str] = ..., schedule: _Optional[str] = ..., prompt: _Optional[str] = ..., timezone: _Optional[str] = ..., deliver_to: _Optional[str] = ..., enabled: _Optional[bool] = ..., catch_up: _Optional[bool] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class RemoveTaskRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RemoveTaskResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ...) -> None: ...

class SetEnabledRequest(_message.Message):
    __slots__ = ("name", "enabled")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    name: str
    enabled: bool
    def __init__(self, name: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class RunNowRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RunNowResponse(_message.Message):
    __slots__ = ("message_id", "session_id")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    session_id: str
    def __init__(self, message_id: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class TaskHistoryRequest(_message.Message):
    __slots__ = ("name", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    limit: int
    def __init__(self, name: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class TaskRun(_message.Message):
    __slots__ = ("message_id", "fired_at", "status", "duration_ms", "answer", "cost_usd", "trigger", "delivered_to", "error_code")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_TO_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    fired_at: str
    status: str
    duration_ms: float
    answer: str
    cost_usd: float
    trigger: str
    delivered_to: str
    error_code: str
    def __init__(self, message_id: _Optional[str] = ..., fired_at: _Optional[str] = ..., status: _Optional[str] = ..., duration_ms: _Optional[float] = ..., answer: _Optional[str] = ..., cost_usd: _Optional[float] = ..., trigger: _Optional[str] = ..., delivered_to: _Optional[str] = ..., error_code: _Optional[str] = ...) -> None: ...

class TaskHistoryResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[TaskRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[TaskRun, _Mapping]]] = ...) -> None: ...

class PreviewScheduleRequest(_message.Message):
    __slots__ = ("schedule", "timezone", "count")
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    schedule: str
    timezone: str
    count: int
    def __init__(self, schedule: _Optional[str] = ..., timezone: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class PreviewScheduleResponse(_message.Message):
    __slots__ = ("problem", "next_runs")
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUNS_FIELD_NUMBER: _ClassVar[int]
    problem: str
    next_runs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, problem: _Optional[str] = ..., next_runs: _Optional[_Iterable[str]] = ...) -> None: ...
