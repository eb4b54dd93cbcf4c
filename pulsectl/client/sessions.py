"""Session management calls of the client library (Chat.RemoveSession), as mixins of
the async core (``SessionCalls`` → ``AsyncPulseClient``) and of the sync client
(``SyncSessionCalls`` → ``PulseClient``); same names, arguments and results in both.
Listing, history and renames are in core.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulsectl.client.mixins import CoreLike, SyncLike

if TYPE_CHECKING:
    from pulse.v1 import chat_pb2


class SessionCalls:
    """Chat's session management on the async core."""

    async def remove_session(
        self: CoreLike, session_id: str, purge: bool = False
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
        self: SyncLike, session_id: str, purge: bool = False
    ) -> chat_pb2.RemoveSessionResponse:
        """Chat.RemoveSession."""
        return self._run(self._core.remove_session(session_id, purge))
