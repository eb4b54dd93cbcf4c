"""Pure parts of the HTTP API: the [api.http] rules, request parsing and session
mapping, the token check, models and error mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed.agent.events import Failed
from pulsed.config import load
from pulsed.config.http import is_loopback, parse_listen
from pulsed.errors import ConfigError, InvalidArgument, Unavailable
from pulsed.http_api.app import token_matches
from pulsed.http_api.errors import ApiError, budget_cap, from_failed, from_pulse_error
from pulsed.http_api.models import offered, resolve
from pulsed.http_api.request import parse_body, parse_request, session_for

CHAIN = [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4o-mini")]


def config(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    load(path, env or {})


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8788", ("127.0.0.1", 8788)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:8788", ("::1", 8788)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8788", ":8788", "host:port", "h:70000", "::1:8788"])
def test_parse_listen_refuses(listen: str) -> None:
    with pytest.raises(ConfigError, match="api.http.listen"):
        parse_listen(listen)


def test_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.9.1", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "pulse.lan", ""))


def test_the_tls_rule_is_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        config(tmp_path, '[api.http]\nenabled = true\nlisten = "0.0.0.0:8788"\n')
    for extra in ('cert = "c.pem"\nkey = "k.pem"', "allow_insecure = true", "enabled = false"):
        text = f'[api.http]\nlisten = "0.0.0.0:8788"\n{extra}\n'
        if "enabled" not in extra:
            text += "enabled = true\n"
        config(tmp_path, text)  # accepted
    with pytest.raises(ConfigError, match="both cert and key"):
        config(tmp_path, '[api.http]\ncert = "c.pem"\n')
    with pytest.raises(ConfigError, match="keepalive_s"):
        config(tmp_path, "[api.http]\nkeepalive_s = 0\n")


def test_the_token_falls_back_to_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[api.http]\nenabled = true\n")
    assert load(path, {"PULSE_API_TOKEN": "t0k"}).api.http.token == "t0k"
    path.write_text('[api.http]\nenabled = true\ntoken = "own"\n')
    assert load(path, {"PULSE_API_TOKEN": "t0k"}).api.http.token == "own"


def test_token_matches() -> None:
    assert token_matches("Bearer s3cret", "s3cret")
    assert token_matches("bearer  s3cret ", "s3cret")
    assert not token_matches("Bearer s3cre", "s3cret")
    assert not token_matches("Basic s3cret", "s3cret")
    assert not token_matches("s3cret", "s3cret")
    assert not token_matches("Bearer ", "")  # no token configured: nothing matches
    assert not token_matches("Bearer ünïcode", "s3cret")


def request(body: dict[str, object], headers: dict[str, str] | None = None, limit: int = 1000):  # type: ignore[no-untyped-def]
    return parse_request(body, headers or {}, limit)


def test_parse_request_takes_the_last_user_message() -> None:
    req = request(
        {
            "model": "pulse",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "reply"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.3,
            "max_tokens": 10,
        },
        {"X-Pulse-Show-Tools": "1"},
    )
    assert req.text == "a\nb" and req.stream and req.include_usage and req.show_tools
    assert req.ignored == []
    assert req.temperature == 0.3 and req.max_tokens == 10
    assert req.session_from == "conversation" and req.session_id.startswith("api:c-")


def test_the_conversation_session_is_its_opening() -> None:
    opening = [("system", "be brief"), ("user", "hello")]
    sid, how = session_for(None, "", opening)
    later, _ = session_for(None, "", [*opening, ("assistant", "hi"), ("user", "and then?")])
    assert how == "conversation" and sid == later
    assert session_for(None, "", [("user", "hello")])[0] != sid
    assert session_for(" work ", "someone", opening) == ("api:work", "header")
    assert session_for("", "ada", opening) == ("api:ada", "user")
    chat = "7f3c1a2e-0000-4000-8000-000000000001"
    assert session_for(None, "ada", opening, chat) == (f"api:owui-{chat}", "open-webui")
    assert session_for("work", "ada", opening, chat) == ("api:work", "header")
    odd, _ = session_for(None, "", opening, "a chat/with spaces")
    assert odd.startswith("api:owui-h-") and len(odd) == len("api:owui-h-") + 16


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "pulse", "messages": [{"role": "user", "content": "   "}]}, "messages"),
        ({"model": "pulse", "messages": [{"role": "user", "content": "x" * 1001}]}, "messages"),
        ({"model": "pulse", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "pulse", "messages": ["hi"]}, "messages[0]"),
        ({"model": "pulse", "user": 7, "messages": [{"role": "user", "content": "hi"}]}, "user"),
        (
            {
                "model": "pulse",
                "temperature": "hot",
                "messages": [{"role": "user", "content": "hi"}],
            },
            "temperature",
        ),
        ({"model": "", "messages": [{"role": "user", "content": "hi"}]}, "model"),
    ],
)
def test_parse_request_refuses(body: dict[str, object], param: str) -> None:
    with pytest.raises(ApiError) as err:
        request(body)
    assert err.value.status == 400 and err.value.param == param


def test_parse_body() -> None:
    assert parse_body(b'{"a": 1}') == {"a": 1}
    for raw in (b"", b"  ", b"nope", b'"text"', b"\xff\xfe"):
        with pytest.raises(ApiError):
            parse_body(raw)


def test_models() -> None:
    assert [m.id for m in offered(CHAIN)] == ["pulse", "pulse:openai:gpt-4o-mini"]
    assert resolve("pulse", CHAIN).turn_model == ""
    assert resolve("pulse:openai:gpt-4o-mini", CHAIN).turn_model == "openai:gpt-4o-mini"
    assert resolve("pulse:anthropic:claude-sonnet-4-5", CHAIN).turn_model.startswith("anthropic")
    with pytest.raises(ApiError) as nf:
        resolve("gpt-4o", CHAIN)
    assert nf.value.status == 404 and nf.value.code == "model_not_found"


def failed(code: str, message: str = "m") -> Failed:
    return Failed(turn_id="t", session_id="s", message_id="e", code=code, message=message)


def test_failed_turns_map_to_statuses() -> None:
    err = from_failed(failed("budget_exceeded", "monthly budget reached: $5 spent"))
    assert (err.status, err.code, err.body()["error"]["cap"]) == (429, "budget_exceeded", "monthly")
    assert err.headers == {"x-should-retry": "false"}
    assert from_failed(failed("no_provider")).status == 503
    assert from_failed(failed("store_unavailable")).status == 503
    assert from_failed(failed("provider_error")).headers == {}
    assert from_failed(failed("something new")).status == 500
    assert budget_cap("session budget reached") == "session"
    assert budget_cap("over the limit") == "budget"
    assert from_pulse_error(InvalidArgument("bad")).status == 400
    assert from_pulse_error(Unavailable("shutting down")).status == 503
