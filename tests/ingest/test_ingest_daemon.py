"""Webhooks on the real daemon: a listener on port 0 reports its address, a refused
request stores nothing, a signed one is stored and fires a trigger."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from pulsed.ingest.webhooks import signature
from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon, fake_llm_config, running

SECRET = "hook-secret"


@pytest.fixture
def hooked(fake_llm: FakeLLM) -> Iterator[Daemon]:
    extra = f"""
[ingest.webhooks]
listen = "127.0.0.1:0"
[ingest.webhooks.routes.github]
secret = "{SECRET}"
"""
    d = Daemon(fake_llm_config(fake_llm.url, extra=extra))
    with running(d):
        yield d


def post(address: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(
        f"http://{address}/hooks/github", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def test_webhook_refused_then_accepted_and_fires(hooked: Daemon, fake_llm: FakeLLM) -> None:
    [listening] = wait_for(
        lambda: rows(hooked, "events", event_type="webhooks_listening"), what="the listener"
    )
    address = listening["payload"]["address"]
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    out = hooked.pulsectl(
        "tasks", "add", "opened", "--on", "ingest", "--where", "payload.action=opened",
        "--prompt", "A pull request was opened",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    body = json.dumps({"action": "opened", "number": 42}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
    assert post(address, body, headers) == 401
    assert post(address, body, {**headers, "X-Hub-Signature-256": "sha256=00"}) == 403
    assert rows(hooked, "ingest") == []
    signed = {**headers, "X-Hub-Signature-256": signature(SECRET, body)}
    assert post(address, body, signed) == 202
    [row] = rows(hooked, "ingest")
    assert row["source"] == "webhook:github" and row["kind"] == "pull_request"
    wait_for(lambda: len(fake_llm.requests) == 1, what="the trigger's LLM call")
    assert "A pull request was opened" in json.dumps(fake_llm.requests[0].body)
