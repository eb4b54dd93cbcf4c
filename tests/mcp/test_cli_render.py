"""How pulsectl shows MCP servers: the list, a probe, the status line and warning."""

from __future__ import annotations

from pulse.v1 import mcp_pb2, system_pb2

from pulsectl import output
from pulsectl.commands.mcp import render_list, render_probe, server_dict


def test_list_lines_and_json() -> None:
    ready = mcp_pb2.McpServerInfo(
        name="time", state="ready", transport="stdio", tools=["time__a", "time__b"]
    )
    down = mcp_pb2.McpServerInfo(
        name="web", state="failed", transport="http", last_error="cannot connect"
    )
    text = render_list([ready, down], 100)
    lines = text.splitlines()
    assert lines[0].split() == ["SERVER", "STATE", "TRANSPORT", "TOOLS", "SINCE", "LAST", "ERROR"]
    assert lines[1].split()[:4] == ["time", "ready", "stdio", "2"]
    assert "cannot connect" in lines[2]
    assert server_dict(down)["tools"] == [] and server_dict(ready)["tools"] == [
        "time__a",
        "time__b",
    ]


def test_probe_shows_steps_in_order_and_why_tools_are_left_out() -> None:
    r = mcp_pb2.ProbeMcpServerResponse(
        name="time", transport="stdio", ok=True, server_name="mcp-time", protocol_version="v1"
    )
    r.timings_ms["list_tools"] = 3
    r.timings_ms["spawn"] = 1
    r.timings_ms["initialize"] = 2
    r.tools.add(tool="a", name="time__a", offered=True)
    r.tools.add(tool="b", name="time__b", offered=False, why="filtered by include/exclude")
    text = render_probe(r, 100)
    assert "spawn 1ms, initialize 2ms, list_tools 3ms" in text
    assert "filtered by include/exclude" in text
    failed = render_probe(
        mcp_pb2.ProbeMcpServerResponse(name="x", ok=False, error="command not found: x"), 100
    )
    assert "failed: command not found: x" in failed


def test_status_line_and_warning() -> None:
    st = system_pb2.StatusResponse()
    assert output.mcp_line(st.mcp_servers) == "none enabled"
    st.mcp_servers.add(name="time", state="ready", tools=2)
    st.mcp_servers.add(name="web", state="failed", last_error="refused")
    assert output.mcp_line(st.mcp_servers) == "time ready (2 tools), web failed"
    assert output.status_warnings(st) == ["MCP server web is down: refused (pulsectl mcp list)"]
