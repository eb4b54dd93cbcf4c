"""Fixtures for the HTTP API tests: a real pulsed serving ``[api.http]`` on a free
loopback port (``listen = "127.0.0.1:0"``; the bound port comes from its status) with
its agent on the fake LLM, and the official openai SDK as the client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
from pulse.v1 import system_pb2

from tests.fakes.llm import FakeLLM
from tests.harness import Daemon, fake_llm_config

TOKEN = "test-token-0123456789"


def api_config(fake_url: str, http: str = "", extra: str = "") -> str:
    """Config text: the agent on the fake LLM and ``[api.http]`` enabled on a free port,
    plus ``http`` lines in [api.http] and ``extra`` sections."""
    return fake_llm_config(fake_url, extra=extra) + (
        f'\n[api.http]\nenabled = true\nlisten = "127.0.0.1:0"\ntoken = "{TOKEN}"\n{http}\n'
    )


def listener(d: Daemon) -> system_pb2.ListenerSummary:
    """The daemon's HTTP API listener as its status shows it."""
    st = d.system().Status(system_pb2.StatusRequest(), timeout=5)
    found = [x for x in st.listeners if x.name == "http_api"]
    assert found, f"no http_api listener in the status: {st}"
    return found[0]


@dataclass
class Api:
    """A daemon serving the HTTP API: its base URL (``.../v1``) and SDK clients."""

    daemon: Daemon
    base_url: str

    def client(self, token: str = TOKEN, **kw: object) -> openai.OpenAI:
        """An openai client; no retries, so a 429 or 5xx answer is seen as it is."""
        return openai.OpenAI(base_url=self.base_url, api_key=token, max_retries=0, timeout=30, **kw)

    def async_client(self, token: str = TOKEN) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=token, max_retries=0, timeout=30)


def start_api(config: str, env: dict[str, str] | None = None) -> Api:
    d = Daemon(config, env=env)
    d.start()
    state = listener(d)
    assert state.state == "serving", (state, d.log())
    return Api(d, state.address + "/v1")


@dataclass
class Served:
    """One daemon and its fake LLM, shared by the tests of a module."""

    api: Api
    llm: FakeLLM


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with FakeLLM() as fake:
        a = start_api(api_config(fake.url, extra="[budget]\ndaily_usd = 0\n"))
        try:
            yield Served(a, fake)
        finally:
            try:
                a.daemon.stop()
            finally:
                a.daemon.cleanup()


@pytest.fixture
def api(served: Served) -> Api:
    """pulsed with the HTTP API on a free port, its agent on ``llm`` (shared by the
    module's tests: each uses sessions of its own)."""
    served.llm.reset()
    return served.api


@pytest.fixture
def llm(served: Served) -> FakeLLM:
    """The fake LLM behind ``api`` (its script and request log reset per test)."""
    return served.llm
