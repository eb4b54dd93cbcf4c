"""Memory on the Timeplus backend (the loopback fake with its row engine): a fact
added reaches a related question's request in another session, an edit shows, a
forgotten memory does not come back. The recall SQL reaches the server with its words
bound as parameters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulse.v1 import memory_pb2, memory_pb2_grpc

from tests.daemon.util import send
from tests.fakes.llm import FakeLLM
from tests.fakes.timeplus import FakeTimeplus
from tests.harness import Daemon, fake_llm_config, running
from tests.memory.test_memory_daemon import memories_in
from tests.timeplus.test_timeplus_daemon import timeplus_config


@pytest.fixture
def tp_daemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    with FakeTimeplus(engine=True) as tp:
        d = Daemon(fake_llm_config(fake_llm.url, extra=timeplus_config(tp)))
        d.tp = tp  # type: ignore[attr-defined]
        with running(d):
            yield d


def test_memory_on_timeplus(tp_daemon: Daemon, fake_llm: FakeLLM) -> None:
    m = memory_pb2_grpc.MemoryStub(tp_daemon.channel())
    dog = m.Add(memory_pb2.MemoryAddRequest(content="My dog is called Rex"), timeout=10)
    tea = m.Add(memory_pb2.MemoryAddRequest(content="I like oolong tea"), timeout=10)
    send(tp_daemon, "what is my dog's name?", session="a")
    assert "My dog is called Rex" in memories_in(fake_llm)
    send(tp_daemon, "how do I compile a kernel?", session="b")
    assert memories_in(fake_llm) == ""

    m.Update(memory_pb2.MemoryUpdateRequest(id=dog.id, content="My dog is called Max"), timeout=10)
    m.Forget(memory_pb2.MemoryForgetRequest(id=tea.id), timeout=10)
    send(tp_daemon, "dog name? and which tea, oolong?", session="c")
    got = memories_in(fake_llm)
    assert "called Max" in got and "Rex" not in got and "oolong" not in got

    tp: FakeTimeplus = tp_daemon.tp  # type: ignore[attr-defined]
    searches = tp.queries("multi_search_any")
    assert searches and "oolong" not in searches[-1].sql
    assert "oolong" in str(searches[-1].params)
