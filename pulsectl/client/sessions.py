"""Session management calls of the client library (Chat.RemoveSession), as mixins of
the async core (``SessionCalls`` → ``AsyncPulseClient``) and of the sync client
(``SyncSessionCalls`` → ``PulseClient``); same names, arguments and results in both.
Listing, history and renames are in core.py."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import grpc.aio
    from pulse.v1 import chat_pb2

    from pulsectl.client.core import AsyncPulseClient

T = TypeVar("T")


class _Core(Protocol):
    @property
    def channel(self) -> grpc.aio.Channel: ...

    async def _unary(self, method: Any, request: Any, timeout: float = 0) -> Any: ...


class _Sync(Protocol):
    _core: AsyncPulseClient

    def _run(self, coro: Coroutine[Any, Any, T]) -> T: ...


class SessionCalls:
    """Chat's session management on the async core."""

    async def remove_session(
        self: _Core, session_id: str, purge: bool = False
    ) -> chat_pb2.RemoveSessionResponse:
        """Chat.RemoveSession: hide a session from ListSessions; ``purge`` also deletes
        its rows (local backend; FAILED_PRECONDITION on Timeplus or while a turn of it
        runs; NOT_FOUND for an unknown session)."""
        from pulse.v1 import chat_pb2, chat_pb2_grpc

        stub = chat_pb2_grpc.ChatStub(self.channel)
        request = chat_pb2.RemoveSessionRequest(session_id=session_id, purge=purge)
        result: chat_pb2.RemoveSessionResponse = await self._unary(stub.RemoveSession, request)
        return result


class SyncSessionCalls:
    """Chat's session management on the sync client (see ``SessionCalls``)."""

    def remove_session(
        self: _Sync, session_id: str, purge: bool = False
    ) -> chat_pb2.RemoveSessionResponse:
        """Chat.RemoveSession."""
        return self._run(self._core.remove_session(session_id, purge))
