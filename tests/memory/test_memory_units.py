"""Pure logic of memory: query terms, ranking weights and fusion, the secret guard,
the extraction answer's parsing and what counts as a trivial turn; and the service on a
real local store (relevance floor, recall caps, duplicates, expiry)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pulsed.config.memory import MemoryConfig
from pulsed.errors import InvalidArgument, NotFound
from pulsed.memory import capture, ranking
from pulsed.memory.guard import secret_reason
from pulsed.memory.service import MemoryService
from pulsed.store import keyword
from pulsed.store.local import LocalStore


def test_query_terms_drop_stop_words() -> None:
    assert ranking.query_terms("What's my dog's name?") == ["dog", "name"]
    assert ranking.query_terms("the a of") == []
    assert ranking.query_terms("Rex REX rex 42") == ["rex", "42"]


def test_weigh_prefers_important_and_recent() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    fresh = ranking.weigh(1.0, 0.5, now, now, 90)
    old = ranking.weigh(1.0, 0.5, now - timedelta(days=90), now, 90)
    assert old == pytest.approx(fresh * 0.75)
    assert ranking.weigh(1.0, 1.0, now, now, 90) > fresh > ranking.weigh(1.0, 0.0, now, now, 90)


def test_fuse_and_floor() -> None:
    fused = ranking.fuse(["a", "b"], ["b", "c"])
    assert fused["b"] > fused["a"] > fused["c"] > 0
    assert ranking.fuse(["a"], ["a"])["a"] == pytest.approx(1.0)
    assert ranking.keyword_relevance({"a": 10.0, "b": 5.0, "c": 1.0}) == {"a": 1.0, "b": 0.5}


def test_stemming_matches_plurals() -> None:
    assert keyword.tokens("Dogs running") == ["dog", "runn"]
    assert keyword.stem("boss") == "boss" and keyword.stem("parties") == "party"


@pytest.mark.parametrize(
    "text",
    [
        "my key is sk-ant-api03-abcdefghijklmnopqrstuvwx",
        "the wifi password is hunter22",
        "PIN code: 4821",
        "Authorization: Bearer abcdefghijklmnop",
        "api_key=abcd1234efgh",
        "github token ghp_abcdefghijklmnopqrstuvwxyz0123",
    ],
)
def test_secrets_are_recognised(text: str) -> None:
    assert secret_reason(text)


@pytest.mark.parametrize(
    "text", ["My dog is called Rex", "I forgot my password yesterday", "tokens of appreciation"]
)
def test_ordinary_text_is_not_a_secret(text: str) -> None:
    assert secret_reason(text) == ""


def test_parse_extraction_answers() -> None:
    got = capture.parse(
        'Sure:\n```json\n{"memories": [{"content": " Likes jazz ", "memory_type": "preference",'
        ' "importance": 7}, {"content": ""}, "Lives in Lyon", {"content": "x", '
        '"memory_type": "weird"}]}\n```'
    )
    assert got == [
        capture.Proposal("Likes jazz", "preference", "", 1.0),
        capture.Proposal("Lives in Lyon", "fact", "", 0.5),
        capture.Proposal("x", "fact", "", 0.5),
    ]
    assert capture.parse("echo: nothing here") == []
    assert capture.parse('{"memories": "no"}') == []
    assert capture.parse('[{"content": "a b"}]') == [capture.Proposal("a b")]


@pytest.mark.parametrize("text", ["hi", "Thanks!", "ok", "sure thing", "what time?"])
def test_trivial_turns(text: str) -> None:
    assert capture.trivial(text)


def test_substantial_turn_is_not_trivial() -> None:
    assert not capture.trivial("My sister Anna moved to Lyon last spring")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[MemoryService]:
    store = LocalStore(tmp_path / "data")
    await store.open()
    try:
        yield MemoryService(store, MemoryConfig(recall_k=3, recall_max_tokens=60))
    finally:
        await store.close()


async def test_service_floor_caps_and_duplicates(service: MemoryService) -> None:
    dog, _ = await service.add("My dog is called Rex", memory_type="fact")
    await service.add("Rex the dog loves the beach in summer and long walks", importance=0.9)
    await service.add("I work as a nurse at the city hospital")
    assert await service.search("how do I compile a kernel?") == []
    hits = await service.search("dog Rex")
    assert {h.memory.content for h in hits} >= {"My dog is called Rex"}
    assert all(h.why == "keyword" and 0 < h.score <= 1 for h in hits)

    recalled = await service.recall("dog Rex beach")
    assert 1 <= len(recalled) <= 2  # 60 tokens at most

    again, new = await service.add("My dog is called Rex!", merge_duplicates=True)
    assert not new and again.id == dog.id
    assert len(await service.versions(dog.id)) == 2

    with pytest.raises(InvalidArgument, match="memory type"):
        await service.add("x", memory_type="gossip")
    with pytest.raises(InvalidArgument, match="from 0 to 1"):
        await service.add("x", importance=2)
    with pytest.raises(InvalidArgument, match="k must be"):
        await service.search("dog", 99)

    await service.forget(dog.id)
    with pytest.raises(NotFound):
        await service.versions(dog.id)
    with pytest.raises(NotFound):
        await service.forget(dog.id)
    assert dog.id not in [m.id for m in await service.list_current()]


async def test_expired_memories_are_not_recalled(service: MemoryService) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await service.add("The parcel arrives on Tuesday", expires_at=past)
    assert await service.search("parcel Tuesday") == []
    assert len(await service.list_current()) == 1
