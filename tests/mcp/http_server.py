"""The test MCP server (servers/basic.py) over streamable HTTP, served by uvicorn in a
thread of the test process on 127.0.0.1 (port 0 unless given)."""

from __future__ import annotations

import socket
import threading

import uvicorn

from tests.daemon.util import wait_for
from tests.mcp.servers import basic


class HttpMcpServer:
    """``start()`` serves until ``stop()``; ``url`` is the MCP endpoint."""

    def __init__(self, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port: int = self.sock.getsockname()[1]
        # Open SSE streams (the daemon keeps one) would hold a graceful shutdown.
        config = uvicorn.Config(
            basic.server.streamable_http_app(), log_level="warning", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> HttpMcpServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 15, "uvicorn to serve")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()
