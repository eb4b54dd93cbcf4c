"""The Anthropic and OpenAI adapters, through the real SDKs, against the loopback FakeLLM."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pulsed.config import ProviderConfig
from pulsed.providers.anthropic import AnthropicProvider, to_anthropic_messages
from pulsed.providers.base import (
    ChatMessage,
    LLMProvider,
    LLMRequest,
    ProviderError,
    ToolCall,
    ToolSpec,
)
from pulsed.providers.common import repair_history
from pulsed.providers.openai import OpenAIProvider, ollama_base_url, to_openai_messages
from tests.fakes.llm import Drop, Fail, FakeLLM, Hang, Reply

ROOT = Path(__file__).resolve().parents[2]
KINDS = ["anthropic", "openai"]
TOOLS = [
    ToolSpec(
        "list_dir",
        "List a directory",
        {"type": "object", "properties": {"path": {"type": "string"}}},
    ),
    ToolSpec(
        "read_file", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}
    ),
]


@pytest.fixture(scope="module")
def fake() -> Any:
    with FakeLLM() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(fake: FakeLLM) -> None:
    fake.reset()


class Deltas(list[str]):
    """An on_delta callback that keeps what it was given."""

    async def __call__(self, piece: str) -> None:
        self.append(piece)


def make(kind: str, fake: FakeLLM, **over: Any) -> LLMProvider:
    cfg = ProviderConfig(
        api_key=over.pop("api_key", "test-key"),
        base_url=over.pop("base_url", fake.anthropic_url if kind == "anthropic" else fake.url),
        max_retries=over.pop("max_retries", 2),
        timeout_s=over.pop("timeout_s", 5.0),
    )
    if kind == "anthropic":
        return AnthropicProvider(cfg, "claude-haiku-4-5", **over)
    return OpenAIProvider(cfg, "gpt-4o-mini", name=over.pop("name", "openai"), **over)


@pytest.fixture(params=KINDS)
async def provider(request: Any, fake: FakeLLM) -> Any:
    p = make(request.param, fake)
    yield p
    await p.aclose()


def ask(text: str = "hello", **kw: Any) -> LLMRequest:
    return LLMRequest(
        system="You are a test.", messages=[ChatMessage(role="user", text=text)], **kw
    )


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


# --- streaming text ----------------------------------------------------------------------


async def test_text_streams_in_order(provider: LLMProvider, fake: FakeLLM) -> None:
    text = "Hello there, this streams in small pieces."
    fake.script(Reply(text=text, chunk_size=3))
    deltas = Deltas()
    resp = await provider.stream(ask(), deltas)
    assert deltas == pieces(text, 3)
    assert "".join(deltas) == resp.text == text
    assert resp.tool_calls == []
    assert resp.stop_reason == ("end_turn" if provider.name == "anthropic" else "stop")
    assert resp.model == provider.model
    assert 0 <= resp.time_to_first_token_ms <= resp.latency_ms


async def test_request_shape(provider: LLMProvider, fake: FakeLLM) -> None:
    await provider.stream(ask("what is up", tools=TOOLS, max_tokens=123), Deltas())
    (req,) = fake.requests
    body = req.body
    assert body["model"] == provider.model
    assert body["stream"] is True
    if provider.name == "anthropic":
        assert req.path == "/v1/messages"
        assert body["max_tokens"] == 123
        assert body["system"][0]["text"] == "You are a test."
        assert body["tools"][0] == {
            "name": "list_dir",
            "description": "List a directory",
            "input_schema": TOOLS[0].parameters,
        }
        assert body["messages"][0]["content"][0]["text"] == "what is up"
    else:
        assert req.path == "/v1/chat/completions"
        assert body["max_completion_tokens"] == 123
        assert body["stream_options"] == {"include_usage": True}
        assert body["messages"][0] == {"role": "system", "content": "You are a test."}
        assert body["messages"][1] == {"role": "user", "content": "what is up"}
        assert body["tools"][0] == {
            "type": "function",
            "function": {
                "name": "list_dir",
                "description": "List a directory",
                "parameters": TOOLS[0].parameters,
            },
        }
    assert req.headers["authorization"] == "Bearer test-key"


async def test_time_to_first_token_is_measured(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Reply(text="slow start", chunk_size=5, delay_s=0.05))
    resp = await provider.stream(ask(), Deltas())
    assert resp.time_to_first_token_ms >= 40
    assert resp.latency_ms >= resp.time_to_first_token_ms + 40


# --- tool calls ------------------------------------------------------------------------------


async def test_single_tool_call(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(
        Reply(text="Let me look.", tool_calls=[("list_dir", {"path": "."}, "call_1")], chunk_size=3)
    )
    deltas = Deltas()
    resp = await provider.stream(ask(tools=TOOLS), deltas)
    assert "".join(deltas) == resp.text == "Let me look."
    assert resp.tool_calls == [ToolCall(id="call_1", name="list_dir", arguments={"path": "."})]
    assert resp.stop_reason == ("tool_use" if provider.name == "anthropic" else "tool_calls")


async def test_parallel_tool_calls_split_across_chunks(
    provider: LLMProvider, fake: FakeLLM
) -> None:
    first = {"path": "src/some/deeply/nested/dir", "depth": 3, "hidden": False}
    second = {"path": "README.md", "range": [1, 20], "opts": {"encoding": "utf-8"}}
    fake.script(Reply(tool_calls=[("list_dir", first), ("read_file", second)], chunk_size=2))
    deltas = Deltas()
    resp = await provider.stream(ask(tools=TOOLS), deltas)
    assert deltas == []
    assert resp.text == ""
    assert [(c.name, c.arguments, c.arguments_error) for c in resp.tool_calls] == [
        ("list_dir", first, ""),
        ("read_file", second, ""),
    ]
    assert len({c.id for c in resp.tool_calls}) == 2


async def test_invalid_tool_arguments_do_not_raise(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(
        Reply(
            tool_calls=[
                ("list_dir", '{"path": ".', "c1"),
                ("read_file", "[1, 2]", "c2"),
                ("list_dir", "", "c3"),
            ]
        )
    )
    resp = await provider.stream(ask(tools=TOOLS), Deltas())
    broken, not_object, empty = resp.tool_calls
    assert broken.arguments == {} and "invalid JSON" in broken.arguments_error
    assert not_object.arguments == {} and "not a JSON object" in not_object.arguments_error
    assert empty.arguments == {} and empty.arguments_error == ""


# --- conversation mapping -------------------------------------------------------------------

CONVERSATION = [
    ChatMessage(role="user", text="list files and read one"),
    ChatMessage(
        role="assistant",
        text="Looking.",
        tool_calls=[
            ToolCall("t1", "list_dir", {"path": "."}),
            ToolCall("t2", "read_file", {"path": "secret"}),
        ],
    ),
    ChatMessage(role="tool", text="a.txt\nb.txt", tool_call_id="t1", tool_name="list_dir"),
    ChatMessage(
        role="tool",
        text="denied by policy",
        tool_call_id="t2",
        tool_name="read_file",
        is_error=True,
    ),
    ChatMessage(role="assistant", text="There are two files."),
    ChatMessage(role="user", text="thanks"),
]


@pytest.mark.parametrize("kind", KINDS)
async def test_multi_turn_with_tool_results(kind: str, fake: FakeLLM) -> None:
    p = make(kind, fake, **({"prompt_cache": False} if kind == "anthropic" else {}))
    try:
        resp = await p.stream(
            LLMRequest(system="sys", messages=CONVERSATION, tools=TOOLS), Deltas()
        )
    finally:
        await p.aclose()
    assert resp.text == "echo: thanks"
    sent = fake.requests[0].body["messages"]
    if kind == "anthropic":
        assert sent == [
            {"role": "user", "content": [{"type": "text", "text": "list files and read one"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Looking."},
                    {"type": "tool_use", "id": "t1", "name": "list_dir", "input": {"path": "."}},
                    {
                        "type": "tool_use",
                        "id": "t2",
                        "name": "read_file",
                        "input": {"path": "secret"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "a.txt\nb.txt"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": "denied by policy",
                        "is_error": True,
                    },
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "There are two files."}]},
            {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
        ]
        assert fake.requests[0].body["system"] == [{"type": "text", "text": "sys"}]
    else:
        assert sent == [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "list files and read one"},
            {
                "role": "assistant",
                "content": "Looking.",
                "tool_calls": [
                    {
                        "id": "t1",
                        "type": "function",
                        "function": {"name": "list_dir", "arguments": '{"path": "."}'},
                    },
                    {
                        "id": "t2",
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "secret"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "a.txt\nb.txt"},
            {"role": "tool", "tool_call_id": "t2", "content": "Error: denied by policy"},
            {"role": "assistant", "content": "There are two files."},
            {"role": "user", "content": "thanks"},
        ]


async def test_anthropic_cache_breakpoints(fake: FakeLLM) -> None:
    p = make("anthropic", fake)
    try:
        await p.stream(LLMRequest(system="sys", messages=CONVERSATION, tools=TOOLS), Deltas())
        await p.stream(LLMRequest(system="", messages=CONVERSATION[:1], tools=TOOLS), Deltas())
    finally:
        await p.aclose()
    with_system, without = (r.body for r in fake.requests)
    assert with_system["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert with_system["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in with_system["tools"][-1]
    assert "system" not in without
    assert without["tools"][-1]["cache_control"] == {"type": "ephemeral"}


def test_history_repair_pairs_calls_and_results() -> None:
    history = [
        ChatMessage(role="tool", text="orphan output", tool_call_id="gone", tool_name="shell"),
        ChatMessage(role="user", text="go on"),
        ChatMessage(role="assistant", tool_calls=[ToolCall("x1", "shell", {"cmd": "ls"})]),
        ChatMessage(role="user", text="are you there?"),
    ]
    fixed = repair_history(history)
    assert [m.role for m in fixed] == ["user", "user", "assistant", "tool", "user"]
    assert fixed[0].text == "[result of shell]\norphan output"
    assert fixed[3].tool_call_id == "x1" and fixed[3].is_error
    # Both wire formats accept the repaired history: results follow their calls.
    anth = to_anthropic_messages(history)
    assert [m["role"] for m in anth] == ["user", "assistant", "user"]
    assert anth[2]["content"][0]["type"] == "tool_result"
    assert anth[2]["content"][1] == {"type": "text", "text": "are you there?"}
    oai = to_openai_messages("", history)
    assert [m["role"] for m in oai] == ["user", "user", "assistant", "tool", "user"]


# --- usage -----------------------------------------------------------------------------------


async def test_usage_with_cache_tokens(provider: LLMProvider, fake: FakeLLM) -> None:
    if provider.name == "anthropic":
        usage = {
            "input_tokens": 11,
            "output_tokens": 5,
            "cache_read_tokens": 700,
            "cache_write_tokens": 300,
        }
    else:  # OpenAI reports no cache writes
        usage = {"input_tokens": 11, "output_tokens": 5, "cache_read_tokens": 700}
    fake.script(Reply(text="ok", usage=usage))
    resp = await provider.stream(ask(), Deltas())
    assert resp.usage.input_tokens == 11  # uncached only, in both conventions
    assert resp.usage.output_tokens == 5
    assert resp.usage.cache_read_tokens == 700
    assert resp.usage.cache_write_tokens == usage.get("cache_write_tokens", 0)


# --- failures and retries ----------------------------------------------------------------------


async def test_429_then_success_in_one_call(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Fail(status=429), Reply(text="after the limit"))
    resp = await provider.stream(ask(), Deltas())
    assert resp.text == "after the limit"
    assert len(fake.requests) == 2


async def test_500_then_success_in_one_call(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Fail(status=500, times=2), Reply(text="recovered"))
    resp = await provider.stream(ask(), Deltas())
    assert resp.text == "recovered"
    assert len(fake.requests) == 3


async def test_persistent_500_is_a_retryable_server_error(
    provider: LLMProvider, fake: FakeLLM
) -> None:
    fake.script(Fail(status=500, times=10, message="boom"))
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), Deltas())
    err = info.value
    assert (err.kind, err.retryable, err.partial) == ("server", True, False)
    assert "500" in err.message and "boom" in err.message
    assert len(fake.requests) == 3  # the first try and max_retries=2


async def test_persistent_429_is_rate_limited(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Fail(status=429, times=10))
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), Deltas())
    assert (info.value.kind, info.value.retryable) == ("rate_limited", True)


@pytest.mark.parametrize("clean", [False, True], ids=["connection-cut", "body-ends-early"])
async def test_dropped_stream_is_partial(provider: LLMProvider, fake: FakeLLM, clean: bool) -> None:
    fake.script(Drop(after_chunks=2, text="abcdefghijkl", chunk_size=3, clean=clean))
    deltas = Deltas()
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), deltas)
    err = info.value
    assert (err.kind, err.retryable, err.partial) == ("dropped", True, True)
    assert deltas == ["abc", "def"]
    assert len(fake.requests) == 1  # a broken stream is not retried by the SDK


async def test_error_event_mid_stream(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Drop(after_chunks=1, error="overloaded_error"))
    deltas = Deltas()
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), deltas)
    err = info.value
    assert (err.kind, err.retryable, err.partial) == ("server", True, True)
    assert "overloaded_error" in err.message
    assert len(deltas) == 1


async def test_dropped_before_any_text_is_not_partial(provider: LLMProvider, fake: FakeLLM) -> None:
    fake.script(Drop(after_chunks=0))
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), Deltas())
    assert (info.value.kind, info.value.partial) == ("dropped", False)


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failure_names_what_to_check(fake: FakeLLM, status: int) -> None:
    for kind in KINDS:
        fake.reset()
        hint = f"check {kind.upper()}_API_KEY or api_key in [providers.{kind}] of /x/config.toml"
        p = make(kind, fake, credential_hint=hint)
        fake.script(Fail(status=status, message="invalid key"))
        try:
            with pytest.raises(ProviderError) as info:
                await p.stream(ask(), Deltas())
        finally:
            await p.aclose()
        err = info.value
        assert (err.kind, err.retryable) == ("auth", False)
        assert hint in err.message and str(status) in err.message
        assert len(fake.requests) == 1  # never retried


@pytest.mark.parametrize("status", [400, 404])
async def test_bad_request(provider: LLMProvider, fake: FakeLLM, status: int) -> None:
    fake.script(Fail(status=status, message="no such thing"))
    with pytest.raises(ProviderError) as info:
        await provider.stream(ask(), Deltas())
    assert (info.value.kind, info.value.retryable) == ("bad_request", False)
    if status == 404:
        assert provider.model in info.value.message


@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_before_the_answer(kind: str, fake: FakeLLM) -> None:
    p = make(kind, fake, timeout_s=0.3, max_retries=0)
    fake.script(Hang(5))
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError) as info:
            await p.stream(ask(), Deltas())
    finally:
        await p.aclose()
    assert (info.value.kind, info.value.retryable, info.value.partial) == ("timeout", True, False)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_mid_stream_is_partial(kind: str, fake: FakeLLM) -> None:
    p = make(kind, fake, timeout_s=0.3, max_retries=0)
    fake.script(Hang(5, after_chunks=1))
    deltas = Deltas()
    try:
        with pytest.raises(ProviderError) as info:
            await p.stream(ask(), deltas)
    finally:
        await p.aclose()
    assert (info.value.kind, info.value.retryable, info.value.partial) == ("timeout", True, True)
    assert len(deltas) == 1


async def test_a_hang_shorter_than_the_timeout_is_just_slow(
    provider: LLMProvider, fake: FakeLLM
) -> None:
    fake.script(Hang(0.2, reply=Reply(text="late but fine")), Hang(0.2, after_chunks=1))
    first = await provider.stream(ask(), Deltas())
    assert first.text == "late but fine" and first.latency_ms >= 190
    second = await provider.stream(ask(), Deltas())
    assert second.text == "This answer stalls mid-way."
    assert second.latency_ms - second.time_to_first_token_ms >= 190
    assert len(fake.requests) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_timeout_then_success_is_retried_by_the_sdk(kind: str, fake: FakeLLM) -> None:
    p = make(kind, fake, timeout_s=0.3, max_retries=1)
    fake.script(Hang(5), Reply(text="second try"))
    try:
        resp = await p.stream(ask(), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "second try"


@pytest.mark.parametrize("kind", KINDS)
async def test_connection_refused(kind: str, fake: FakeLLM) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("" if kind == "anthropic" else "/v1")
    p = make(kind, fake, base_url=url, max_retries=0)
    try:
        with pytest.raises(ProviderError) as info:
            await p.stream(ask(), Deltas())
    finally:
        await p.aclose()
    assert (info.value.kind, info.value.retryable) == ("connection", True)


async def test_callback_errors_propagate_unchanged(provider: LLMProvider, fake: FakeLLM) -> None:
    class Stop(Exception):
        pass

    async def explode(piece: str) -> None:
        raise Stop(piece)

    fake.script(Reply(text="hello", chunk_size=2))
    with pytest.raises(Stop):
        await provider.stream(ask(), explode)


async def test_cancellation_leaves_the_provider_usable(
    provider: LLMProvider, fake: FakeLLM
) -> None:
    fake.script(Reply(text="x" * 50, chunk_size=1, delay_s=0.02))
    deltas = Deltas()
    task = asyncio.create_task(provider.stream(ask(), deltas))
    while not deltas:  # cancel mid-stream, however slow the machine is
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    resp = await provider.stream(ask("again"), Deltas())
    assert resp.text == "echo: again"


# --- endpoints, keys and the SDKs' own variables -------------------------------------------


async def test_anthropic_honours_its_environment(fake: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-anthropic-key")
    p = AnthropicProvider(ProviderConfig(max_retries=0), "claude-haiku-4-5")
    try:
        resp = await p.stream(ask("via env"), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "echo: via env"
    assert "env-anthropic-key" in fake.requests[0].headers.get("authorization", "") + fake.requests[
        0
    ].headers.get("x-api-key", "")


async def test_openai_honours_its_environment(fake: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", "env-openai-key")
    p = OpenAIProvider(ProviderConfig(max_retries=0), "gpt-4o-mini")
    try:
        resp = await p.stream(ask("via env"), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "echo: via env"
    assert fake.requests[0].headers["authorization"] == "Bearer env-openai-key"


async def test_anthropic_without_credentials_is_an_auth_error(
    monkeypatch: Any, tmp_path: Path
) -> None:
    for var in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_PROFILE",
        "ANTHROPIC_IDENTITY_TOKEN",
        "ANTHROPIC_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path))  # no credential profiles
    p = AnthropicProvider(
        ProviderConfig(base_url="http://127.0.0.1:9", max_retries=0),
        "m",
        credential_hint="check ANTHROPIC_API_KEY",
    )
    with pytest.raises(ProviderError) as info:
        await p.stream(ask(), Deltas())
    await p.aclose()
    assert info.value.kind == "auth" and "check ANTHROPIC_API_KEY" in info.value.message


async def test_openai_without_key_is_an_auth_error(monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    p = OpenAIProvider(ProviderConfig(), "gpt-4o-mini", credential_hint="check OPENAI_API_KEY")
    with pytest.raises(ProviderError) as info:
        await p.stream(ask(), Deltas())
    assert info.value.kind == "auth" and "check OPENAI_API_KEY" in info.value.message


async def test_openai_with_a_local_endpoint_needs_no_key(fake: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    p = OpenAIProvider(ProviderConfig(base_url=fake.url), "llama3.2")
    try:
        resp = await p.stream(ask("local"), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "echo: local"


async def test_openrouter_key_and_headers(fake: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-key")
    monkeypatch.setenv("OPENAI_API_KEY", "must-not-leak")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # must not redirect it
    monkeypatch.setenv("OPENAI_ORG_ID", "org-secret")
    p = OpenAIProvider(
        ProviderConfig(base_url=fake.url), "anthropic/claude-sonnet-4.5", name="openrouter"
    )
    try:
        await p.stream(ask(), Deltas())
    finally:
        await p.aclose()
    (req,) = fake.requests
    assert req.headers["authorization"] == "Bearer or-key"
    assert req.headers["x-title"] == "Pulse"
    assert "openai-organization" not in req.headers
    assert req.body["max_tokens"] == 4096 and "max_completion_tokens" not in req.body


async def test_openrouter_without_key(monkeypatch: Any) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    p = OpenAIProvider(ProviderConfig(), "x", name="openrouter", env={})
    with pytest.raises(ProviderError) as info:
        await p.stream(ask(), Deltas())
    assert info.value.kind == "auth"


async def test_ollama_from_ollama_host(fake: FakeLLM, monkeypatch: Any) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{fake.port}")
    p = OpenAIProvider(ProviderConfig(), "llama3.2", name="ollama")
    try:
        resp = await p.stream(ask("local llama"), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "echo: local llama"
    (req,) = fake.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer ollama"


async def test_openai_compatible_needs_a_base_url() -> None:
    p = OpenAIProvider(ProviderConfig(), "m", name="openai-compatible")
    with pytest.raises(ProviderError) as info:
        await p.stream(ask(), Deltas())
    assert "base_url" in info.value.message


async def test_openai_compatible_uses_its_base_url(fake: FakeLLM) -> None:
    p = OpenAIProvider(
        ProviderConfig(base_url=fake.url, api_key="k2"), "qwen", name="openai-compatible"
    )
    try:
        resp = await p.stream(ask("compat"), Deltas())
    finally:
        await p.aclose()
    assert resp.text == "echo: compat"
    assert fake.requests[0].headers["authorization"] == "Bearer k2"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("", "http://127.0.0.1:11434/v1"),
        ("0.0.0.0", "http://0.0.0.0:11434/v1"),
        ("box.lan:8080", "http://box.lan:8080/v1"),
        (":9999", "http://127.0.0.1:9999/v1"),
        ("https://ollama.example.com", "https://ollama.example.com:443/v1"),
        ("http://10.0.0.2:11434/", "http://10.0.0.2:11434/v1"),
        ("[::1]:11434", "http://[::1]:11434/v1"),
    ],
)
def test_ollama_host_parsing(host: str, url: str) -> None:
    assert ollama_base_url({"OLLAMA_HOST": host} if host else {}) == url


# --- the fake itself ----------------------------------------------------------------------------


async def test_fake_serves_non_streaming_json_too(fake: FakeLLM) -> None:
    import anthropic
    import openai

    fake.script(
        Reply(text="whole", tool_calls=[("list_dir", {"path": "."})]), Reply(text="whole too")
    )
    a = anthropic.AsyncAnthropic(api_key="k", base_url=fake.anthropic_url, max_retries=0)
    o = openai.AsyncOpenAI(api_key="k", base_url=fake.url, max_retries=0)
    try:
        msg = await a.messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        done = await o.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    finally:
        await a.close()
        await o.close()
    blocks: list[Any] = list(msg.content)
    assert blocks[0].text == "whole" and blocks[1].input == {"path": "."}
    assert msg.stop_reason == "tool_use"
    assert done.choices[0].message.content == "whole too"


def test_fake_runs_standalone() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        body = json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": "ping"}]}
        ).encode()
        req = urllib.request.Request(
            url + "/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            answer = json.load(r)
        assert answer["choices"][0]["message"]["content"] == "echo: ping"
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()
