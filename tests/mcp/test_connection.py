"""The manager and its connections in this process (no daemon) against the stdio test
server: refused names in the state, the stderr log kept small, a stop that leaves no
server behind."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from pulsed.config.extensions import McpConfig, McpServerConfig
from pulsed.mcp import connection
from pulsed.mcp.manager import McpManager
from pulsed.tools.base import ToolContext
from tests.mcp.servers.basic import LONG
from tests.mcp.util import BASIC


async def _ready(m: McpManager, name: str) -> None:
    async def check() -> None:
        while not any(s.name == name and s.state == "ready" for s in m.states()):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(check(), 30)


async def test_refused_names_and_log_trimming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "PING_EVERY_S", 0.2)
    monkeypatch.setattr(connection, "MAX_LOG_BYTES", 10_000)
    cfg = McpConfig(servers={"b": McpServerConfig(command=sys.executable, args=[str(BASIC)])})
    m = McpManager(cfg, tmp_path, reserved={"read_file"})
    m.start()
    try:
        await _ready(m, "b")
        [state] = m.states()
        cut = ("b__" + LONG)[:64]
        assert cut in state.tools
        assert len(state.refused) == 1 and state.refused[0].startswith(LONG + "2: refused")
        tools = {t.name: t for t in m.current_tools()}
        assert tools[cut].description == "first long name"

        out = await tools["b__shout"].execute({"size": 50_000}, ToolContext("t", "s"))
        assert out.text == "shouted"
        log = tmp_path / "b.log"

        async def trimmed() -> None:
            while log.stat().st_size > 10_000:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(trimmed(), 10)
        out = await tools["b__shout"].execute({"size": 10}, ToolContext("t", "s"))
        assert log.stat().st_size <= 100  # appended at the new end: no hole left
    finally:
        await m.stop()
    assert m.current_tools() == ()


async def test_stop_while_connecting_leaves_no_process(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    script = f"import pathlib, time; pathlib.Path({str(marker)!r}).write_text('x'); time.sleep(600)"
    cfg = McpConfig(servers={"mute": McpServerConfig(command=sys.executable, args=["-c", script])})
    m = McpManager(cfg, tmp_path)
    m.start()

    async def started() -> None:
        while not marker.exists():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(started(), 30)
    [state] = m.states()
    assert state.state == "connecting"
    pgid = state.pid
    assert pgid > 0 and os.getpgid(pgid) == pgid
    await m.stop()
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
