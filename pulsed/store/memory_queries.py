"""The memory stream's queries on the store contract, a mixin of ``base.Store``:
keyword search (``memory_search``) and vector search (``memory_nearest``) over the
current state of the memories (latest version per id, forgotten ones left out).

The public methods check their arguments for every backend, then call the protected
ones a backend may override: by default BM25 (``keyword``) and exact cosine
(``vectors``) in Python over ``_latest_by("memory", "id")``; the local store answers
keyword searches from its FTS5 index, Timeplus reads candidates with SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pulsed.errors import InvalidArgument
from pulsed.store import schema
from pulsed.store.schema import Stream

if TYPE_CHECKING:
    from pulsed.store.base import Row


class MemoryQueries:
    """Recall over the ``memory`` stream (see the module docstring)."""

    async def _latest_by(self, stream: Stream, key: str) -> list[Row]:
        raise NotImplementedError

    async def memory_search(self, terms: Sequence[str], limit: int = 50) -> list[tuple[Row, float]]:
        """Keyword search of the current memories: the latest version of each memory id
        that is not forgotten and contains any of ``terms`` (plain words; never query
        syntax), best first, at most ``limit`` (1..``MAX_LIMIT``), each with its keyword
        score (BM25, above 0, higher is better; comparable within one answer only).

        The local store answers from its FTS5 index, other backends by a token match
        over the stream's current state (``pulsed.store.keyword``).

        Raises:
            InvalidArgument: ``terms`` is not a sequence of strings, or a bad limit.
        """
        if isinstance(terms, str) or not all(isinstance(t, str) for t in terms):
            raise InvalidArgument("memory search terms must be a list of words")
        from pulsed.store.base import check_limit

        check_limit(limit)
        words = [t for t in terms if t.strip()]
        if not words:
            return []
        return await self._memory_search(words, limit)

    async def _memory_search(self, terms: list[str], limit: int) -> list[tuple[Row, float]]:
        """``memory_search`` with at least one non-blank term; by default BM25 in Python
        over ``latest_by("memory", "id")``."""
        from pulsed.store import keyword

        current = await self._latest_by(schema.MEMORY, "id")
        return keyword.rank(current, terms, limit)

    async def memory_nearest(
        self, vector: Sequence[float], limit: int = 50
    ) -> list[tuple[Row, float]]:
        """Vector search of the current memories: the latest version of each memory id
        that is not forgotten and has an embedding as long as ``vector``, most similar
        first, at most ``limit`` (1..``MAX_LIMIT``), each with its cosine similarity
        (-1..1). The local store compares in Python (exact), Timeplus with
        ``cosine_distance``.

        Raises:
            InvalidArgument: ``vector`` is empty or not numbers, or a bad limit.
        """
        if not vector or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in vector
        ):
            raise InvalidArgument("a memory vector search needs a non-empty list of numbers")
        from pulsed.store.base import check_limit

        check_limit(limit)
        return await self._memory_nearest([float(x) for x in vector], limit)

    async def _memory_nearest(self, vector: list[float], limit: int) -> list[tuple[Row, float]]:
        """``memory_nearest`` with a checked vector; by default exact cosine in Python over
        ``latest_by("memory", "id")``."""
        from pulsed.store import vectors

        current = await self._latest_by(schema.MEMORY, "id")
        return vectors.nearest(current, vector, limit)
