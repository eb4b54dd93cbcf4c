"""The local store's vectors of the current memories, held in memory for exact cosine
search (sqlite-vec cannot be loaded where Python's sqlite3 lacks extension loading, so
the store does not depend on it).

Vectors are kept unit-length in one numpy matrix per dimension (rows appended, a
replaced or forgotten memory's row masked out, the matrix compacted when half of it is
dead), so a search is one matrix-vector product: 100k × 384 floats in a few
milliseconds, where a Python loop takes seconds.

Loaded from the stream at the first vector search, then kept in step with appends:
``update`` applies each appended memory version (newer seqs win; a forget or a version
without an embedding drops the id). Versions appended while the load runs are buffered
and applied after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from pulsed.store.base import Row

Matrix = npt.NDArray[np.float32]


class _Block:
    """The unit vectors of one dimension: rows, their seqs and whether each is live."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.mat: Matrix = np.zeros((16, dim), dtype=np.float32)
        self.seq = np.zeros(16, dtype=np.int64)
        self.live = np.zeros(16, dtype=bool)
        self.n = 0
        self.dead = 0

    def add(self, unit: Matrix, seq: int) -> int:
        if self.n == len(self.seq):
            grow = len(self.seq) * 2
            self.mat = np.resize(self.mat, (grow, self.dim))
            self.seq = np.resize(self.seq, grow)
            self.live = np.resize(self.live, grow)
            self.live[self.n :] = False
        i = self.n
        self.mat[i], self.seq[i], self.live[i] = unit, seq, True
        self.n += 1
        return i

    def kill(self, i: int) -> None:
        if self.live[i]:
            self.live[i] = False
            self.dead += 1


class VectorCache:
    """id → its row of the current memories with an embedding; searched by cosine."""

    def __init__(self) -> None:
        self.loaded = False
        self.loading = False
        self._blocks: dict[int, _Block] = {}
        self._where: dict[str, tuple[int, int, int]] = {}
        """id → (dimension, row, seq)."""
        self._pending: list[Row] = []

    def begin_load(self) -> None:
        """A load starts: appends from now on are buffered until ``finish_load``."""
        self.loading = True
        self._pending = []

    def finish_load(self, current: Iterable[tuple[str, int, list[float]]]) -> None:
        """The load's (id, seq, vector) of current memories; buffered appends after."""
        self._blocks, self._where = {}, {}
        for mid, seq, vec in current:
            self._put(mid, seq, vec)
        self.loaded, self.loading = True, False
        pending, self._pending = self._pending, []
        self.update(pending)

    def _drop(self, mid: str) -> None:
        where = self._where.pop(mid, None)
        if where is not None:
            block = self._blocks[where[0]]
            block.kill(where[1])
            if block.dead > 1000 and block.dead * 2 > block.n:
                self._compact(block)

    def _compact(self, block: _Block) -> None:
        """Rebuild ``block`` from its live rows (the ids' row numbers change)."""
        keep = np.flatnonzero(block.live[: block.n])
        fresh = _Block(block.dim)
        old_to_new = {}
        for i in keep:
            old_to_new[int(i)] = fresh.add(block.mat[i], int(block.seq[i]))
        self._blocks[block.dim] = fresh
        for mid, (dim, row, seq) in list(self._where.items()):
            if dim == block.dim:
                self._where[mid] = (dim, old_to_new[row], seq)

    def _put(self, mid: str, seq: int, vec: Sequence[float]) -> None:
        self._drop(mid)
        v = np.asarray(vec, dtype=np.float32)
        norm = float(np.linalg.norm(v))
        if not norm or v.ndim != 1:
            return
        block = self._blocks.get(len(v))
        if block is None:
            block = self._blocks[len(v)] = _Block(len(v))
        self._where[mid] = (len(v), block.add(v / norm, seq), seq)

    def update(self, rows: Sequence[Row]) -> None:
        """Apply appended memory versions (in seq order)."""
        if self.loading:
            self._pending.extend(rows)
            return
        if not self.loaded:
            return
        for r in rows:
            mid = str(r["id"])
            have = self._where.get(mid)
            if have is not None and have[2] >= r.seq:
                continue
            emb = r["embedding"]
            if r["is_deleted"] or not emb:
                self._drop(mid)
            else:
                self._put(mid, r.seq, [float(x) for x in emb])

    def nearest(self, vector: Sequence[float], limit: int) -> list[tuple[int, float]]:
        """(seq, cosine similarity) of the ``limit`` most similar vectors as long as
        ``vector``, best first (ties: the newer first)."""
        q = np.asarray(vector, dtype=np.float32)
        qn = float(np.linalg.norm(q))
        block = self._blocks.get(len(q))
        if not qn or block is None or block.n == 0 or limit <= 0:
            return []
        scores = block.mat[: block.n] @ (q / qn)
        scores[~block.live[: block.n]] = -np.inf
        k = min(limit, block.n)
        top = np.argpartition(-scores, k - 1)[:k]
        found = [(int(block.seq[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]
        found.sort(key=lambda p: (-p[1], -p[0]))
        return found
