"""A small MCP server for the tests, built with the SDK's MCPServer (FastMCP in mcp 1.x).

Run as ``python basic.py`` (stdio) or ``python basic.py http PORT_FILE`` (streamable HTTP on
127.0.0.1, an ephemeral port written to PORT_FILE).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent

server = MCPServer("basic")


@server.tool()
def echo(text: str) -> str:
    """Return the text as it came."""
    return text


@server.tool()
def add(a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def crash() -> str:
    """Exit the server process at once."""
    os._exit(3)


@server.tool()
def env_keys() -> list[str]:
    """Names of the server's environment variables."""
    return sorted(os.environ)


@server.tool()
def picture() -> list[Any]:
    """An image and a line of text."""
    png = base64.b64encode(b"\x89PNG" + b"0" * 96).decode()
    return [ImageContent(type="image", data=png, mimeType="image/png"), "a picture"]


@server.tool()
def fail(why: str) -> str:
    """Raise ToolError, which the server reports as an error result (isError)."""
    raise ToolError(why)


@server.tool()
def spawn_child(pid_file: str) -> str:
    """Start a long-lived child in the server's process group; write its pid."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(pid_file, "w") as f:
        f.write(str(child.pid))
    return str(child.pid)


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of request header NAME (streamable HTTP only)."""
    headers = ctx.headers or {}
    return str(headers.get(name.lower(), ""))


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Add a tool named NAME and tell the client the list changed."""

    def extra() -> str:
        return f"I am {name}"

    server.add_tool(extra, name=name, description=f"added at run time: {name}")
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.tool()
def shout(size: int) -> str:
    """Write SIZE bytes to stderr."""
    sys.stderr.write("!" * size + "\n")
    sys.stderr.flush()
    return "shouted"


# Two names that are one once cut to 64 characters: the second is refused.
LONG = "long_" + "a" * 70
server.add_tool(lambda: "one", name=LONG + "1", description="first long name")
server.add_tool(lambda: "two", name=LONG + "2", description="second long name")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        import socket

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        config = uvicorn.Config(server.streamable_http_app(), log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])
    else:
        server.run()


if __name__ == "__main__":
    main()
