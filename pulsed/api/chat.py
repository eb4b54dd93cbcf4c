"""Chat: send a message and stream its turn; approvals; cancel; sessions and history."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

from pulse.v1 import chat_pb2, chat_pb2_grpc

from pulsed.agent.compaction import compact
from pulsed.agent.inspect import context_report
from pulsed.agent.intake import TurnInput
from pulsed.api import sessions
from pulsed.api.convert import row_pb, turn_event_pb
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context as GrpcContext
from pulsed.api.errors import server_stream, unary
from pulsed.errors import FailedPrecondition, InvalidArgument, NotFound
from pulsed.providers import pricing, registry
from pulsed.providers.pool import parse_model
from pulsed.store import rows
from pulsed.store.base import Row, make_filters
from pulsed.store.schema import MESSAGES

SESSION_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
CLIENT_SOURCES = {"pulsectl": "cli", "pulsetui": "tui"}
TITLE_MAX = 200


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


def client_source(context: GrpcContext) -> str:
    """``cli``/``tui`` from the client's ``x-pulse-client`` metadata, else ``api``."""
    for key, value in context.invocation_metadata() or ():
        if key == "x-pulse-client":
            v = value if isinstance(value, str) else value.decode()
            return CLIENT_SOURCES.get(v, "api")
    return "api"


class ChatServicer(chat_pb2_grpc.ChatServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    @server_stream
    async def Send(
        self, request: chat_pb2.SendRequest, context: GrpcContext
    ) -> AsyncIterator[chat_pb2.TurnEvent]:
        text = request.text
        if not text.strip():
            raise InvalidArgument("the message is empty")
        limit = self.d.cfg.agent.max_message_chars
        if len(text) > limit:
            raise InvalidArgument(
                f"the message is {len(text)} characters; "
                f"the limit is {limit} ([agent] max_message_chars)"
            )
        session = check_session_id(request.session_id) if request.session_id else new_session_id()
        if request.model.strip():
            await self._set_model(session, request.model)
        handle = await self.d.turns.start(
            TurnInput(
                source=client_source(context),
                session_id=session,
                text=text,
                user_id=request.user_id or "local",
                interactive=request.interactive,
            )
        )
        async with handle.events() as events:
            async for ev in events:
                yield turn_event_pb(ev)

    @unary
    async def Approve(
        self, request: chat_pb2.ApproveRequest, context: GrpcContext
    ) -> chat_pb2.ApproveResponse:
        decision = "session" if request.for_session else ("once" if request.approved else "deny")
        self.d.approvals.resolve(request.request_id, decision)
        return chat_pb2.ApproveResponse()

    @unary
    async def Cancel(
        self, request: chat_pb2.CancelRequest, context: GrpcContext
    ) -> chat_pb2.CancelResponse:
        if not request.turn_id:
            raise InvalidArgument("turn_id is required")
        return chat_pb2.CancelResponse(cancelled=await self.d.turns.cancel(request.turn_id))

    @unary
    async def ListSessions(
        self, request: chat_pb2.ListSessionsRequest, context: GrpcContext
    ) -> chat_pb2.ListSessionsResponse:
        limit = request.limit or 50
        if not 1 <= limit <= 10000:
            raise InvalidArgument("limit must be between 1 and 10000")
        found = await sessions.list_sessions(self.d, limit, request.include_removed)
        return chat_pb2.ListSessionsResponse(sessions=found)

    @unary
    async def RemoveSession(
        self, request: chat_pb2.RemoveSessionRequest, context: GrpcContext
    ) -> chat_pb2.RemoveSessionResponse:
        """Hide a session from ListSessions; with ``purge`` delete its rows too (see
        ``sessions.remove_session``, which raises NotFound and FailedPrecondition)."""
        session = check_session_id(request.session_id)
        return await sessions.remove_session(self.d, session, request.purge, client_source(context))

    async def _set_model(self, session: str, spec: str) -> tuple[str, str, str]:
        """Record ``spec`` as the session's model; (provider, model, warning).

        Raises:
            InvalidArgument: the spec is too long or has no model.
            FailedPrecondition: its provider is not usable (no key, no base_url).
        """
        spec = spec.strip()
        if len(spec) > 200:
            raise InvalidArgument("the model is longer than 200 characters")
        warning = ""
        provider, model = "", ""
        if spec:
            provider, model = parse_model(self.d.cfg, spec)
            if not model:
                raise InvalidArgument(f"{spec!r} names no model; use [PROVIDER:]MODEL")
            problem = registry.provider_problem(self.d.cfg, provider, model=model)
            if problem:
                raise FailedPrecondition(problem)
            if not pricing.is_known(provider, model):
                warning = (
                    f"{provider}:{model} is not in the pricing table: it is priced at the "
                    "dearest known rates, so budgets err on the safe side"
                )
        await self.d.turns.session_models.set(session, f"{provider}:{model}" if spec else "")
        return provider, model, warning

    @unary
    async def SetSessionModel(
        self, request: chat_pb2.SetSessionModelRequest, context: GrpcContext
    ) -> chat_pb2.SetSessionModelResponse:
        session = check_session_id(request.session_id)
        provider, model, warning = await self._set_model(session, request.model)
        if not request.model.strip():
            provider, model = self.d.turns.deps.providers.chain()[0]
        return chat_pb2.SetSessionModelResponse(
            session_id=session, provider=provider, model=model, warning=warning
        )

    @unary
    async def Context(
        self, request: chat_pb2.ContextRequest, context: GrpcContext
    ) -> chat_pb2.ContextResponse:
        session = check_session_id(request.session_id)
        model = await self.d.turns.session_models.get(session)
        r = await context_report(self.d.turns.deps, session, model, request.text)
        return chat_pb2.ContextResponse(
            session_id=r.session_id,
            provider=r.provider,
            model=r.model,
            price_known=r.price_known,
            window_tokens=r.window_tokens,
            window_source=r.window_source,
            compact_at_tokens=r.compact_at_tokens,
            chars_per_token=r.chars_per_token,
            calibrated=r.calibrated,
            parts=[
                chat_pb2.ContextPart(
                    kind=p.kind, name=p.name, tokens=p.tokens, usd=p.usd, detail=p.detail
                )
                for p in r.parts
            ],
            total_tokens=r.total_tokens,
            total_usd=r.total_usd,
        )

    @unary
    async def Compact(
        self, request: chat_pb2.CompactRequest, context: GrpcContext
    ) -> chat_pb2.CompactResponse:
        session = check_session_id(request.session_id)
        if self.d.turns.session_busy(session):
            raise FailedPrecondition(
                f"a turn of session {session} is running; compact it when the turn ends"
            )
        filters = make_filters(MESSAGES, [("session_id", "eq", session)])
        latest = await self.d.store.query("messages", filters, order="desc", limit=1)
        if not latest:
            raise NotFound(f"no session {session!r}")
        end = Row("messages", latest[0].seq + 1, {"session_id": session})
        model = await self.d.turns.session_models.get(session)
        row = await compact(
            self.d.turns.deps,
            session,
            before=end,
            model_spec=model,
            instructions=request.instructions[:2000],
        )
        if row is None:
            return chat_pb2.CompactResponse()
        content = row["content"]
        return chat_pb2.CompactResponse(
            summary_id=str(row["id"]),
            covered_messages=int(content.get("covered_messages") or 0),
            text=str(content.get("text") or ""),
        )

    @unary
    async def RenameSession(
        self, request: chat_pb2.RenameSessionRequest, context: GrpcContext
    ) -> chat_pb2.RenameSessionResponse:
        """Store a title for a session as a ``session_renamed`` events row.

        Raises:
            InvalidArgument: bad session id, or a title longer than 200 characters or on
                more than one line.
            NotFound: the session has no messages.
        """
        session = check_session_id(request.session_id)
        title = request.title.strip()
        if "\n" in title or "\r" in title:
            raise InvalidArgument("a session title is one line; remove the line breaks")
        if len(title) > TITLE_MAX:
            raise InvalidArgument(f"the title is {len(title)} characters; the limit is {TITLE_MAX}")
        seen = await self.d.store.query(
            "messages", make_filters(MESSAGES, [("session_id", "eq", session)]), limit=1
        )
        if not seen:
            raise NotFound(f"no session {session!r}; list them with `pulsectl sessions list`")
        await self.d.store.append(
            "events",
            [
                rows.event(
                    sessions.RENAMED,
                    source=client_source(context),
                    payload={"session_id": session, "title": title},
                    tags=["session"],
                )
            ],
            durable=True,
        )
        if not title:
            first = await self.d.store.query(
                "messages",
                make_filters(
                    MESSAGES,
                    [("session_id", "eq", session), ("message_type", "eq", "user_input")],
                ),
                order="asc",
                limit=1,
            )
            content = first[0].get("content") if first else None
            text = content.get("text") if isinstance(content, dict) else None
            title = text if isinstance(text, str) else ""
        return chat_pb2.RenameSessionResponse(session_id=session, title=title)

    @unary
    async def History(
        self, request: chat_pb2.HistoryRequest, context: GrpcContext
    ) -> chat_pb2.HistoryResponse:
        session = check_session_id(request.session_id)
        limit = request.limit or 200
        if not 1 <= limit <= 10000:
            raise InvalidArgument("limit must be between 1 and 10000")
        found = await self.d.store.query(
            "messages",
            make_filters(MESSAGES, [("session_id", "eq", session)]),
            order="desc",
            limit=limit,
        )
        found.reverse()
        return chat_pb2.HistoryResponse(rows=[row_pb(r) for r in found])
