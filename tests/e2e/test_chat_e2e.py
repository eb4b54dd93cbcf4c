"""End to end: `pulsectl chat` against a real pulsed whose LLM (a loopback server speaking
the Anthropic protocol, through the real SDK) calls a tool; every step lands as rows."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config


@pytest.fixture
def anthropic_daemon(fake_llm: FakeLLM) -> Iterator[Daemon]:
    d = Daemon(
        fake_llm_config(fake_llm.anthropic_url, provider="anthropic").replace(
            "fake-model", "claude-sonnet-4-5"
        )
    )
    try:
        d.start()
        yield d
    finally:
        d.stop()
        d.cleanup()


def query(d: Daemon, stream: str, *where: str) -> list[dict]:
    args = ["streams", "query", stream, "--json", "--asc", "--limit", "100"]
    for w in where:
        args += ["--where", w]
    out = d.pulsectl(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_pulsectl_chat_through_a_tool_call(anthropic_daemon: Daemon, fake_llm: FakeLLM) -> None:
    d = anthropic_daemon
    (d.workspace / "todo.md").write_text("- water the plants\n")
    fake_llm.script(
        Reply(
            text="Let me check your list.",
            tool_calls=[("read_file", {"path": "todo.md"})],
            usage={"input_tokens": 400, "output_tokens": 20, "cache_read_tokens": 100},
        ),
        Reply(
            text="You need to **water the plants**.",
            usage={"input_tokens": 450, "output_tokens": 12},
        ),
    )
    out = d.pulsectl("chat", "what is on my todo list?", "-s", "e2e")
    assert out.returncode == 0, out.stderr + d.log()
    assert "You need to **water the plants**." in out.stdout
    assert "read_file" in out.stderr  # tool call shown as a diagnostic, not data

    msgs = query(d, "messages", "session_id=e2e")
    types = [m["message_type"] for m in msgs]
    assert types[0] == "user_input" and types[-1] == "agent_response"
    assert "tool_call" in types and "tool_result" in types
    assert msgs[0]["source"] == "cli"
    assert msgs[-1]["reply_to"] == msgs[0]["id"]

    llm = query(d, "llm_logs", "session_id=e2e")
    assert len(llm) == 2
    assert all(
        r["provider"] == "anthropic" and r["model"].startswith("claude-sonnet-4-5") for r in llm
    )
    assert llm[0]["tools_called"] == ["read_file"] and llm[0]["cache_read_tokens"] == 100
    assert llm[0]["estimated_cost_usd"] > 0

    tools = query(d, "tool_logs", "session_id=e2e")
    assert len(tools) == 1
    assert tools[0]["tool"] == "read_file" and tools[0]["status"] == "ok"
    assert "water the plants" in tools[0]["result_preview"]

    # The SDK spoke the Anthropic protocol: the tool result went back as a tool_result block.
    second = fake_llm.requests[-1]
    assert second.path.endswith("/v1/messages")
    blocks = [
        b
        for m in second.body["messages"]
        for b in (m["content"] if isinstance(m["content"], list) else [])
    ]
    assert any(b.get("type") == "tool_result" for b in blocks)

    costs = d.pulsectl("costs", "--by", "model", "--json")
    assert costs.returncode == 0, costs.stderr
    data = json.loads(costs.stdout)
    assert data["total"]["requests"] == 2
    assert [b["key"] for b in data["buckets"]] == [llm[0]["model"]]
    assert (
        data["total"]["cost_usd"] == sum(r["estimated_cost_usd"] for r in llm)
        or abs(data["total"]["cost_usd"] - sum(r["estimated_cost_usd"] for r in llm)) < 1e-9
    )
