"""Memory: search, list, add, edit, forget and show the agent's long-term memories."""

from __future__ import annotations

from pulse.v1 import memory_pb2, memory_pb2_grpc

from pulsed.agent.context import text_of
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import FailedPrecondition
from pulsed.memory.service import Memory, MemoryService
from pulsed.store.base import make_filters
from pulsed.store.schema import MESSAGES


def item_pb(m: Memory) -> memory_pb2.MemoryItem:
    """A memory as the API gives it."""
    return memory_pb2.MemoryItem(
        id=m.id,
        content=m.content,
        memory_type=m.memory_type,
        category=m.category,
        importance=m.importance,
        source_session_id=m.source_session_id,
        source_message_id=m.source_message_id,
        updated_at=m.updated_at,
        expires_at=m.expires_at,
        embedded=m.embedded,
    )


class MemoryServicer(memory_pb2_grpc.MemoryServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    @property
    def memory(self) -> MemoryService:
        if self.d.memory is None:
            raise FailedPrecondition("this daemon runs without memory")
        return self.d.memory

    @unary
    async def Search(
        self, request: memory_pb2.MemorySearchRequest, context: Context
    ) -> memory_pb2.MemorySearchResponse:
        hits = await self.memory.search(request.query, request.k)
        return memory_pb2.MemorySearchResponse(
            hits=[
                memory_pb2.MemoryHit(
                    memory=item_pb(h.memory),
                    score=h.score,
                    keyword=h.keyword,
                    vector=h.vector,
                    why=h.why,
                )
                for h in hits
            ]
        )

    @unary
    async def List(
        self, request: memory_pb2.MemoryListRequest, context: Context
    ) -> memory_pb2.MemoryListResponse:
        found = await self.memory.list_current(request.memory_type, request.category)
        return memory_pb2.MemoryListResponse(memories=[item_pb(m) for m in found])

    @unary
    async def Add(
        self, request: memory_pb2.MemoryAddRequest, context: Context
    ) -> memory_pb2.MemoryItem:
        m, _ = await self.memory.add(
            request.content,
            memory_type=request.memory_type or "note",
            category=request.category,
            importance=request.importance if request.HasField("importance") else 0.5,
        )
        return item_pb(m)

    @unary
    async def Update(
        self, request: memory_pb2.MemoryUpdateRequest, context: Context
    ) -> memory_pb2.MemoryItem:
        m = await self.memory.update(
            request.id,
            content=request.content if request.HasField("content") else None,
            memory_type=request.memory_type if request.HasField("memory_type") else None,
            category=request.category if request.HasField("category") else None,
            importance=request.importance if request.HasField("importance") else None,
        )
        return item_pb(m)

    @unary
    async def Forget(
        self, request: memory_pb2.MemoryForgetRequest, context: Context
    ) -> memory_pb2.MemoryItem:
        return item_pb(await self.memory.forget(request.id))

    @unary
    async def Show(
        self, request: memory_pb2.MemoryShowRequest, context: Context
    ) -> memory_pb2.MemoryShowResponse:
        m = await self.memory.get(request.id)
        versions = await self.memory.versions(request.id)
        out = memory_pb2.MemoryShowResponse(
            memory=item_pb(m),
            versions=[
                memory_pb2.MemoryVersion(
                    seq=v.seq,
                    timestamp=v.timestamp,
                    content=v.content,
                    memory_type=v.memory_type,
                    category=v.category,
                    importance=v.importance,
                )
                for v in versions
            ],
        )
        if m.source_message_id:
            filters = make_filters(MESSAGES, [("id", "eq", m.source_message_id)])
            found = await self.d.store.query("messages", filters, limit=1)
            if found:
                out.source_text = text_of(found[0])
                out.source_type = str(found[0]["message_type"])
        return out
