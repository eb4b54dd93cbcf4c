"""File tools on a real temporary workspace: confinement, traversal and symlink escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pulsed.tools.base import ToolContext, ToolFailure
from pulsed.tools.clock import CurrentTime
from pulsed.tools.files import ListDir, ReadFile, Workspace, WriteFile

CTX = ToolContext(turn_id="t-1", session_id="s-1", source="cli")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


async def test_write_read_list(ws: Workspace) -> None:
    out = await WriteFile(ws).execute({"path": "notes/a.txt", "content": "héllo"}, CTX)
    assert "wrote 6 bytes" in out.text
    assert (await ReadFile(ws, 1000).execute({"path": "notes/a.txt"}, CTX)).text == "héllo"
    listing = (await ListDir(ws).execute({}, CTX)).text
    assert listing == "notes/"
    assert "a.txt  (6 bytes)" in (await ListDir(ws).execute({"path": "notes"}, CTX)).text


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../x", "", "a\x00b"])
async def test_paths_outside_are_refused(ws: Workspace, path: str) -> None:
    with pytest.raises(ToolFailure):
        await ReadFile(ws, 1000).execute({"path": path}, CTX)
    with pytest.raises(ToolFailure):
        await WriteFile(ws).execute({"path": path, "content": "x"}, CTX)


async def test_symlink_escape_refused(ws: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, ws.root / "link.txt")
    os.symlink(tmp_path, ws.root / "dirlink")
    with pytest.raises(ToolFailure, match="outside the workspace"):
        await ReadFile(ws, 1000).execute({"path": "link.txt"}, CTX)
    with pytest.raises(ToolFailure, match="outside the workspace"):
        await WriteFile(ws).execute({"path": "dirlink/new.txt", "content": "x"}, CTX)
    assert not (tmp_path / "new.txt").exists()
    with pytest.raises(ToolFailure):
        await ListDir(ws).execute({"path": "dirlink"}, CTX)


async def test_read_limits_and_errors(ws: Workspace) -> None:
    (ws.root / "big.txt").write_text("x" * 50)
    out = await ReadFile(ws, 10).execute({"path": "big.txt"}, CTX)
    assert out.text.startswith("x" * 10) and "cut at 10 bytes" in out.text
    (ws.root / "bin").write_bytes(b"\x00\x01")
    with pytest.raises(ToolFailure, match="binary"):
        await ReadFile(ws, 10).execute({"path": "bin"}, CTX)
    with pytest.raises(ToolFailure, match="no such file"):
        await ReadFile(ws, 10).execute({"path": "nope.txt"}, CTX)
    with pytest.raises(ToolFailure, match="must be a string"):
        await ReadFile(ws, 10).execute({"path": 5}, CTX)


async def test_current_time() -> None:
    out = await CurrentTime().execute({"timezone": "UTC"}, CTX)
    assert "+00:00" in out.text
    with pytest.raises(ToolFailure, match="unknown time zone"):
        await CurrentTime().execute({"timezone": "Nowhere/Place"}, CTX)
