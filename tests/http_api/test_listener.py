"""The HTTP API listener's rules: token required, loopback unless TLS or allow_insecure,
the body limit, budget caps as 429, fallback models, TLS, and what the status shows."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.daemon.util import rows
from tests.fakes.llm import FakeLLM, Hang, Reply
from tests.harness import ROOT, Daemon, fake_llm_config
from tests.http_api.conftest import TOKEN, Api, api_config, listener, start_api


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """Daemons a test starts; each is stopped and removed after it."""
    started: list[Daemon] = []
    yield started
    for d in started:
        try:
            d.stop()
        finally:
            d.cleanup()


def serve(daemons: list[Daemon], config: str, env: dict[str, str] | None = None) -> Api:
    a = start_api(config, env)
    daemons.append(a.daemon)
    return a


def test_a_budget_cap_is_a_429_naming_the_cap(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    api = serve(daemons, api_config(fake_llm.url, extra="[budget]\ndaily_usd = 0.0001\n"))
    client = api.client()
    with pytest.raises(openai.RateLimitError) as capped:
        client.chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "an expensive question"}]
        )
    err = capped.value
    assert err.status_code == 429 and err.code == "budget_exceeded"
    assert isinstance(err.body, dict) and err.body["cap"] == "daily"
    assert "daily budget" in err.message and "daily_usd" in err.message
    assert err.response.headers["x-should-retry"] == "false"
    assert not fake_llm.requests  # refused before any LLM call
    with pytest.raises(openai.RateLimitError):  # streamed: refused before the stream starts
        client.chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "again"}], stream=True
        )
    errors = rows(api.daemon, "messages", source="api")
    assert [r["message_type"] for r in errors] == ["user_input", "user_input"]
    assert len(rows(api.daemon, "events", event_type="budget_exceeded")) == 2


def test_no_provider_is_a_503(daemons: list[Daemon]) -> None:
    config = '[agent]\nprovider = "anthropic"\n[api.http]\nenabled = true\n'
    config += f'listen = "127.0.0.1:0"\ntoken = "{TOKEN}"\n'
    api = serve(daemons, config)  # and no ANTHROPIC_API_KEY: the harness removes it
    with pytest.raises(openai.InternalServerError) as down:
        api.client().chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "anyone there?"}]
        )
    assert down.value.status_code == 503 and down.value.code == "no_provider"
    assert "ANTHROPIC_API_KEY" in down.value.message
    assert down.value.response.headers["x-should-retry"] == "false"


def test_fallbacks_are_offered_as_models(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    with FakeLLM() as backup:
        config = (
            api_config(fake_llm.url).replace(
                'model = "fake-model"',
                'model = "fake-model"\nfallback = ["openai:backup-model"]',
            )
            + f'\n[providers.openai]\nbase_url = "{backup.url}"\napi_key = "k"\n'
        )
        api = serve(daemons, config)
        client = api.client()
        assert [m.id for m in client.models.list()] == ["pulse", "pulse:openai:backup-model"]
        done = client.chat.completions.create(
            model="pulse:openai:backup-model",
            messages=[{"role": "user", "content": "use the backup"}],
        )
        assert done.model == "pulse:openai:backup-model"
        assert done.choices[0].message.content == "echo: use the backup"
        assert len(backup.requests) == 1 and not fake_llm.requests
        assert backup.requests[0].body["model"] == "backup-model"


def test_a_body_over_max_body_bytes_is_a_413(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    api = serve(daemons, api_config(fake_llm.url, http="max_body_bytes = 2048"))
    with pytest.raises(openai.APIStatusError) as big:
        api.client().chat.completions.create(
            model="pulse", messages=[{"role": "user", "content": "x" * 4000}]
        )
    assert big.value.status_code == 413 and big.value.code == "request_too_large"
    assert "max_body_bytes" in big.value.message
    done = api.client().chat.completions.create(
        model="pulse", messages=[{"role": "user", "content": "x" * 1000}]
    )
    assert done.choices[0].message.content == "echo: " + "x" * 1000
    assert not fake_llm.requests[0].body["messages"][-1]["content"].startswith("x" * 4000)


def run_pulsed(d: Daemon) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pulsed"],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0", "192.0.2.1:8788", "example.org:80"])
def test_a_non_loopback_listen_without_tls_is_refused(fake_llm: FakeLLM, listen: str) -> None:
    d = Daemon(api_config(fake_llm.url).replace('listen = "127.0.0.1:0"', f'listen = "{listen}"'))
    try:
        out = run_pulsed(d)
        assert out.returncode == 2, out.stderr
        err = out.stderr.strip()
        assert "Traceback" not in err and len(err.splitlines()) == 1, err
        assert "api.http.listen" in err and "not a loopback address" in err
        assert "cert" in err and "allow_insecure" in err
        assert not d.socket.exists()
    finally:
        d.cleanup()


def test_allow_insecure_serves_a_non_loopback_address(
    fake_llm: FakeLLM, daemons: list[Daemon]
) -> None:
    config = api_config(fake_llm.url, http="allow_insecure = true").replace(
        'listen = "127.0.0.1:0"', 'listen = "0.0.0.0:0"'
    )
    api = serve(daemons, config)
    assert api.base_url.startswith("http://0.0.0.0:")
    port = api.base_url.rsplit(":", 1)[1].split("/")[0]
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=TOKEN, max_retries=0)
    assert [m.id for m in client.models.list()] == ["pulse"]


def test_without_a_token_the_listener_stays_down_and_says_why(
    fake_llm: FakeLLM, daemons: list[Daemon]
) -> None:
    d = Daemon(api_config(fake_llm.url).replace(f'token = "{TOKEN}"', ""))
    daemons.append(d)
    d.start()
    state = listener(d)
    assert state.state == "off" and state.reason == "no token"
    assert "PULSE_API_TOKEN" in state.detail and not state.address
    out = d.pulsectl("status")
    assert out.returncode == 0, out.stderr
    assert "http api  off: no token" in out.stdout.replace("   ", "  ")
    assert "http api not serving: no token" in out.stderr
    events = rows(d, "events", event_type="http_api_down")
    assert events and events[0]["payload"]["state"] == "off"


def test_the_token_may_come_from_the_environment(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    config = api_config(fake_llm.url).replace(f'token = "{TOKEN}"', "")
    api = serve(daemons, config, env={"PULSE_API_TOKEN": "from-the-env"})
    assert [m.id for m in api.client(token="from-the-env").models.list()] == ["pulse"]
    with pytest.raises(openai.AuthenticationError):
        api.client().models.list()


def test_disabled_by_default(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    d = Daemon(fake_llm_config(fake_llm.url))
    daemons.append(d)
    d.start()
    assert listener(d).state == "disabled"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_tls_serves_https(fake_llm: FakeLLM, daemons: list[Daemon], tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    api = serve(daemons, api_config(fake_llm.url, http=f'cert = "{cert}"\nkey = "{key}"'))
    assert api.base_url.startswith("https://127.0.0.1:")
    tls = ssl.create_default_context(cafile=str(cert))
    client = api.client(http_client=openai.DefaultHttpxClient(verify=tls))
    done = client.chat.completions.create(
        model="pulse", messages=[{"role": "user", "content": "over TLS"}]
    )
    assert done.choices[0].message.content == "echo: over TLS"
    with pytest.raises(httpx.HTTPError):  # plain HTTP gets nothing from a TLS port
        httpx.get(api.base_url.replace("https", "http") + "/models", timeout=5)


def test_a_bad_certificate_leaves_the_listener_down(
    fake_llm: FakeLLM, daemons: list[Daemon], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.pem"
    d = Daemon(api_config(fake_llm.url, http=f'cert = "{missing}"\nkey = "{missing}"'))
    daemons.append(d)
    d.start()
    state = listener(d)
    assert state.state == "error" and state.reason == "bad certificate"
    assert str(missing) in state.detail


def test_a_busy_port_leaves_the_listener_down(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    first = serve(daemons, api_config(fake_llm.url))
    port = first.base_url.rsplit(":", 1)[1].split("/")[0]
    d = Daemon(api_config(fake_llm.url).replace("127.0.0.1:0", f"127.0.0.1:{port}"))
    daemons.append(d)
    d.start()
    state = listener(d)
    assert state.state == "error" and state.reason == "cannot listen"
    assert f"127.0.0.1:{port}" in state.detail


def test_a_request_running_at_shutdown_gets_an_answer(
    fake_llm: FakeLLM, daemons: list[Daemon]
) -> None:
    api = serve(daemons, api_config(fake_llm.url))
    fake_llm.script(Reply(text="finished in time", delay_s=0.2, chunk_size=4))
    client = api.client()
    stream = client.chat.completions.create(
        model="pulse", messages=[{"role": "user", "content": "slow one"}], stream=True
    )
    first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert api.daemon.proc is not None
    api.daemon.proc.terminate()  # SIGTERM: the turn gets the grace period
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "finished in time"
    assert api.daemon.proc.wait(20) == 0


def test_a_quiet_stream_starts_and_keeps_alive(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    api = serve(daemons, api_config(fake_llm.url, http="keepalive_s = 0.2"))
    release, started = threading.Event(), threading.Event()
    fake_llm.script(Hang(20, until=release, started=started, reply=Reply(text="at last")))
    with httpx.stream(
        "POST",
        api.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"model": "pulse", "stream": True, "messages": [{"role": "user", "content": "slow"}]},
        timeout=30,
    ) as resp:
        assert resp.status_code == 200  # started before the turn's first event
        lines = resp.iter_lines()
        seen: list[str] = []
        for line in lines:
            seen.append(line)
            if seen.count(": keep-alive") == 2:
                break
        assert started.wait(15)  # the LLM call is still held
        release.set()
        seen += list(lines)
    body = [x for x in seen if x]
    assert json.loads(body[0][6:])["choices"][0]["delta"]["role"] == "assistant"
    assert body[1] == ": keep-alive" and body[-1] == "data: [DONE]"
    chunks = [json.loads(x[6:]) for x in body if x.startswith("data: {")]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "at last"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None,
    reason="mounting a tmpfs for the data dir needs root and mount(8) (CI runs as root)",
)
def test_a_store_that_cannot_write_is_a_503(fake_llm: FakeLLM, daemons: list[Daemon]) -> None:
    d = Daemon(api_config(fake_llm.url))
    d.data_dir.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(d.data_dir)], check=True
    )
    try:
        d.start()
        daemons.append(d)
        client = openai.OpenAI(
            base_url=listener(d).address + "/v1", api_key=TOKEN, max_retries=0, timeout=30
        )
        filler = d.data_dir / "filler"
        with open(filler, "wb") as f, contextlib.suppress(OSError):
            while True:
                f.write(b"\0" * (256 * 1024))
                f.flush()
        with pytest.raises(openai.InternalServerError) as down:
            client.chat.completions.create(
                model="pulse", messages=[{"role": "user", "content": "is anyone writing?"}]
            )
        assert down.value.status_code == 503 and down.value.type == "service_unavailable"
        filler.unlink()
    finally:
        with contextlib.suppress(RuntimeError):
            d.stop()
        subprocess.run(["umount", "-l", str(d.data_dir)], check=False)
