"""The local store's in-memory vector index (pure logic)."""

from __future__ import annotations

from pulsed.store.base import Row
from pulsed.store.local.memory_vectors import VectorCache


def _row(seq: int, mid: str, emb: list[float], deleted: bool = False) -> Row:
    return Row("memory", seq, {"id": mid, "embedding": emb, "is_deleted": deleted})


def test_nearest_follows_versions_forgets_and_dimensions() -> None:
    cache = VectorCache()
    cache.begin_load()
    cache.update([_row(5, "b", [0.0, 1.0])])  # arrives during the load: applied after
    cache.finish_load([("a", 1, [1.0, 0.0]), ("c", 2, [0.7, 0.7])])
    assert [s for s, _ in cache.nearest([1.0, 0.1], 3)] == [1, 2, 5]
    cache.update([_row(6, "a", [0.0, 1.0])])  # a new version of a replaces the old one
    assert [s for s, _ in cache.nearest([1.0, 0.0], 3)] == [2, 6, 5]
    cache.update([_row(3, "a", [1.0, 0.0])])  # an older version changes nothing
    assert cache.nearest([0.0, 1.0], 1)[0][0] == 6
    cache.update([_row(7, "c", [], deleted=True)])  # forgotten
    assert 2 not in [s for s, _ in cache.nearest([1.0, 1.0], 5)]
    cache.update([_row(8, "d", [1.0, 0.0, 0.0])])  # another dimension: its own block
    assert cache.nearest([1.0, 0.0, 0.0], 5) == [(8, 1.0)]
    assert cache.nearest([0.0, 0.0], 5) == []


def test_many_replacements_compact_the_matrix() -> None:
    cache = VectorCache()
    cache.finish_load([])
    for seq in range(1, 5001):
        cache.update([_row(seq, f"m{seq % 10}", [1.0, seq % 7 / 7])])
    got = cache.nearest([1.0, 0.0], 20)
    assert len(got) == 10  # ten ids are current, whatever was replaced
    assert {s for s, _ in got} == set(range(4991, 5001))
