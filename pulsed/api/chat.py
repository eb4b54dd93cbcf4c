"""Chat: send a message and stream its turn; approvals; cancel; sessions and history."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import grpc
from pulse.v1 import chat_pb2, chat_pb2_grpc

from pulsed.agent.events import TurnEvent
from pulsed.api.convert import row_pb, turn_event_pb
from pulsed.api.errors import server_stream, unary
from pulsed.errors import InvalidArgument
from pulsed.runtime import Runtime
from pulsed.store.base import make_filters
from pulsed.store.schema import MESSAGES

SESSION_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
CLIENT_SOURCES = {"pulsectl": "cli", "pulsetui": "tui"}


def new_session_id() -> str:
    """A fresh session id, ``s-`` and 12 hex digits."""
    return "s-" + uuid.uuid4().hex[:12]


def check_session_id(sid: str) -> str:
    """Raises InvalidArgument unless ``sid`` is 1-128 of [A-Za-z0-9._:@-]."""
    if not SESSION_ID.match(sid):
        raise InvalidArgument(
            f"invalid session id {sid[:80]!r}: use 1-128 letters, digits or . _ : @ -"
        )
    return sid


def client_source(context: grpc.aio.ServicerContext) -> str:
    """``cli``/``tui`` from the client's ``x-pulse-client`` metadata, else ``api``."""
    for key, value in context.invocation_metadata() or ():
        if key == "x-pulse-client":
            v = value if isinstance(value, str) else value.decode()
            return CLIENT_SOURCES.get(v, "api")
    return "api"


class ChatServicer(chat_pb2_grpc.ChatServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @server_stream
    async def Send(
        self, request: chat_pb2.SendRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[chat_pb2.TurnEvent]:
        text = request.text
        if not text.strip():
            raise InvalidArgument("the message is empty")
        limit = self.rt.cfg.agent.max_message_chars
        if len(text) > limit:
            raise InvalidArgument(
                f"the message is {len(text)} characters; "
                f"the limit is {limit} ([agent] max_message_chars)"
            )
        session = check_session_id(request.session_id) if request.session_id else new_session_id()
        source = client_source(context)
        row = (
            await self.rt.store.append(
                "messages",
                [
                    {
                        "source": source,
                        "target": "agent",
                        "session_id": session,
                        "message_type": "user_input",
                        "content": {"text": text},
                        "user_id": request.user_id or "local",
                    }
                ],
                durable=True,
            )
        )[0]
        behind = self.rt.turns.queued_behind(session)
        turn = self.rt.turns.submit(row, interactive=request.interactive)
        queue = self.rt.turns.listen(turn)
        try:
            yield turn_event_pb(
                TurnEvent("accepted", turn.id, session, {"seq": row.seq, "queued_behind": behind})
            )
            while True:
                ev = await queue.get()
                yield turn_event_pb(ev)
                if ev.terminal:
                    break
        finally:
            self.rt.turns.unlisten(turn, queue)

    @unary
    async def Approve(
        self, request: chat_pb2.ApproveRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.ApproveResponse:
        self.rt.deps.approvals.resolve(request.request_id, request.approved)
        return chat_pb2.ApproveResponse()

    @unary
    async def Cancel(
        self, request: chat_pb2.CancelRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.CancelResponse:
        if not request.turn_id:
            raise InvalidArgument("turn_id is required")
        return chat_pb2.CancelResponse(cancelled=await self.rt.turns.cancel(request.turn_id))

    @unary
    async def ListSessions(
        self, request: chat_pb2.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.ListSessionsResponse:
        limit = request.limit or 50
        if not 1 <= limit <= 10000:
            raise InvalidArgument("limit must be between 1 and 10000")
        sessions = await self.rt.store.sessions(limit)
        return chat_pb2.ListSessionsResponse(
            sessions=[
                chat_pb2.Session(
                    session_id=s.session_id,
                    message_count=s.message_count,
                    first_activity=s.first_activity,
                    last_activity=s.last_activity,
                    title=s.title if len(s.title) <= 80 else s.title[:79] + "…",
                )
                for s in sessions
            ]
        )

    @unary
    async def History(
        self, request: chat_pb2.HistoryRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.HistoryResponse:
        session = check_session_id(request.session_id)
        limit = request.limit or 200
        if not 1 <= limit <= 10000:
            raise InvalidArgument("limit must be between 1 and 10000")
        rows = await self.rt.store.query(
            "messages",
            make_filters(MESSAGES, [("session_id", "eq", session)]),
            order="desc",
            limit=limit,
        )
        rows.reverse()
        return chat_pb2.HistoryResponse(rows=[row_pb(r) for r in rows])
