"""An MCP server's tool as a Pulse Tool, named ``<server>__<tool>``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pulsed.tools.base import Tool, ToolContext, ToolOutput

Caller = Callable[[str, str, dict[str, Any]], Awaitable[ToolOutput]]
"""``(server's tool name, full name, arguments) -> output``; raises ToolFailure or
TimeoutError (``pulsed.mcp.connection.Connection.call``)."""


class McpTool(Tool):
    """One tool of one server. The description and JSON Schema are the server's; the
    default policy is the server's ``policy`` ([tools.policy] under the full name wins);
    read-only or idempotent tools (by the server's annotations) count as idempotent."""

    def __init__(
        self,
        name: str,
        server: str,
        tool: str,
        description: str,
        parameters: dict[str, Any],
        policy: str,
        idempotent: bool,
        call: Caller,
    ) -> None:
        self.name = name
        self.server = server
        self.tool = tool
        self.description = description or f"{tool} (from MCP server {server})"
        self.parameters = parameters or {"type": "object", "properties": {}}
        self.default_policy = policy
        self.idempotent = idempotent
        self._call = call

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        """Call the tool on its server (see ``Caller`` for what it raises)."""
        return await self._call(self.tool, self.name, args)
