"""One supervised connection to an MCP server: a task that connects, keeps the session,
refreshes the tools on ``notifications/tools/list_changed``, notices when the server
dies or ends the session, and reconnects with exponential backoff until stopped.

The task owns the SDK's context managers (entered and exited in it); tool calls come
from the turns' tasks and only send requests on the live session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPError

from pulsed.config.extensions import McpServerConfig
from pulsed.mcp import procs
from pulsed.mcp.results import to_output
from pulsed.mcp.state import ServerState
from pulsed.mcp.transport import Opened, describe, list_all_tools, open_session, transport_of
from pulsed.store.base import now_iso
from pulsed.tools.base import ToolFailure, ToolOutput

log = logging.getLogger("pulsed.mcp")

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 60.0
STABLE_S = 60.0
"""A session that lasted this long resets the backoff."""
PING_EVERY_S = 30.0
"""An idle session is pinged this often; no answer within connect_timeout_s ends it."""
MAX_LOG_BYTES = 1024 * 1024
"""A server's stderr log is emptied when it grows past this (checked when idle)."""
STOP_WAIT_S = 10.0
"""Longest a stop waits for the SDK's shutdown (its own waits are bounded, ~6 s)."""


_SESSION_LOST = ("session terminated", "session not found")
"""How streamable HTTP says the server no longer knows the session (HTTP 404): the
request never ran, so it is sent again on a new session."""


class McpTimeout(TimeoutError):
    """A tool call ran past the server's ``timeout_s`` and was cancelled."""


class _SessionLost(Exception):
    """The server answered that it does not know the session."""


class Connection:
    """The supervised connection to one enabled server.

    ``on_change`` is called (synchronously) whenever the state or the tool list changes;
    ``on_event(type, severity, payload)`` when a session begins or breaks."""

    def __init__(
        self,
        name: str,
        cfg: McpServerConfig,
        log_dir: Path,
        on_change: Callable[[], None],
        on_event: Callable[[str, str, dict[str, Any]], None],
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.transport = transport_of(cfg)
        self._log_path = log_dir / f"{name}.log"
        self._on_change = on_change
        self._on_event = on_event
        self.state = "connecting"
        self.since = now_iso()
        self.last_error = ""
        self.restarts = 0
        self.pid = 0
        """The stdio server's pid (its process group), 0 when none runs or it is unknown."""
        self.tools: list[types.Tool] = []
        self.server_name = ""
        self.server_version = ""
        self._opened: Opened | None = None
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._broken = False
        self._was_ready = False
        self._refresh = False
        self._task: asyncio.Task[None] | None = None
        self._errlog: TextIO | None = None

    def start(self) -> None:
        """Begin connecting in the background."""
        self._log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The server's stderr, open as long as its connection. Appending (O_APPEND, shared
        # with the server), so emptying it when it grows leaves no hole.
        self._log_path.write_text("")
        self._errlog = open(self._log_path, "a", encoding="utf-8")  # noqa: SIM115
        self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self.name}")

    async def stop(self) -> None:
        """Close the session, stop the server (and its process group); idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def _set(self, state: str, error: str | None = None) -> None:
        if state != self.state:
            self.state, self.since = state, now_iso()
        if state == "ready":
            self._ready.set()
        else:
            self._ready.clear()
        if error is not None:
            self.last_error = error
        self._on_change()

    def _stderr_tail(self) -> str:
        """The server's last line on stderr, if any (it often says why it failed)."""
        try:
            with open(self._log_path, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 2048))
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1].strip()[:300] if lines else ""

    async def _supervise(self) -> None:
        delay = BACKOFF_INITIAL_S
        while True:
            began = time.monotonic()
            try:
                await self._session_once()
                error = "the server ended the session"
            except asyncio.CancelledError:
                raise
            except Exception as e:
                error = describe(e, self.cfg)
                tail = self._stderr_tail()
                if tail and self.transport == "stdio":
                    error = f"{error} (stderr: {tail})"
            was_ready, self._was_ready = self._was_ready, False
            self.tools = []
            log.warning("mcp %s: %s; retrying in %.1f s", self.name, error, delay)
            if was_ready or self.restarts == 0:
                payload = {"server": self.name, "error": error}
                self._on_event("mcp_server_failed", "warning", payload)
            self._set("failed", error)
            if time.monotonic() - began >= STABLE_S:
                delay = BACKOFF_INITIAL_S
            await asyncio.sleep(delay)  # backoff: nothing to wait on but time
            delay = min(delay * 2, BACKOFF_MAX_S)
            self.restarts += 1
            self._set("connecting")

    async def _session_once(self) -> None:
        """One session, from connecting until it breaks (returns) or fails (raises)."""
        self._broken = self._refresh = False
        self._wake.clear()
        assert self._errlog is not None
        try:
            async with contextlib.AsyncExitStack() as stack:
                opened = await open_session(
                    stack, self.cfg, self._errlog, self._on_message, self._on_end, self._spawned
                )
                self._opened = opened
                info = opened.init.server_info
                self.server_name, self.server_version = info.name, info.version or ""
                self.tools = opened.tools
                self._was_ready = True
                self._set("ready", "")
                self._on_event(
                    "mcp_server_ready",
                    "info",
                    {"server": self.name, "tools": len(opened.tools), "restarts": self.restarts},
                )
                await self._hold(opened)
        finally:
            self._opened = None
            pgid, self.pid = self.pid, 0
            if pgid:
                await procs.sweep_group(pgid)

    async def _hold(self, opened: Opened) -> None:
        """Keep the session until it breaks: refresh on list_changed, ping when idle."""
        while not self._broken:
            if self._refresh:
                self._refresh = False
                with anyio.fail_after(self.cfg.connect_timeout_s):
                    self.tools = await list_all_tools(opened.session)
                log.info("mcp %s: tools changed, now %d", self.name, len(self.tools))
                self._on_change()
                continue
            with anyio.move_on_after(PING_EVERY_S) as idle:
                await self._wake.wait()
            self._wake.clear()
            self._trim_log()
            if idle.cancelled_caught:
                with anyio.fail_after(self.cfg.connect_timeout_s):
                    await opened.session.send_ping()

    def _spawned(self, pgid: int) -> None:
        self.pid = pgid

    def _trim_log(self) -> None:
        if self._errlog is None:
            return
        fd = self._errlog.fileno()
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_size > MAX_LOG_BYTES:
                os.ftruncate(fd, 0)

    def _on_end(self) -> None:
        self._broken = True
        self._wake.set()

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._refresh = True
            self._wake.set()
        elif isinstance(message, Exception):
            log.debug("mcp %s: transport reported %r", self.name, message)

    async def call(self, tool: str, full_name: str, args: dict[str, Any]) -> ToolOutput:
        """Call ``tool`` (the server's own name) on the live session. A call the server
        refused because it lost the session (an HTTP server restarted) is sent once
        more on the next session, if one is ready within ``connect_timeout_s``.

        Raises:
            McpTimeout: no answer within ``timeout_s`` (the request is cancelled).
            ToolFailure: the server is not connected, or refused or lost the call.
        """
        try:
            return await self._call_once(tool, full_name, args)
        except _SessionLost:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), self.cfg.connect_timeout_s)
            try:
                return await self._call_once(tool, full_name, args)
            except _SessionLost:
                raise ToolFailure(
                    f"MCP server {self.name} lost the session twice; reconnecting"
                ) from None

    async def _call_once(self, tool: str, full_name: str, args: dict[str, Any]) -> ToolOutput:
        opened = self._opened
        if opened is None or self.state != "ready":
            why = f": {self.last_error}" if self.last_error else ""
            raise ToolFailure(f"MCP server {self.name} is not connected ({self.state}{why})")
        timeout = self.cfg.timeout_s
        try:
            result = await opened.session.call_tool(tool, args, read_timeout_seconds=timeout)
        except MCPError as e:
            if e.code == types.REQUEST_TIMEOUT:
                raise McpTimeout(
                    f"{full_name} did not finish within {timeout:g} s (timeout_s); cancelled"
                ) from None
            if e.message.lower() in _SESSION_LOST:
                if self._opened is opened:
                    self._ready.clear()
                    self._on_end()
                raise _SessionLost from None
            if e.code == types.CONNECTION_CLOSED:
                self._on_end()
                raise ToolFailure(
                    f"MCP server {self.name} lost the connection during the call; reconnecting"
                ) from None
            raise ToolFailure(f"MCP server {self.name}: {e.message}") from None
        if not isinstance(result, types.CallToolResult):
            raise ToolFailure(f"MCP server {self.name} answered with {type(result).__name__}")
        return to_output(result, self.cfg.max_output_bytes)

    def snapshot(self, offered: tuple[str, ...], refused: tuple[str, ...]) -> ServerState:
        """The state now, with the manager's view of which tools are offered."""
        return ServerState(
            name=self.name,
            state=self.state,
            transport=self.transport,
            since=self.since,
            last_error=self.last_error,
            tools=offered,
            refused=refused,
            server_name=self.server_name,
            server_version=self.server_version,
            restarts=self.restarts,
            pid=self.pid,
        )
