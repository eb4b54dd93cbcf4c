"""The console's status bar names the MCP servers that are down (and only those)."""

from __future__ import annotations

from pulse.v1 import system_pb2

from pulsetui.widgets.status_bar import Connection, render


def test_status_bar_shows_mcp_servers_that_are_down() -> None:
    status = system_pb2.StatusResponse(
        store_backend="local", store_health="ok", provider="anthropic", model="m"
    )
    status.mcp_servers.add(name="time", state="ready", tools=2)
    line = render(Connection("connected", "", status)).plain
    assert "mcp" not in line
    status.mcp_servers.add(name="files", state="failed", last_error="command not found")
    status.mcp_servers.add(name="web", state="connecting")
    line = render(Connection("connected", "", status)).plain
    assert "│ ⚠ mcp files down │" in line and "web" not in line
    assert len(line) <= 80
