"""Memory through the real daemon: what one session learns reaches the LLM request of a
related question in another session (in the <context> block of the new user message),
an unrelated question gets none, edits show, and a forgotten memory never returns, also
after a restart."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from pulse.v1 import memory_pb2, memory_pb2_grpc

from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM, Reply, context_block, strip_context
from tests.harness import Daemon, fake_llm_config, running


def stub(d: Daemon) -> memory_pb2_grpc.MemoryStub:
    return memory_pb2_grpc.MemoryStub(d.channel())


def last_user(fake: FakeLLM) -> str:
    msgs = fake.requests[-1].body["messages"]
    user = [m for m in msgs if m["role"] == "user"][-1]
    content = user["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content)


def memories_in(fake: FakeLLM) -> str:
    """The Relevant memories section of the last request's context block ('' if none)."""
    block = context_block(last_user(fake))
    if "## Relevant memories" not in block:
        return ""
    return block.split("## Relevant memories", 1)[1]


@pytest.fixture
def mdaemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    d = Daemon(fake_llm_config(fake_llm.url, extra="[memory]\nauto = false\n"))
    with running(d):
        yield d


def test_added_fact_reaches_another_session(mdaemon: Daemon, fake_llm: FakeLLM) -> None:
    added = stub(mdaemon).Add(
        memory_pb2.MemoryAddRequest(content="My dog is called Rex", memory_type="fact"),
        timeout=10,
    )
    assert added.id.startswith("mem_") and added.memory_type == "fact"

    send(mdaemon, "what's my dog's name?", session="other")
    recalled = memories_in(fake_llm)
    assert added.id in recalled and "My dog is called Rex" in recalled
    assert added.updated_at[:10] in recalled
    assert strip_context(last_user(fake_llm)) == "what's my dog's name?"

    send(mdaemon, "how do I compile a kernel?", session="third")
    assert memories_in(fake_llm) == ""
    assert "<context>" in last_user(fake_llm)  # the block is there, without memories


def test_remember_tool_then_recall_elsewhere(mdaemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            tool_calls=[
                (
                    "remember",
                    {"content": "The user's sister Anna lives in Lyon", "memory_type": "fact"},
                )
            ]
        ),
        Reply(text="Noted."),
    )
    events = send(mdaemon, "my sister Anna lives in Lyon", session="one")
    assert events[-1].final.text == "Noted."
    [log] = rows(mdaemon, "tool_logs", tool="remember")
    assert log["status"] == "ok" and "remembered as mem_" in log["result_preview"]

    [mem] = rows(mdaemon, "memory")
    assert mem["source_session_id"] == "one"
    assert mem["source_message_id"] == events[0].turn_id

    send(mdaemon, "where does Anna live?", session="two")
    assert "Anna lives in Lyon" in memories_in(fake_llm)

    shown = stub(mdaemon).Show(memory_pb2.MemoryShowRequest(id=mem["id"]), timeout=10)
    assert shown.source_text == "my sister Anna lives in Lyon"
    assert shown.source_type == "user_input"


def test_secrets_are_refused(mdaemon: Daemon, fake_llm: FakeLLM) -> None:
    with pytest.raises(grpc.RpcError) as e:
        stub(mdaemon).Add(
            memory_pb2.MemoryAddRequest(content="my api key is sk-ant-abcdefghijklmnopqrstuv"),
            timeout=10,
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "secret" in (e.value.details() or "")
    fake_llm.script(
        Reply(tool_calls=[("remember", {"content": "wifi password is hunter22"})]),
        Reply(text="I won't keep that."),
    )
    send(mdaemon, "remember my wifi password is hunter22")
    [log] = rows(mdaemon, "tool_logs", tool="remember")
    assert log["status"] == "error" and "secret" in log["result_preview"]
    assert rows(mdaemon, "memory") == []


def test_edit_and_forget_survive_a_restart(mdaemon: Daemon, fake_llm: FakeLLM) -> None:
    m = stub(mdaemon)
    a = m.Add(memory_pb2.MemoryAddRequest(content="I drive a blue Volvo"), timeout=10)
    b = m.Add(memory_pb2.MemoryAddRequest(content="My favourite tea is oolong"), timeout=10)
    m.Update(memory_pb2.MemoryUpdateRequest(id=a.id, content="I drive a red Tesla"), timeout=10)

    send(mdaemon, "what car do I drive? a Volvo or a Tesla?")
    got = memories_in(fake_llm)
    assert "red Tesla" in got and "blue Volvo" not in got

    m.Forget(memory_pb2.MemoryForgetRequest(id=b.id), timeout=10)
    send(mdaemon, "which tea do I like, oolong?")
    assert "oolong" not in memories_in(fake_llm)

    mdaemon.stop()
    mdaemon.start()
    m = stub(mdaemon)
    send(mdaemon, "oolong tea?")
    assert "oolong" not in last_user(fake_llm).split("</context>")[0]
    listed = m.List(memory_pb2.MemoryListRequest(), timeout=10)
    assert [x.id for x in listed.memories] == [a.id]
    assert listed.memories[0].content == "I drive a red Tesla"
    assert not m.Search(memory_pb2.MemorySearchRequest(query="oolong"), timeout=10).hits
    with pytest.raises(grpc.RpcError) as e:
        m.Show(memory_pb2.MemoryShowRequest(id=b.id), timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    shown = m.Show(memory_pb2.MemoryShowRequest(id=a.id), timeout=10)
    assert [v.content for v in shown.versions] == ["I drive a blue Volvo", "I drive a red Tesla"]
    exported = rows(mdaemon, "memory", id=b.id)
    assert len(exported) == 2 and all(r["content"] == "" for r in exported)
    hits = m.Search(memory_pb2.MemorySearchRequest(query="tesla"), timeout=10).hits
    assert [h.memory.id for h in hits] == [a.id] and hits[0].why == "keyword"
