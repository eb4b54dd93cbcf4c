"""The Memory service's methods of the client library, as mixins of the async core
(``MemoryMethods`` → ``AsyncPulseClient``) and of the sync client (``SyncMemoryMethods``
→ ``PulseClient``). Same names, arguments and results in both; ``pulse.v1.memory_pb2``
is imported on first use (most runs of pulsectl never need it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pulsectl.client.mixins import CoreLike, SyncLike

if TYPE_CHECKING:
    from pulse.v1 import memory_pb2, memory_pb2_grpc


def _stub(core: CoreLike) -> memory_pb2_grpc.MemoryAsyncStub:
    from pulse.v1 import memory_pb2_grpc

    return memory_pb2_grpc.MemoryStub(core.channel)


class MemoryMethods:
    """Memory.* on the async core."""

    async def memory_search(
        self: CoreLike, query: str, k: int = 0
    ) -> memory_pb2.MemorySearchResponse:
        """Memory.Search: memories relevant to ``query``, best first, with scores and
        why they matched (``k`` 0: the daemon's recall_k)."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemorySearchRequest(query=query, k=k)
        result: memory_pb2.MemorySearchResponse = await self._unary(_stub(self).Search, request)
        return result

    async def memory_list(
        self: CoreLike, memory_type: str = "", category: str = ""
    ) -> memory_pb2.MemoryListResponse:
        """Memory.List: the current memories, newest change first, optionally of one
        type and category."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemoryListRequest(memory_type=memory_type, category=category)
        result: memory_pb2.MemoryListResponse = await self._unary(_stub(self).List, request)
        return result

    async def memory_add(
        self: CoreLike,
        content: str,
        *,
        memory_type: str = "",
        category: str = "",
        importance: float | None = None,
    ) -> memory_pb2.MemoryItem:
        """Memory.Add: keep a new memory (type '' = note, importance None = 0.5)."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemoryAddRequest(
            content=content, memory_type=memory_type, category=category
        )
        if importance is not None:
            request.importance = importance
        result: memory_pb2.MemoryItem = await self._unary(_stub(self).Add, request)
        return result

    async def memory_update(
        self: CoreLike,
        memory_id: str,
        *,
        content: str | None = None,
        memory_type: str | None = None,
        category: str | None = None,
        importance: float | None = None,
    ) -> memory_pb2.MemoryItem:
        """Memory.Update: a new version with the given fields changed (None: as is)."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemoryUpdateRequest(id=memory_id)
        if content is not None:
            request.content = content
        if memory_type is not None:
            request.memory_type = memory_type
        if category is not None:
            request.category = category
        if importance is not None:
            request.importance = importance
        result: memory_pb2.MemoryItem = await self._unary(_stub(self).Update, request)
        return result

    async def memory_forget(self: CoreLike, memory_id: str) -> memory_pb2.MemoryItem:
        """Memory.Forget: it is never shown or recalled again; returns what it was."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemoryForgetRequest(id=memory_id)
        result: memory_pb2.MemoryItem = await self._unary(_stub(self).Forget, request)
        return result

    async def memory_show(self: CoreLike, memory_id: str) -> memory_pb2.MemoryShowResponse:
        """Memory.Show: the memory, its versions (oldest first) and its source message."""
        from pulse.v1 import memory_pb2

        request = memory_pb2.MemoryShowRequest(id=memory_id)
        result: memory_pb2.MemoryShowResponse = await self._unary(_stub(self).Show, request)
        return result


class SyncMemoryMethods:
    """Memory.* on the sync client (see ``MemoryMethods``)."""

    def memory_search(self: SyncLike, query: str, k: int = 0) -> memory_pb2.MemorySearchResponse:
        """Memory.Search."""
        return self._run(self._core.memory_search(query, k))

    def memory_list(
        self: SyncLike, memory_type: str = "", category: str = ""
    ) -> memory_pb2.MemoryListResponse:
        """Memory.List."""
        return self._run(self._core.memory_list(memory_type, category))

    def memory_add(
        self: SyncLike,
        content: str,
        *,
        memory_type: str = "",
        category: str = "",
        importance: float | None = None,
    ) -> memory_pb2.MemoryItem:
        """Memory.Add."""
        return self._run(
            self._core.memory_add(
                content, memory_type=memory_type, category=category, importance=importance
            )
        )

    def memory_update(
        self: SyncLike,
        memory_id: str,
        *,
        content: str | None = None,
        memory_type: str | None = None,
        category: str | None = None,
        importance: float | None = None,
    ) -> memory_pb2.MemoryItem:
        """Memory.Update."""
        return self._run(
            self._core.memory_update(
                memory_id,
                content=content,
                memory_type=memory_type,
                category=category,
                importance=importance,
            )
        )

    def memory_forget(self: SyncLike, memory_id: str) -> memory_pb2.MemoryItem:
        """Memory.Forget."""
        return self._run(self._core.memory_forget(memory_id))

    def memory_show(self: SyncLike, memory_id: str) -> memory_pb2.MemoryShowResponse:
        """Memory.Show."""
        return self._run(self._core.memory_show(memory_id))
