"""The Mcp service's methods, mixed into the async and sync clients (``core.py`` holds the
connection; this module only the calls)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import grpc.aio
    from pulse.v1 import mcp_pb2, mcp_pb2_grpc

Q = TypeVar("Q")
R = TypeVar("R")
T = TypeVar("T")

PROBE_TIMEOUT_S = 120.0
"""Deadline of Mcp.Probe, seconds: a server may take up to its connect_timeout_s."""


class AsyncMcpCalls:
    """Mcp.List and Mcp.Probe on ``AsyncPulseClient``."""

    if TYPE_CHECKING:

        @property
        def channel(self) -> grpc.aio.Channel: ...

        async def _unary(
            self, method: grpc.aio.UnaryUnaryMultiCallable[Q, R], request: Q, timeout: float = 0
        ) -> R: ...

    @property
    def _mcp(self) -> mcp_pb2_grpc.McpAsyncStub:
        from pulse.v1 import mcp_pb2_grpc

        return mcp_pb2_grpc.McpStub(self.channel)

    async def list_mcp_servers(self) -> mcp_pb2.ListMcpServersResponse:
        """Mcp.List: every configured MCP server, its state, transport and tools."""
        from pulse.v1 import mcp_pb2

        return await self._unary(self._mcp.List, mcp_pb2.ListMcpServersRequest())

    async def probe_mcp_server(self, name: str) -> mcp_pb2.ProbeMcpServerResponse:
        """Mcp.Probe: connect to server ``name`` afresh, list its tools, with timings."""
        from pulse.v1 import mcp_pb2

        return await self._unary(
            self._mcp.Probe, mcp_pb2.ProbeMcpServerRequest(name=name), PROBE_TIMEOUT_S
        )


class SyncMcpCalls:
    """Mcp.List and Mcp.Probe on ``PulseClient``."""

    if TYPE_CHECKING:
        from pulsectl.client.core import AsyncPulseClient

        _core: AsyncPulseClient

        def _run(self, coro: Coroutine[Any, Any, T]) -> T: ...

    def list_mcp_servers(self) -> mcp_pb2.ListMcpServersResponse:
        """Mcp.List."""
        return self._run(self._core.list_mcp_servers())

    def probe_mcp_server(self, name: str) -> mcp_pb2.ProbeMcpServerResponse:
        """Mcp.Probe."""
        return self._run(self._core.probe_mcp_server(name))
