from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StoreStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamRows(_message.Message):
    __slots__ = ("name", "rows", "location")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    rows: int
    location: str
    def __init__(self, name: _Optional[str] = ..., rows: _Optional[int] = ..., location: _Optional[str] = ...) -> None: ...

class StoreStatusResponse(_message.Message):
    __slots__ = ("backend", "health", "location", "schema_version", "expected_schema_version", "spooled_rows", "streams", "counts_problem")
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SPOOLED_ROWS_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_PROBLEM_FIELD_NUMBER: _ClassVar[int]
    backend: str
    health: str
    location: str
    schema_version: int
    expected_schema_version: int
    spooled_rows: int
    streams: _containers.RepeatedCompositeFieldContainer[StreamRows]
    counts_problem: str
    def __init__(self, backend: _Optional[str] = ..., health: _Optional[str] = ..., location: _Optional[str] = ..., schema_version: _Optional[int] = ..., expected_schema_version: _Optional[int] = ..., spooled_rows: _Optional[int] = ..., streams: _Optional[_Iterable[_Union[StreamRows, _Mapping]]] = ..., counts_problem: _Optional[str] = ...) -> None: ...

class StoreInitRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StoreInitResponse(_message.Message):
    __slots__ = ("location", "schema_version", "statements")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    location: str
    schema_version: int
    statements: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, location: _Optional[str] = ..., schema_version: _Optional[int] = ..., statements: _Optional[_Iterable[str]] = ...) -> None: ...

class StoreMigrateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StoreMigrateResponse(_message.Message):
    __slots__ = ("location", "from_version", "to_version", "statements")
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    location: str
    from_version: int
    to_version: int
    statements: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, location: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., statements: _Optional[_Iterable[str]] = ...) -> None: ...

class StoreCopyRequest(_message.Message):
    __slots__ = ("to", "streams", "batch_size")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    to: str
    streams: _containers.RepeatedScalarFieldContainer[str]
    batch_size: int
    def __init__(self, to: _Optional[str] = ..., streams: _Optional[_Iterable[str]] = ..., batch_size: _Optional[int] = ..., **kwargs) -> None: ...

class StoreCopyProgress(_message.Message):
    __slots__ = ("stream", "total", "done", "copied", "skipped", "finished")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    COPIED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    stream: str
    total: int
    done: int
    copied: int
    skipped: int
    finished: bool
    def __init__(self, stream: _Optional[str] = ..., total: _Optional[int] = ..., done: _Optional[int] = ..., copied: _Optional[int] = ..., skipped: _Optional[int] = ..., finished: _Optional[bool] = ...) -> None: ...

class SqlRequest(_message.Message):
    __slots__ = ("sql", "max_rows")
    SQL_FIELD_NUMBER: _ClassVar[int]
    MAX_ROWS_FIELD_NUMBER: _ClassVar[int]
    sql: str
    max_rows: int
    def __init__(self, sql: _Optional[str] = ..., max_rows: _Optional[int] = ...) -> None: ...

class SqlResponse(_message.Message):
    __slots__ = ("columns", "types", "rows")
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    columns: _containers.RepeatedScalarFieldContainer[str]
    types: _containers.RepeatedScalarFieldContainer[str]
    rows: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, columns: _Optional[_Iterable[str]] = ..., types: _Optional[_Iterable[str]] = ..., rows: _Optional[_Iterable[str]] = ...) -> None: ...
