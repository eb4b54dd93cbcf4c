"""What the daemon reports of one configured MCP server (``pulsectl mcp list``, the
status bar). Kept apart from ``connection`` so reporting never imports the MCP SDK
(a few seconds of pydantic models on this machine) when no server is enabled."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerState:
    """One configured server as ``pulsectl mcp list`` shows it.

    Attributes:
        state: connecting | ready | failed | disabled.
        transport: stdio | http.
        since: ISO 8601 UTC time the state began.
        tools: full names of the tools offered to the agent, sorted.
        refused: why some of its tools are not offered (name collisions).
        restarts: reconnections since the daemon started.
        pid: a stdio server's process id (and process group), 0 if none or unknown.
    """

    name: str
    state: str
    transport: str
    since: str
    last_error: str = ""
    tools: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    server_name: str = ""
    server_version: str = ""
    restarts: int = 0
    pid: int = 0
