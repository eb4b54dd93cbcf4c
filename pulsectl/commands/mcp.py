"""``pulsectl mcp list | probe NAME``: the MCP servers of ``[mcp.servers.*]``, their state
and tools, and a fresh test connection (service ``pulse.v1.Mcp``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pulsectl import output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_ERROR, EXIT_OK
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import mcp_pb2


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``mcp list``: one line per server (``--json``: McpServerInfos)."""
    with _client(args) as client:
        resp = client.list_mcp_servers()
    if args.json:
        out.json_doc([server_dict(s) for s in resp.servers])
    elif not resp.servers:
        out.line("no MCP servers configured ([mcp.servers.NAME] in the config)")
    else:
        out.line(render_list(resp.servers, output.terminal_width()))
    return EXIT_OK


def cmd_probe(args: argparse.Namespace, out: Output) -> int:
    """``mcp probe NAME``: connect afresh, list the tools, show the timings; exit code 1
    when the connection failed."""
    with _client(args) as client:
        resp = client.probe_mcp_server(args.name)
    if args.json:
        out.json_doc(output.to_dict(resp))
    else:
        out.line(render_probe(resp, output.terminal_width()))
    return EXIT_OK if resp.ok else EXIT_ERROR


def server_dict(s: mcp_pb2.McpServerInfo) -> dict[str, Any]:
    """A server as JSON, every field present (lists may be empty)."""
    data = output.to_dict(s)
    data.setdefault("tools", [])
    data.setdefault("refused", [])
    return data


def render_list(servers: Any, width: int) -> str:
    """One line per server: state, transport, tools, since, last error."""
    rows = [
        [
            s.name,
            s.state,
            s.transport,
            str(len(s.tools)),
            output.local_time(s.since) if s.since else "-",
            s.last_error or ("; ".join(s.refused) if s.refused else "-"),
        ]
        for s in servers
    ]
    return output.table(
        ["server", "state", "transport", "tools", "since", "last error"],
        rows,
        width=width,
        right=(3,),
        keep={0},
    )


def render_probe(r: mcp_pb2.ProbeMcpServerResponse, width: int) -> str:
    """The probe's outcome, its timings, then one line per tool."""
    order = {"spawn": 0, "connect": 0, "initialize": 1, "list_tools": 2}
    timings = sorted(r.timings_ms.items(), key=lambda kv: (order.get(kv[0], 3), kv[0]))
    steps = ", ".join(f"{k} {output.milliseconds(v)}" for k, v in timings)
    pairs = [
        ("server", f"{r.name} ({r.transport})"),
        ("result", "ok" if r.ok else f"failed: {r.error}"),
    ]
    if r.ok:
        version = f" {r.server_version}" if r.server_version else ""
        pairs += [
            ("implementation", f"{r.server_name}{version}, protocol {r.protocol_version}"),
            ("timings", f"{steps}; total {output.milliseconds(r.total_ms)}"),
        ]
    else:
        pairs.append(("took", output.milliseconds(r.total_ms)))
    text = output.key_values(pairs)
    if r.tools:
        rows = [[t.name, "yes" if t.offered else "no", t.why or "-"] for t in r.tools]
        text += "\n\n" + output.table(["tool", "offered", "why not"], rows, width=width, keep={0})
    return text
