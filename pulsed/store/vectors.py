"""Vector similarity of memories in Python: exact cosine over the current state, for
backends without a vector index of their own (and as the reference the others match)."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

from pulsed.store.base import Row


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(map(operator.mul, a, b)))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of one length (0 when either is all zeros)."""
    na, nb = math.sqrt(_dot(a, a)), math.sqrt(_dot(b, b))
    return _dot(a, b) / (na * nb) if na and nb else 0.0


def nearest(rows: Iterable[Row], vector: Sequence[float], limit: int) -> list[tuple[Row, float]]:
    """The current (not forgotten) memory ``rows`` with an embedding as long as
    ``vector``, most similar first, at most ``limit``, each with its cosine similarity."""
    qn = math.sqrt(_dot(vector, vector))
    out = []
    for r in rows:
        emb = r.get("embedding") or []
        if r.get("is_deleted") or len(emb) != len(vector):
            continue
        en = math.sqrt(_dot(emb, emb))
        out.append((r, _dot(emb, vector) / (en * qn) if en and qn else 0.0))
    out.sort(key=lambda p: (-p[1], -p[0].seq))
    return out[:limit]
