"""Embeddings through the loopback LLM's /v1/embeddings (the official openai SDK, as the
daemon uses it): memories get vectors, search fuses keyword and vector ranks, each call
is an llm_logs row with origin memory; unrelated questions still get nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulse.v1 import memory_pb2, memory_pb2_grpc

from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM, embed_text
from tests.harness import Daemon, fake_llm_config, running
from tests.memory.test_memory_daemon import memories_in


@pytest.fixture
def vec_daemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    extra = (
        '[memory]\nauto = false\nembeddings = "openai-compatible"\nembedding_model = "fake-embed"\n'
    )
    d = Daemon(fake_llm_config(fake_llm.url, extra=extra))
    with running(d):
        yield d


def test_hybrid_recall_with_embeddings(vec_daemon: Daemon, fake_llm: FakeLLM) -> None:
    m = memory_pb2_grpc.MemoryStub(vec_daemon.channel())
    dog = m.Add(memory_pb2.MemoryAddRequest(content="My dog is called Rex"), timeout=10)
    assert dog.embedded
    assert fake_llm.embedding_requests[-1]["input"] == ["My dog is called Rex"]
    assert fake_llm.embedding_requests[-1]["model"] == "fake-embed"
    [stored] = rows(vec_daemon, "memory")
    assert stored["embedding"] == pytest.approx(embed_text("My dog is called Rex"))
    logs = rows(vec_daemon, "llm_logs", origin="memory")
    assert len(logs) == 1 and logs[0]["status"] == "success" and logs[0]["input_tokens"] > 0

    hits = m.Search(memory_pb2.MemorySearchRequest(query="dog Rex"), timeout=10).hits
    assert [h.memory.id for h in hits] == [dog.id]
    assert hits[0].why == "keyword+vector" and hits[0].vector > 0.5
    assert not m.Search(memory_pb2.MemorySearchRequest(query="compile kernel"), timeout=10).hits

    send(vec_daemon, "what is my dog called?", session="x")
    assert "My dog is called Rex" in memories_in(fake_llm)
    assert len(rows(vec_daemon, "llm_logs", origin="memory")) == 4  # add, 2 searches, the turn

    m.Update(memory_pb2.MemoryUpdateRequest(id=dog.id, content="My cat is called Tom"), timeout=10)
    latest = rows(vec_daemon, "memory")[-1]
    assert latest["embedding"] == pytest.approx(embed_text("My cat is called Tom"))
