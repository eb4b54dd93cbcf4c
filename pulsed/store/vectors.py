"""Vector similarity of memories in Python: exact cosine over the current state, for
backends without a vector index of their own (and as the reference the others match)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pulsed.store.base import Row


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of one length (0 when either is all zeros)."""
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(math.fsum(x * x for x in a))
    nb = math.sqrt(math.fsum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def nearest(rows: Iterable[Row], vector: Sequence[float], limit: int) -> list[tuple[Row, float]]:
    """The current (not forgotten) memory ``rows`` with an embedding as long as
    ``vector``, most similar first, at most ``limit``, each with its cosine similarity."""
    out = []
    for r in rows:
        emb = r.get("embedding") or []
        if r.get("is_deleted") or len(emb) != len(vector):
            continue
        out.append((r, cosine(emb, vector)))
    out.sort(key=lambda p: (-p[1], -p[0].seq))
    return out[:limit]
