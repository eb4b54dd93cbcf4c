"""The OpenAI-compatible API through the official openai SDK, as other tools use it,
against the real daemon whose agent talks to the fake LLM."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.daemon.util import rows
from tests.fakes.llm import Drop, FakeLLM, Hang, Reply, strip_context
from tests.http_api.conftest import TOKEN, Api, listener

USAGE = {"input_tokens": 100, "output_tokens": 7, "cache_read_tokens": 20, "cache_write_tokens": 3}


def header_session(name: str) -> dict[str, str]:
    return {"X-Pulse-Session": name}


def test_plain_completion_is_a_turn_with_its_rows(api: Api, llm: FakeLLM) -> None:
    llm.script(Reply(text="Hello there, human.", usage=USAGE))
    raw = api.client().chat.completions.with_raw_response.create(
        model="pulse",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "say hello (plain)"},
        ],
    )
    done = raw.parse()
    assert done.object == "chat.completion" and done.model == "pulse"
    assert done.choices[0].message.content == "Hello there, human."
    assert done.choices[0].message.role == "assistant"
    assert done.choices[0].finish_reason == "stop"
    session = raw.headers["x-pulse-session"]
    assert session.startswith("api:c-")
    assert done.id == "chatcmpl-" + raw.headers["x-pulse-turn"]

    msgs = rows(api.daemon, "messages", session_id=session)
    assert [m["message_type"] for m in msgs] == ["user_input", "agent_response"]
    assert msgs[0]["source"] == "api" and msgs[0]["content"] == {"text": "say hello (plain)"}
    assert msgs[0]["channel_metadata"]["via"] == "http"
    assert msgs[1]["reply_to"] == msgs[0]["id"] == raw.headers["x-pulse-turn"]
    assert msgs[1]["content"]["text"] == "Hello there, human."

    # usage is the turn's llm_logs rows, in OpenAI's convention.
    (log,) = rows(api.daemon, "llm_logs", session_id=session)
    assert log["origin"] == "chat"
    assert done.usage is not None
    assert done.usage.prompt_tokens == 100 + 20 + 3
    assert done.usage.completion_tokens == 7
    assert done.usage.total_tokens == 130
    assert done.usage.prompt_tokens_details is not None
    assert done.usage.prompt_tokens_details.cached_tokens == 20
    assert done.usage.model_extra is not None
    assert done.usage.model_extra["estimated_cost_usd"] == pytest.approx(
        log["estimated_cost_usd"], abs=1e-6
    )


def test_streamed_completion_carries_the_answer_and_usage(api: Api, llm: FakeLLM) -> None:
    llm.script(Reply(text="Streaming, piece by piece.", chunk_size=3, usage=USAGE))
    stream = api.client().chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "stream to me"}],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=header_session("streamed"),
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streaming, piece by piece."
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 5
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "stop" and finish.count("stop") == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 7 and chunks[-1].usage.prompt_tokens == 123
    assert {c.id for c in chunks} == {chunks[0].id}

    answer = rows(api.daemon, "messages", session_id="api:streamed", message_type="agent_response")
    assert answer[0]["content"]["text"] == text


def test_the_stream_ends_with_done_as_the_sdks_expect(api: Api, llm: FakeLLM) -> None:
    llm.script(Reply(text="raw bytes"))
    with httpx.stream(
        "POST",
        api.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {TOKEN}", **header_session("raw-sse")},
        json={"model": "pulse", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    datas = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(d["object"] == "chat.completion.chunk" for d in datas)
    assert not any("usage" in d for d in datas)  # not asked for


def test_only_the_last_user_message_becomes_the_turn(api: Api, llm: FakeLLM) -> None:
    llm.script(Reply(text="First answer."), Reply(text="Second answer."))
    client = api.client()
    opening = [{"role": "user", "content": "my name is Ada (history test)"}]
    first = client.chat.completions.with_raw_response.create(model="pulse", messages=opening)
    session = first.headers["x-pulse-session"]
    second = client.chat.completions.with_raw_response.create(
        model="pulse",
        messages=[
            *opening,
            {"role": "assistant", "content": "a different answer the client kept"},
            {"role": "user", "content": [{"type": "text", "text": "what is my name?"}]},
        ],
    )
    assert second.headers["x-pulse-session"] == session  # the same conversation
    inputs = rows(api.daemon, "messages", session_id=session, message_type="user_input")
    assert [r["content"]["text"] for r in inputs] == [
        "my name is Ada (history test)",
        "what is my name?",
    ]
    # The model sees Pulse's own history, not the client's copy.
    sent = [
        (m["role"], strip_context(m.get("content")))
        for m in llm.requests[-1].body["messages"]
        if m["role"] != "system"
    ]
    assert sent == [
        ("user", "my name is Ada (history test)"),
        ("assistant", "First answer."),
        ("user", "what is my name?"),
    ]


def test_sessions_from_the_header_the_user_field_or_the_opening(api: Api) -> None:
    client = api.client()

    def session_of(**kw: object) -> str:
        raw = client.chat.completions.with_raw_response.create(model="pulse", **kw)  # type: ignore[call-overload]
        return str(raw.headers["x-pulse-session"])

    ask = [{"role": "user", "content": "which session?"}]
    assert session_of(messages=ask, extra_headers=header_session("work")) == "api:work"
    assert session_of(messages=ask, user="ada@example.org") == "api:ada@example.org"
    odd = session_of(messages=ask, user="Ada Lovelace")
    assert odd.startswith("api:u-") and odd == session_of(messages=ask, user="Ada Lovelace")
    opened = session_of(messages=ask)
    assert opened.startswith("api:c-")
    other = session_of(messages=[{"role": "system", "content": "be brief"}, *ask])
    assert other.startswith("api:c-") and other != opened
    with pytest.raises(openai.BadRequestError) as bad:
        session_of(messages=ask, extra_headers=header_session("no spaces allowed"))
    assert "X-Pulse-Session" in bad.value.message


def test_models_list_and_unknown_model(api: Api) -> None:
    client = api.client()
    assert [m.id for m in client.models.list()] == ["pulse"]
    assert client.models.retrieve("pulse").owned_by == "pulse"
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert nf.value.code == "model_not_found" and "pulse" in nf.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_wrong_or_missing_token_is_refused(api: Api) -> None:
    with pytest.raises(openai.AuthenticationError) as wrong:
        api.client(token="not-the-token").chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "let me in"}]
        )
    assert wrong.value.status_code == 401 and wrong.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        api.client(token=TOKEN + "x").models.list()
    bare = httpx.get(api.base_url + "/models", timeout=10)
    assert bare.status_code == 401 and bare.headers["www-authenticate"].startswith("Bearer")
    assert "no bearer token" in bare.json()["error"]["message"]
    unknown = httpx.get(api.base_url + "/secrets", timeout=10)
    assert unknown.status_code == 401  # no route is answered before the token is checked
    stored = rows(api.daemon, "messages", source="api", limit=1000)
    assert not any("let me in" in json.dumps(r["content"]) for r in stored)


def test_a_tool_call_runs_server_side(api: Api, llm: FakeLLM) -> None:
    llm.script(
        Reply(text="Let me check.", tool_calls=[("current_time", {})]),
        Reply(text="It is time for tea."),
        Reply(text="Checking.", tool_calls=[("current_time", {})]),
        Reply(text="Still tea time."),
    )
    client = api.client()
    done = client.chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "what time is it?"}],
        extra_headers=header_session("tools"),
    )
    assert done.choices[0].message.content == "It is time for tea."
    (tlog,) = rows(api.daemon, "tool_logs", session_id="api:tools")
    assert tlog["tool"] == "current_time" and tlog["status"] == "ok"
    tool_msgs = [m for m in llm.requests[1].body["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and tool_msgs[0]["content"]  # the result went back

    stream = client.chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "and now?"}],
        stream=True,
        extra_headers={**header_session("tools"), "X-Pulse-Show-Tools": "1"},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.startswith("Checking.\n\n[tool current_time {}]\n[tool current_time: ok, ")
    assert text.endswith(" ms]\n\nStill tea time.")


def test_an_ask_tool_is_denied_in_an_unattended_turn(api: Api, llm: FakeLLM) -> None:
    llm.script(
        Reply(tool_calls=[("write_file", {"path": "api.txt", "content": "x"})]),
        Reply(text="I could not write it."),
    )
    done = api.client().chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "write api.txt"}],
        extra_headers=header_session("ask"),
    )
    assert done.choices[0].message.content == "I could not write it."
    (tlog,) = rows(api.daemon, "tool_logs", session_id="api:ask")
    assert tlog["tool"] == "write_file" and tlog["status"] == "denied"
    assert not (api.daemon.workspace / "api.txt").exists()


def test_concurrent_requests_on_different_sessions_run_together(api: Api, llm: FakeLLM) -> None:
    release = threading.Event()
    started = [threading.Event() for _ in range(3)]
    llm.script(*(Hang(20, until=release, started=s) for s in started))
    client = api.client()

    def ask(i: int) -> str:
        done = client.chat.completions.create(
            model="pulse",
            messages=[{"role": "user", "content": f"question {i}"}],
            extra_headers=header_session(f"parallel-{i}"),
        )
        return done.choices[0].message.content or ""

    with ThreadPoolExecutor(3) as pool:
        answers = [pool.submit(ask, i) for i in range(3)]
        try:
            # All three reach the LLM before any is answered: they run at once.
            assert all(s.wait(15) for s in started)
        finally:
            release.set()
        assert [a.result(timeout=30) for a in answers] == [f"echo: question {i}" for i in range(3)]
    for i in range(3):
        msgs = rows(api.daemon, "messages", session_id=f"api:parallel-{i}")
        assert [m["message_type"] for m in msgs] == ["user_input", "agent_response"]


def test_an_error_mid_stream_reaches_the_sdk(api: Api, llm: FakeLLM) -> None:
    llm.script(Drop(after_chunks=2, text="This answer breaks off."))
    stream = api.client().chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "break please"}],
        stream=True,
        extra_headers=header_session("dropped"),
    )
    got = []
    with pytest.raises(openai.APIError) as err:
        for c in stream:
            got.append(c.choices[0].delta.content or "")
    assert "".join(got).startswith("This")
    assert isinstance(err.value.body, dict) and err.value.body["code"] == "provider_error"
    errors = rows(api.daemon, "messages", session_id="api:dropped", message_type="error")
    assert len(errors) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "should be a JSON object"),
        (b'{"model": "pulse"}', "messages is required"),
        (b'{"model": "pulse", "messages": []}', "non-empty array"),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model is required"),
        (b'{"model": "pulse", "messages": [{"role": "robot", "content": "hi"}]}', "role"),
        (
            b'{"model": "pulse", "messages": [{"role": "user", "content": "hi"},'
            b' {"role": "assistant", "content": "yo"}]}',
            "last message is the assistant's",
        ),
        (
            b'{"model": "pulse", "messages": [{"role": "user", "content": '
            b'[{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}',
            "not supported",
        ),
        (b'{"model": "pulse", "n": 3, "messages": [{"role": "user", "content": "hi"}]}', "n = 1"),
        (
            b'{"model": "pulse", "stream": "yes", "messages": [{"role": "user", "content": "hi"}]}',
            "stream should be",
        ),
    ],
)
def test_a_malformed_body_is_a_400(api: Api, body: bytes, needle: str) -> None:
    resp = httpx.post(
        api.base_url + "/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert needle in error["message"] and error["type"] == "invalid_request_error"


def test_the_sdk_sees_a_malformed_request_as_bad_request(api: Api) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        api.client().chat.completions.create(
            model="pulse", messages=[{"role": "assistant", "content": "I speak first"}]
        )
    assert bad.value.param == "messages"


def test_temperature_and_max_tokens_pass_through(api: Api, llm: FakeLLM) -> None:
    done = api.client().chat.completions.create(
        model="pulse",
        messages=[{"role": "user", "content": "with settings"}],
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        extra_headers=header_session("settings"),
    )
    assert done.choices[0].message.content == "echo: with settings"
    sent = llm.requests[-1].body
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50  # the client's
    assert "top_p" not in sent  # the agent's settings apply
    (row,) = [
        r
        for r in rows(api.daemon, "messages", message_type="user_input")
        if r["content"]["text"] == "with settings"
    ]
    assert row["content"]["temperature"] == 0.2 and row["content"]["max_tokens"] == 50
    with pytest.raises(openai.BadRequestError):
        api.client().chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "hot"}], temperature=7
        )


def test_status_shows_the_bound_address(api: Api) -> None:
    state = listener(api.daemon)
    assert state.state == "serving" and state.address.startswith("http://127.0.0.1:")
    assert not state.address.endswith(":0")
    out = api.daemon.pulsectl("status")
    assert f"{state.address}/v1" in out.stdout
    started = rows(api.daemon, "events", event_type="http_api_started")
    assert started[0]["payload"]["address"] == state.address


def test_unknown_paths_and_methods_get_error_objects(api: Api) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    missing = httpx.post(api.base_url + "/completions", headers=auth, json={}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(api.base_url + "/chat/completions", headers=auth, timeout=10)
    assert wrong.status_code == 405 and "POST" in wrong.json()["error"]["message"]
    assert wrong.headers["server"] == "pulsed"
