from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListChannelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ...) -> None: ...

class ChannelStatusRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ChannelStatusResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ...) -> None: ...

class FailedDelivery(_message.Message):
    __slots__ = ("message_id", "target", "error", "at", "attempts")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    target: str
    error: str
    at: str
    attempts: int
    def __init__(self, message_id: _Optional[str] = ..., target: _Optional[str] = ..., error: _Optional[str] = ..., at: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class ChannelInfo(_message.Message):
    __slots__ = ("name", "enabled", "state", "identity", "last_error", "last_error_at", "connected_since", "last_inbound_at", "pending_outbox", "delivered", "failed_deliveries", "restarts", "allowed_users", "paired_users", "pending_pairings", "failures")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_AT_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_SINCE_FIELD_NUMBER: _ClassVar[int]
    LAST_INBOUND_AT_FIELD_NUMBER: _ClassVar[int]
    PENDING_OUTBOX_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    FAILED_DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_USERS_FIELD_NUMBER: _ClassVar[int]
    PAIRED_USERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_PAIRINGS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    name: str
    enabled: bool
    state: str
    identity: str
    last_error: str
    last_error_at: str
    connected_since: str
    last_inbound_at: str
    pending_outbox: int
    delivered: int
    failed_deliveries: int
    restarts: int
    allowed_users: int
    paired_users: int
    pending_pairings: int
    failures: _containers.RepeatedCompositeFieldContainer[FailedDelivery]
    def __init__(self, name: _Optional[str] = ..., enabled: _Optional[bool] = ..., state: _Optional[str] = ..., identity: _Optional[str] = ..., last_error: _Optional[str] = ..., last_error_at: _Optional[str] = ..., connected_since: _Optional[str] = ..., last_inbound_at: _Optional[str] = ..., pending_outbox: _Optional[int] = ..., delivered: _Optional[int] = ..., failed_deliveries: _Optional[int] = ..., restarts: _Optional[int] = ..., allowed_users: _Optional[int] = ..., paired_users: _Optional[int] = ..., pending_pairings: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[FailedDelivery, _Mapping]]] = ...) -> None: ...

class ApprovePairingRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class ApprovePairingResponse(_message.Message):
    __slots__ = ("channel", "user_id", "user_name", "chat")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    channel: str
    user_id: str
    user_name: str
    chat: str
    def __init__(self, channel: _Optional[str] = ..., user_id: _Optional[str] = ..., user_name: _Optional[str] = ..., chat: _Optional[str] = ...) -> None: ...
