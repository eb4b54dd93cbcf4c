"""What the client library's service mixins need of the classes they are mixed into:
``CoreLike`` of ``AsyncPulseClient`` (its channel and unary call) and ``SyncLike`` of
``PulseClient`` (its async core and the loop runner). Types only."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import grpc.aio

    from pulsectl.client.core import AsyncPulseClient

T = TypeVar("T")


class CoreLike(Protocol):
    """The async core as its mixins see it."""

    @property
    def channel(self) -> grpc.aio.Channel: ...

    async def _unary(self, method: Any, request: Any, timeout: float = 0) -> Any: ...


class SyncLike(Protocol):
    """The sync client as its mixins see it."""

    _core: AsyncPulseClient

    def _run(self, coro: Coroutine[Any, Any, T]) -> T: ...
