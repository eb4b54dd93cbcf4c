"""Helpers for the MCP tests: config for the test servers, waiting for a server's state."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pulse.v1 import mcp_pb2, mcp_pb2_grpc

from tests.daemon.util import wait_for
from tests.harness import Daemon

SERVERS = Path(__file__).resolve().parent / "servers"
BASIC = SERVERS / "basic.py"


def toml_value(value: Any) -> str:
    """A Python value as TOML (strings, numbers, lists, flat tables)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def server_toml(name: str, **keys: Any) -> str:
    """An ``[mcp.servers.NAME]`` table."""
    lines = [f"[mcp.servers.{name}]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def basic_stdio(name: str = "basic", **keys: Any) -> str:
    """The test server of servers/basic.py over stdio."""
    return server_toml(name, command=sys.executable, args=[str(BASIC)], **keys)


def servers(d: Daemon) -> dict[str, mcp_pb2.McpServerInfo]:
    resp = mcp_pb2_grpc.McpStub(d.channel()).List(mcp_pb2.ListMcpServersRequest(), timeout=10)
    return {s.name: s for s in resp.servers}


def wait_state(
    d: Daemon, name: str, state: str = "ready", timeout: float = 30.0, **more: Any
) -> mcp_pb2.McpServerInfo:
    """Wait until server ``name`` is in ``state`` (and, e.g., ``restarts=1``)."""

    def check() -> mcp_pb2.McpServerInfo | None:
        s = servers(d).get(name)
        if s is None or s.state != state:
            return None
        return s if all(getattr(s, k) >= v for k, v in more.items()) else None

    return wait_for(check, timeout, f"MCP server {name} {state} {more or ''}")  # type: ignore[no-any-return]


def tool_results(events: list[Any]) -> list[Any]:
    return [e.tool_result for e in events if e.WhichOneof("event") == "tool_result"]
