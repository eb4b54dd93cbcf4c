"""Redaction of stored tool-call arguments (issue 17 item 7): nested, by key and by shape."""

from __future__ import annotations

import json

import pytest

from pulsed.agent.redact import MASK, is_secret_key, redact


@pytest.mark.parametrize(
    "args",
    [
        {"options": {"api_key": "abc123secretvalue"}},
        {"headers": [{"Authorization": "Bearer abc123secretvalue"}]},
        {"pwd": "abc123secretvalue"},
        {"credentials": {"user": "me", "pass": "abc123secretvalue"}},
        {"cmd": "curl -H 'Authorization: Bearer abc123secretvalue' https://x"},
        {"env": ["OPENAI_API_KEY=abc123secretvalue"]},
        {"note": "my key is sk-abc123secretvalue0123456789"},
        {"t": "xoxb-1234567890-abc123secretvalue"},
        {"gh": "ghp_abc123secretvalueabc123secretvalue"},
        {"aws": "AKIAABC123SECRETVAL0"},
        {"bot": "123456789:abc123secretvalueabc123secretvalue123"},
        {
            "pem": "-----BEGIN RSA PRIVATE KEY-----\nabc123secretvalue\n"
            "-----END RSA PRIVATE KEY-----"
        },
        {"deep": [[{"x": {"X-Api-Key": "abc123secretvalue"}}]]},
        {"apiKey": "abc123secretvalue", "clientSecret": ["abc123secretvalue"]},
        {"url": "https://h/?token=abc123secretvalue&q=1"},
    ],
)
def test_secret_never_survives(args: dict[str, object]) -> None:
    out = json.dumps(redact(args))
    assert "abc123secretvalue" not in out and "ABC123SECRETVAL" not in out, out
    assert MASK in out


def test_ordinary_arguments_are_kept() -> None:
    args = {
        "path": "notes/a.txt",
        "max_tokens": 200,
        "input_tokens": 5,
        "keyword": "rex",
        "author": "Ann",
        "monkey": "banana",
        "timezone": "UTC",
        "n": [1, 2, {"ok": True}],
    }
    assert redact(args) == args
    assert args["path"] == "notes/a.txt"  # the input is not changed


def test_previews_and_depth() -> None:
    assert redact({"c": "x" * 500}, 10) == {"c": "x" * 10 + "… [500 chars]"}
    deep: object = "leaf"
    for _ in range(100):
        deep = [deep]
    assert "nested too deep" in json.dumps(redact(deep))


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("api_key", True),
        ("APIKey", True),
        ("key", True),
        ("X-Auth-Token", True),
        ("private_key", True),
        ("session_id", False),
        ("keyboard", False),
        ("key_id", False),
        ("tokens_used", False),
    ],
)
def test_secret_keys(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret
