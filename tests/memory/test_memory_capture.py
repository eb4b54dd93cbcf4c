"""Automatic capture through the real daemon: after a chat turn an extraction call
(origin memory, logged, capped output) proposes memories; a near-duplicate updates its
memory, secrets are dropped, trivial turns get no call, and each memory links to the
message it came from."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.daemon.util import rows, send, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config, running


def extraction(*memories: dict[str, object]) -> Reply:
    return Reply(text=json.dumps({"memories": list(memories)}))


@pytest.fixture
def auto_daemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    extra = "[memory]\nauto = true\nextract_max_tokens = 200\n"
    d = Daemon(fake_llm_config(fake_llm.url, extra=extra))
    with running(d):
        yield d


def test_auto_capture(auto_daemon: Daemon, fake_llm: FakeLLM) -> None:
    d = auto_daemon
    fake_llm.script(
        Reply(text="Rex is a lovely name."),
        Reply(
            text="```json\n"
            + json.dumps(
                {
                    "memories": [
                        {
                            "content": "The user has a dog named Rex",
                            "memory_type": "fact",
                            "category": "pets",
                            "importance": 0.7,
                        },
                        {"content": "The user's bank password is hunter22"},
                    ]
                }
            )
            + "\n```"
        ),
    )
    events = send(d, "I have a dog and his name is Rex", session="one")
    turn_id = events[0].turn_id
    [mem] = wait_for(lambda: rows(d, "memory"), what="a captured memory")
    assert mem["content"] == "The user has a dog named Rex"
    assert mem["memory_type"] == "fact" and mem["category"] == "pets"
    assert mem["source_session_id"] == "one" and mem["source_message_id"] == turn_id

    call = fake_llm.requests[-1].body
    assert call["max_tokens"] == 200 or call.get("max_completion_tokens") == 200
    assert "long-term memory" in call["messages"][0]["content"]
    assert "I have a dog and his name is Rex" in call["messages"][-1]["content"]
    logs = wait_for(lambda: rows(d, "llm_logs", origin="memory"), what="the extraction log")
    assert logs[0]["turn_id"] == turn_id and logs[0]["status"] == "success"

    before = len(fake_llm.requests)
    send(d, "thanks!", session="one")
    assert len(fake_llm.requests) == before + 1  # the chat call only

    fake_llm.script(
        Reply(text="Got it."),
        extraction({"content": "The user has a dog named Rex.", "importance": 0.9}),
    )
    send(d, "Just to repeat, my dog is named Rex", session="two")
    wait_for(lambda: len(rows(d, "memory")) == 2, what="the duplicate's update")
    versions = rows(d, "memory")
    assert {v["id"] for v in versions} == {mem["id"]}
    assert versions[-1]["importance"] == 0.9

    fake_llm.script(Reply(text="Rex."))
    before = len(fake_llm.requests)
    send(d, "what is my dog called again?", session="three")  # two content words: trivial
    assert "has a dog named Rex" in json.dumps(fake_llm.requests[-1].body["messages"][-1])
    assert len(fake_llm.requests) == before + 1
    assert len(rows(d, "llm_logs", origin="memory")) == 2 and len(rows(d, "memory")) == 2
