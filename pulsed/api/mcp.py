"""Mcp: the MCP servers' states, and probes."""

from __future__ import annotations

from pulse.v1 import mcp_pb2, mcp_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import InvalidArgument, NotFound
from pulsed.mcp.manager import McpManager


class McpServicer(mcp_pb2_grpc.McpServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.mcp: McpManager | None = deps.mcp

    @unary
    async def List(
        self, request: mcp_pb2.ListMcpServersRequest, context: Context
    ) -> mcp_pb2.ListMcpServersResponse:
        states = self.mcp.states() if self.mcp is not None else []
        return mcp_pb2.ListMcpServersResponse(
            servers=[
                mcp_pb2.McpServerInfo(
                    name=s.name,
                    state=s.state,
                    transport=s.transport,
                    since=s.since,
                    last_error=s.last_error,
                    tools=list(s.tools),
                    refused=list(s.refused),
                    server_name=s.server_name,
                    server_version=s.server_version,
                    restarts=s.restarts,
                    pid=s.pid,
                )
                for s in states
            ]
        )

    @unary
    async def Probe(
        self, request: mcp_pb2.ProbeMcpServerRequest, context: Context
    ) -> mcp_pb2.ProbeMcpServerResponse:
        if not request.name.strip():
            raise InvalidArgument("name is required: a server of [mcp.servers.*]")
        if self.mcp is None:
            raise NotFound(f"no MCP server named {request.name!r} (none configured)")
        r = await self.mcp.probe(request.name)
        return mcp_pb2.ProbeMcpServerResponse(
            name=r.name,
            transport=r.transport,
            ok=r.ok,
            error=r.error,
            server_name=r.server_name,
            server_version=r.server_version,
            protocol_version=r.protocol_version,
            tools=[
                mcp_pb2.ProbedTool(tool=t.tool, name=t.name, offered=t.offered, why=t.why)
                for t in r.tools
            ],
            timings_ms=r.timings_ms,
            total_ms=r.total_ms,
        )
