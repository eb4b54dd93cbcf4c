"""MCP client figures, in this process against the stdio test server (servers/basic.py):
time from start to ready, one tool call's round trip, and the registry's cost of reading
the current MCP tools (what every turn pays)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from pulsed.config.extensions import McpConfig, McpServerConfig
from pulsed.mcp.manager import McpManager
from pulsed.tools.base import ToolContext, ToolRegistry
from tests.bench.common import Figure, median
from tests.mcp.util import BASIC


async def run() -> list[Figure]:
    cfg = McpConfig(servers={"b": McpServerConfig(command=sys.executable, args=[str(BASIC)])})
    with tempfile.TemporaryDirectory() as tmp:
        m = McpManager(cfg, Path(tmp))
        began = time.perf_counter()
        m.start()
        while not any(s.state == "ready" for s in m.states()):
            await asyncio.sleep(0.005)
        ready_ms = (time.perf_counter() - began) * 1000
        try:
            echo = next(t for t in m.current_tools() if t.name == "b__echo")
            ctx = ToolContext("t", "s")
            calls = []
            for _ in range(50):
                t0 = time.perf_counter()
                await echo.execute({"text": "x"}, ctx)
                calls.append((time.perf_counter() - t0) * 1000)
            reg = ToolRegistry([])
            reg.add_source(m)
            specs = []
            for _ in range(200):
                t0 = time.perf_counter()
                reg.specs()
                specs.append((time.perf_counter() - t0) * 1_000_000)
        finally:
            await m.stop()
    return [
        Figure("mcp stdio server start to ready", ready_ms, "ms", 5000, detail="python server"),
        Figure("mcp tool call round trip (median)", median(calls), "ms", 20),
        Figure("registry specs with MCP tools (median)", median(specs), "us", 500),
    ]
