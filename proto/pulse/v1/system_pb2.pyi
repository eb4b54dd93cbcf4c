from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("version", "pid", "uptime_s", "socket", "data_dir", "config_path", "store_backend", "store_health", "schema_version", "provider", "model", "provider_problem", "active_turns", "queued_turns", "spent_today_usd", "budget_daily_usd", "agent_name", "channels")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    SOCKET_FIELD_NUMBER: _ClassVar[int]
    DATA_DIR_FIELD_NUMBER: _ClassVar[int]
    CONFIG_PATH_FIELD_NUMBER: _ClassVar[int]
    STORE_BACKEND_FIELD_NUMBER: _ClassVar[int]
    STORE_HEALTH_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_PROBLEM_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TURNS_FIELD_NUMBER: _ClassVar[int]
    QUEUED_TURNS_FIELD_NUMBER: _ClassVar[int]
    SPENT_TODAY_USD_FIELD_NUMBER: _ClassVar[int]
    BUDGET_DAILY_USD_FIELD_NUMBER: _ClassVar[int]
    AGENT_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    version: str
    pid: int
    uptime_s: float
    socket: str
    data_dir: str
    config_path: str
    store_backend: str
    store_health: str
    schema_version: int
    provider: str
    model: str
    provider_problem: str
    active_turns: int
    queued_turns: int
    spent_today_usd: float
    budget_daily_usd: float
    agent_name: str
    channels: _containers.RepeatedCompositeFieldContainer[ChannelSummary]
    def __init__(self, version: _Optional[str] = ..., pid: _Optional[int] = ..., uptime_s: _Optional[float] = ..., socket: _Optional[str] = ..., data_dir: _Optional[str] = ..., config_path: _Optional[str] = ..., store_backend: _Optional[str] = ..., store_health: _Optional[str] = ..., schema_version: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., provider_problem: _Optional[str] = ..., active_turns: _Optional[int] = ..., queued_turns: _Optional[int] = ..., spent_today_usd: _Optional[float] = ..., budget_daily_usd: _Optional[float] = ..., agent_name: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[ChannelSummary, _Mapping]]] = ...) -> None: ...

class ChannelSummary(_message.Message):
    __slots__ = ("name", "state", "pending_outbox", "failed_deliveries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PENDING_OUTBOX_FIELD_NUMBER: _ClassVar[int]
    FAILED_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    pending_outbox: int
    failed_deliveries: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., pending_outbox: _Optional[int] = ..., failed_deliveries: _Optional[int] = ...) -> None: ...
