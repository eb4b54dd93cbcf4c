"""The memory stream through the store contract, on every backend: versions per id,
current state, keyword search over the current state only (edits and forgets included),
and query text that can never be search syntax."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pulsed.errors import InvalidArgument
from pulsed.store import rows
from pulsed.store.base import Store
from pulsed.store.local import LocalStore
from pulsed.store.local.memory_index import FTS_TABLE


def mem(id: str, content: str, **kw: object) -> dict[str, object]:
    return rows.memory_version(id=id, content=content, **kw)  # type: ignore[arg-type]


async def ids(store: Store, *terms: str) -> list[str]:
    return [r["id"] for r, _ in await store.memory_search(list(terms))]


async def test_search_finds_current_versions_only(store: Store) -> None:
    await store.append(
        "memory",
        [
            mem("m1", "My dog is called Rex", memory_type="fact"),
            mem("m2", "I prefer tea over coffee", memory_type="preference"),
            mem("m3", "The dentist appointment is in March"),
        ],
    )
    assert await ids(store, "dog") == ["m1"]
    assert await ids(store, "coffee", "dentist") in (["m2", "m3"], ["m3", "m2"])
    assert await ids(store, "giraffe") == []

    await store.append("memory", [mem("m1", "My cat is called Tom", memory_type="fact")])
    assert await ids(store, "dog") == []
    assert await ids(store, "cat") == ["m1"]

    await store.append("memory", [mem("m2", "", is_deleted=True)])
    assert await ids(store, "coffee") == []
    current = {r["id"]: r for r in await store.latest_by("memory", "id")}
    assert current["m2"]["is_deleted"] and current["m2"]["content"] == ""
    assert current["m1"]["content"] == "My cat is called Tom"
    versions = await store.query("memory", order="asc")
    assert [r["id"] for r in versions] == ["m1", "m2", "m3", "m1", "m2"]


async def test_several_versions_of_one_id_in_one_batch(store: Store) -> None:
    await store.append(
        "memory", [mem("a", "first text about apples"), mem("a", "second text about pears")]
    )
    assert await ids(store, "apples") == []
    assert await ids(store, "pears") == ["a"]


async def test_better_matches_rank_first(store: Store) -> None:
    await store.append(
        "memory",
        [
            mem("x", "Rex likes long walks in the park"),
            mem("y", "My dog Rex is a beagle; Rex the dog"),
            mem("z", "Something about parks"),
        ],
    )
    found = await store.memory_search(["dog", "rex"])
    assert [r["id"] for r, _ in found][:2] == ["y", "x"]
    assert all(score > 0 for _, score in found)
    assert found[0][1] >= found[1][1]


@pytest.mark.parametrize(
    "text",
    ['"', "dog*", "NEAR(dog rex)", "dog OR", "-dog", "content:dog", "^dog", "AND", "'; DROP"],
)
async def test_user_text_is_never_search_syntax(store: Store, text: str) -> None:
    await store.append("memory", [mem("m1", "my dog is called Rex")])
    found = await store.memory_search([text])
    assert all(r["id"] == "m1" for r, _ in found)


async def test_bad_terms(store: Store) -> None:
    with pytest.raises(InvalidArgument):
        await store.memory_search("dog")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        await store.memory_search(["dog"], limit=0)
    assert await store.memory_search(["", "  "]) == []


async def test_local_index_is_rebuilt_when_missing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    s = LocalStore(data)
    await s.open()
    await s.append("memory", [mem("a", "alpha bravo"), mem("b", "charlie delta")])
    await s.append("memory", [mem("a", "echo foxtrot"), mem("b", "", is_deleted=True)])
    await s.close()
    conn = sqlite3.connect(data / "pulse.db")
    conn.execute(f"DROP TABLE {FTS_TABLE}")
    conn.close()
    s = LocalStore(data)
    await s.open()
    try:
        assert await ids(s, "echo") == ["a"]
        assert await ids(s, "alpha") == []
        assert await ids(s, "charlie") == []
    finally:
        await s.close()


async def test_store_nearest(store: Store) -> None:
    await store.append(
        "memory",
        [
            rows.memory_version(id="a", content="a", embedding=[1.0, 0.0, 0.0]),
            rows.memory_version(id="b", content="b", embedding=[0.6, 0.8, 0.0]),
            rows.memory_version(id="c", content="c"),
            rows.memory_version(id="d", content="d", embedding=[1.0, 0.0]),
        ],
    )
    found = await store.memory_nearest([1.0, 0.1, 0.0], 10)
    assert [r["id"] for r, _ in found] == ["a", "b"]
    assert found[0][1] == pytest.approx(0.995, abs=0.001)
    await store.append("memory", [rows.memory_version(id="a", content="", is_deleted=True)])
    assert [r["id"] for r, _ in await store.memory_nearest([1.0, 0.1, 0.0], 10)] == ["b"]
    with pytest.raises(InvalidArgument):
        await store.memory_nearest([], 5)
