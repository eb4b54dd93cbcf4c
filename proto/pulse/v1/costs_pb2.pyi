from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CostSummaryRequest(_message.Message):
    __slots__ = ("since_ms", "until_ms", "by")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    BY_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    until_ms: int
    by: str
    def __init__(self, since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., by: _Optional[str] = ...) -> None: ...

class CostBucket(_message.Message):
    __slots__ = ("key", "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "avg_latency_ms")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    AVG_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    key: str
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    avg_latency_ms: float
    def __init__(self, key: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cache_read_tokens: _Optional[int] = ..., cache_write_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., avg_latency_ms: _Optional[float] = ...) -> None: ...

class CostSummaryResponse(_message.Message):
    __slots__ = ("total", "buckets", "budget_daily_usd", "spent_today_usd")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_DAILY_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_TODAY_USD_FIELD_NUMBER: _ClassVar[int]
    total: CostBucket
    buckets: _containers.RepeatedCompositeFieldContainer[CostBucket]
    budget_daily_usd: float
    spent_today_usd: float
    def __init__(self, total: _Optional[_Union[CostBucket, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[CostBucket, _Mapping]]] = ..., budget_daily_usd: _Optional[float] = ..., spent_today_usd: _Optional[float] = ...) -> None: ...
