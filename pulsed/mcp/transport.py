"""Opening one MCP session with the SDK: the transport (stdio or streamable HTTP), the
``ClientSession`` over it, the initialize handshake and the tool listing.

Everything is entered on the caller's ``AsyncExitStack``, so the task that opens a
session is the one that closes it (the SDK's anyio cancel scopes require it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
import httpx2
import mcp_types as types
from mcp.client.session import ClientSession, MessageHandlerFnT
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from pulsed import __version__
from pulsed.config.extensions import McpServerConfig
from pulsed.mcp import procs

MAX_TOOL_PAGES = 100
"""Pages of tools/list followed before a listing is taken as complete."""

# One stdio spawn at a time, so the new child found in /proc is this spawn's.
_SPAWN_LOCK = asyncio.Lock()


def transport_of(cfg: McpServerConfig) -> str:
    """stdio | http."""
    return "http" if cfg.url else "stdio"


def server_env(cfg: McpServerConfig) -> dict[str, str]:
    """A stdio server's environment: PATH and HOME of the daemon, then what ``env``
    names (already ``${VAR}``-expanded by the config). The daemon's keys never pass."""
    env = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    env.update(cfg.env)
    return env


class _WatchedReadStream:
    """The transport's read stream, calling ``on_end`` once it ends (the server exited,
    closed stdout, or the transport shut down), so a dead session is noticed at once."""

    def __init__(self, inner: Any, on_end: Callable[[], None]) -> None:
        self._inner = inner
        self._on_end = on_end

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _WatchedReadStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # last_context of the HTTP transport's stream


@dataclass
class Opened:
    """A session after the handshake and the first tool listing."""

    session: ClientSession
    init: types.InitializeResult
    tools: list[types.Tool]
    pgid: int | None = None
    """The stdio server's process group (None for HTTP or when it was not found)."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    """spawn (or connect), initialize, list_tools: milliseconds each."""


async def list_all_tools(session: ClientSession) -> list[types.Tool]:
    """Every tool of the server, following ``nextCursor`` up to MAX_TOOL_PAGES pages."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


async def open_session(
    stack: contextlib.AsyncExitStack,
    cfg: McpServerConfig,
    errlog: TextIO,
    on_message: MessageHandlerFnT,
    on_end: Callable[[], None],
    on_pgid: Callable[[int], None] = lambda pgid: None,
) -> Opened:
    """Connect to the server of ``cfg`` on ``stack``: handshake, then list its tools, both
    within ``connect_timeout_s``. ``on_pgid`` learns a stdio server's process group as
    soon as it is spawned (before the handshake, so even a hung server is swept).

    Raises:
        OSError: a stdio command could not be started.
        TimeoutError: the handshake or listing took longer than ``connect_timeout_s``.
        mcp.shared.exceptions.MCPError, httpx2.HTTPError, ExceptionGroup: the server
            refused or the connection broke.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pgid: int | None = None
    if cfg.url:
        client = await stack.enter_async_context(
            httpx2.AsyncClient(headers=cfg.headers, timeout=httpx2.Timeout(30.0, read=300.0))
        )
        read, write = await stack.enter_async_context(
            streamable_http_client(cfg.url, http_client=client)
        )
    else:
        env = server_env(cfg)
        params = StdioServerParameters(command=cfg.command, args=list(cfg.args), env=env)
        async with _SPAWN_LOCK:
            before = procs.session_leaders()
            read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
            pgid = procs.pick_spawned(before, procs.session_leaders(), {**env})
        if pgid is not None:
            on_pgid(pgid)
    t1 = loop.time()
    session = await stack.enter_async_context(
        ClientSession(
            _WatchedReadStream(read, on_end),
            write,
            message_handler=on_message,
            client_info=types.Implementation(name="pulse", version=__version__),
        )
    )
    with anyio.fail_after(cfg.connect_timeout_s):
        init = await session.initialize()
        t2 = loop.time()
        tools = await list_all_tools(session)
    t3 = loop.time()
    timings = {
        "connect" if cfg.url else "spawn": (t1 - t0) * 1000,
        "initialize": (t2 - t1) * 1000,
        "list_tools": (t3 - t2) * 1000,
    }
    return Opened(session, init, tools, pgid, timings)


def describe(exc: BaseException, cfg: McpServerConfig) -> str:
    """A one-line account of why connecting or a session failed."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return f"no answer within {cfg.connect_timeout_s:g} s (connect_timeout_s)"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {cfg.command}"
    if isinstance(exc, httpx2.ConnectError):
        return f"cannot connect to {cfg.url}: {exc}"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text
