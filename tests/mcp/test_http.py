"""An MCP server over streamable HTTP (the SDK's app under uvicorn, in a thread here)
through the real daemon: headers with ${VAR}, a tool call in a turn, a server restart
that loses the session (reconnected, the next call works)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.daemon.util import send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config
from tests.mcp.http_server import HttpMcpServer
from tests.mcp.util import server_toml, tool_results, wait_state


@pytest.fixture
def web() -> Iterator[HttpMcpServer]:
    server = HttpMcpServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_http_server_through_turns_and_a_restart(web: HttpMcpServer, fake_llm: FakeLLM) -> None:
    extra = server_toml(
        "web", url=web.url, headers={"X-Pulse-Test": "${MCP_TEST_TOKEN}"}, timeout_s=10
    )
    d = Daemon(fake_llm_config(fake_llm.url, extra=extra), env={"MCP_TEST_TOKEN": "tok-42"})
    try:
        d.start()
        info = wait_state(d, "web")
        assert info.transport == "http" and "web__echo" in info.tools
        fake_llm.script(
            Reply(tool_calls=[("web__header", {"name": "X-Pulse-Test"})]),
            Reply(text="done"),
        )
        events = send(d, "which header?")
        assert tool_results(events)[0].status == "ok"
        sent = [m for m in fake_llm.requests[-1].body["messages"] if m["role"] == "tool"]
        assert sent[0]["content"] == "tok-42"

        # The server restarts on the same port: the daemon's session is gone.
        port = web.port
        web.stop()
        again = HttpMcpServer(port).start()
        try:
            # The first call after it is refused (unknown session), the daemon
            # reconnects and sends it again: the turn does not see the restart.
            fake_llm.script(Reply(tool_calls=[("web__add", {"a": 20, "b": 22})]), Reply(text="42"))
            events = send(d, "add")
            assert tool_results(events)[0].status == "ok"
            sent = [m for m in fake_llm.requests[-1].body["messages"] if m["role"] == "tool"]
            assert json.loads(sent[0]["content"]) == {"sum": 42}
            assert wait_state(d, "web").restarts == 1
        finally:
            again.stop()
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()
