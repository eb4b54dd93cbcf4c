"""The local store's vectors of the current memories, held in memory for exact cosine
search (sqlite-vec cannot be loaded where Python's sqlite3 lacks extension loading, so
the store does not depend on it).

Loaded from the stream at the first vector search, then kept in step with appends:
``update`` applies each appended memory version (newer seqs win; a forget or a version
without an embedding drops the id). Versions appended while the load runs are buffered
and applied after it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

from pulsed.store.base import Row


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(map(operator.mul, a, b)))


class VectorCache:
    """id → (seq, vector, norm) of every current memory with an embedding."""

    def __init__(self) -> None:
        self.loaded = False
        self.loading = False
        self._items: dict[str, tuple[int, list[float], float]] = {}
        self._pending: list[Row] = []

    def begin_load(self) -> None:
        """A load starts: appends from now on are buffered until ``finish_load``."""
        self.loading = True
        self._pending = []

    def finish_load(self, current: Iterable[tuple[str, int, list[float]]]) -> None:
        """The load's (id, seq, vector) of current memories; buffered appends after."""
        self._items = {}
        for mid, seq, vec in current:
            self._put(mid, seq, vec)
        self.loaded, self.loading = True, False
        pending, self._pending = self._pending, []
        self.update(pending)

    def _put(self, mid: str, seq: int, vec: list[float]) -> None:
        norm = math.sqrt(_dot(vec, vec))
        if norm:
            self._items[mid] = (seq, vec, norm)
        else:
            self._items.pop(mid, None)

    def update(self, rows: Sequence[Row]) -> None:
        """Apply appended memory versions (in seq order)."""
        if self.loading:
            self._pending.extend(rows)
            return
        if not self.loaded:
            return
        for r in rows:
            mid = str(r["id"])
            have = self._items.get(mid)
            if have is not None and have[0] >= r.seq:
                continue
            emb = r["embedding"]
            if r["is_deleted"] or not emb:
                self._items.pop(mid, None)
            else:
                self._put(mid, r.seq, [float(x) for x in emb])

    def nearest(self, vector: Sequence[float], limit: int) -> list[tuple[int, float]]:
        """(seq, cosine similarity) of the ``limit`` most similar vectors as long as
        ``vector``, best first."""
        qn = math.sqrt(_dot(vector, vector))
        if not qn:
            return []
        n = len(vector)
        scored = [
            (seq, _dot(vec, vector) / (norm * qn))
            for seq, vec, norm in self._items.values()
            if len(vec) == n
        ]
        scored.sort(key=lambda p: (-p[1], -p[0]))
        return scored[:limit]
