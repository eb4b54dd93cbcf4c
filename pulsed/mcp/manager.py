"""The MCP servers of ``[mcp.servers.*]``: their supervised connections, the tools they
offer the agent (a ``ToolSource`` for the registry), their states, and probes.

``start()`` returns at once; each server connects in its own task, so a slow or broken
server delays neither the daemon nor a chat. The SDK is imported only when at least one
server is enabled (or probed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulsed.config.extensions import McpConfig, McpServerConfig
from pulsed.errors import NotFound
from pulsed.mcp.names import full_name, offered
from pulsed.mcp.state import ServerState
from pulsed.mcp.tool import McpTool
from pulsed.store import rows
from pulsed.store.base import Store, now_iso
from pulsed.tools.base import Tool

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.client.session import IncomingMessage

    from pulsed.mcp.connection import Connection

log = logging.getLogger("pulsed.mcp")


@dataclass(frozen=True, slots=True)
class ProbedTool:
    """One tool a probe listed: its own name, its full name, whether the agent gets it."""

    tool: str
    name: str
    offered: bool
    why: str = ""
    """Why not: filtered by include/exclude, or the name collision."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """A fresh connection's outcome (times in milliseconds)."""

    name: str
    transport: str
    ok: bool
    error: str = ""
    server_name: str = ""
    server_version: str = ""
    protocol_version: str = ""
    tools: list[ProbedTool] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float = 0.0


def _idempotent(tool: types.Tool) -> bool:
    ann = tool.annotations
    return bool(ann and (ann.read_only_hint or ann.idempotent_hint))


def _plan(
    server: str, cfg: McpServerConfig, tools: Sequence[types.Tool], taken: set[str]
) -> list[tuple[types.Tool, str, str]]:
    """``(tool, full name, why not offered or "")`` for each tool, in name order; names
    offered are added to ``taken``, and a name already there is refused."""
    out: list[tuple[types.Tool, str, str]] = []
    for t in sorted(tools, key=lambda t: t.name):
        name = full_name(server, t.name)
        if not offered(t.name, cfg.include, cfg.exclude):
            out.append((t, name, "filtered by include/exclude"))
        elif name in taken:
            out.append((t, name, f"refused: the name {name} is already taken by another tool"))
        else:
            taken.add(name)
            out.append((t, name, ""))
    return out


class McpManager:
    """All configured servers. ``reserved`` are the built-in tools' names, which an MCP
    tool may not take; ``store`` gets ``mcp_server_ready`` / ``mcp_server_failed`` events.
    """

    def __init__(
        self,
        cfg: McpConfig,
        log_dir: Path,
        reserved: set[str] | None = None,
        store: Store | None = None,
    ) -> None:
        self.cfg = cfg
        self.log_dir = log_dir
        self.reserved = set(reserved or ())
        self.store = store
        self._conns: dict[str, Connection] = {}
        self._tools: tuple[Tool, ...] = ()
        self._offered: dict[str, tuple[str, ...]] = {}
        self._refused: dict[str, tuple[str, ...]] = {}
        self._started = now_iso()
        self._pending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start a connection task for every enabled server; returns at once."""
        enabled = {n: s for n, s in self.cfg.servers.items() if s.enabled}
        if not enabled:
            return
        from pulsed.mcp.connection import Connection

        for name, srv in sorted(enabled.items()):
            conn = Connection(name, srv, self.log_dir, self._rebuild, self._event)
            self._conns[name] = conn
            conn.start()
        log.info("mcp: connecting to %s", ", ".join(sorted(enabled)))

    async def stop(self) -> None:
        """Stop every server (stdio ones with their process groups), in parallel."""
        conns = list(self._conns.values())
        await asyncio.gather(*(c.stop() for c in conns), return_exceptions=True)
        self._tools = ()
        for task in list(self._pending):
            with contextlib.suppress(Exception):
                await task

    def current_tools(self) -> Sequence[Tool]:
        """The MCP tools offered now (ToolSource), sorted by name."""
        return self._tools

    def _rebuild(self) -> None:
        """Recompute the offered tools after a server's state or tool list changed."""
        taken = set(self.reserved)
        tools: list[Tool] = []
        for name, conn in sorted(self._conns.items()):
            offered_names: list[str] = []
            refused: list[str] = []
            live = conn.tools if conn.state == "ready" else []
            for t, fname, why in _plan(name, conn.cfg, live, taken):
                if why.startswith("refused"):
                    refused.append(f"{t.name}: {why}")
                    continue
                if why:
                    continue
                offered_names.append(fname)
                tools.append(
                    McpTool(
                        fname,
                        name,
                        t.name,
                        t.description or "",
                        dict(t.input_schema),
                        conn.cfg.policy,
                        _idempotent(t),
                        conn.call,
                    )
                )
            for r in set(refused) - set(self._refused.get(name, ())):
                log.warning("mcp %s: tool %s", name, r)
            self._offered[name] = tuple(offered_names)
            self._refused[name] = tuple(refused)
        self._tools = tuple(sorted(tools, key=lambda t: t.name))

    def _event(self, event_type: str, severity: str, payload: dict[str, Any]) -> None:
        if self.store is None:
            return
        store = self.store

        async def write() -> None:
            try:
                await store.append(
                    "events",
                    [rows.event(event_type, source="mcp", payload=payload, severity=severity)],
                )
            except Exception:
                log.exception("mcp: could not record %s", event_type)

        task = asyncio.create_task(write())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def states(self) -> list[ServerState]:
        """Every configured server (disabled ones too), by name."""
        out: list[ServerState] = []
        for name, srv in sorted(self.cfg.servers.items()):
            conn = self._conns.get(name)
            if conn is None:
                transport = "http" if srv.url else "stdio"
                out.append(ServerState(name, "disabled", transport, self._started))
            else:
                out.append(conn.snapshot(self._offered.get(name, ()), self._refused.get(name, ())))
        return out

    def down(self) -> list[str]:
        """Names of enabled servers that are not ready (for the status bar)."""
        return [n for n, c in sorted(self._conns.items()) if c.state != "ready"]

    async def probe(self, name: str) -> ProbeResult:
        """Connect to ``name`` afresh (apart from its supervised connection, enabled or
        not), list its tools, close; with the time each step took.

        Raises:
            NotFound: no [mcp.servers.NAME] of that name.
        """
        srv = self.cfg.servers.get(name)
        if srv is None:
            known = ", ".join(sorted(self.cfg.servers)) or "none configured"
            raise NotFound(f"no MCP server named {name!r} ([mcp.servers.*]: {known})")
        from pulsed.mcp import procs
        from pulsed.mcp.transport import describe, open_session, transport_of

        loop = asyncio.get_running_loop()
        t0 = loop.time()
        pgid: list[int] = []
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

        async def ignore(message: IncomingMessage) -> None:
            return None

        result: ProbeResult
        with tempfile.TemporaryFile("w+", encoding="utf-8", dir=self.log_dir) as errlog:
            try:
                async with contextlib.AsyncExitStack() as stack:
                    opened = await open_session(
                        stack, srv, errlog, ignore, lambda: None, pgid.append
                    )
                    taken = self.reserved | {
                        t for n, names in self._offered.items() if n != name for t in names
                    }
                    tools = [
                        ProbedTool(t.name, fname, not why, why)
                        for t, fname, why in _plan(name, srv, opened.tools, taken)
                    ]
                    info = opened.init.server_info
                    result = ProbeResult(
                        name,
                        transport_of(srv),
                        True,
                        server_name=info.name,
                        server_version=info.version or "",
                        protocol_version=str(opened.init.protocol_version),
                        tools=tools,
                        timings_ms=dict(opened.timings_ms),
                    )
            except Exception as e:
                error = describe(e, srv)
                errlog.seek(0)
                lines = [ln for ln in errlog.read().splitlines() if ln.strip()]
                if lines:
                    error = f"{error} (stderr: {lines[-1].strip()[:300]})"
                result = ProbeResult(name, transport_of(srv), False, error=error)
            finally:
                for g in pgid:
                    await procs.sweep_group(g)
        total = (loop.time() - t0) * 1000
        return dataclasses.replace(result, total_ms=total)
