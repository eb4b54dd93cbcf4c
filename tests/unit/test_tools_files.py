"""File tools on a real temporary workspace: confinement, traversal and symlink escapes."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
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


RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


def _exchanger(a: Path, b: Path) -> Callable[[], None]:
    """One atomic swap of ``a`` and ``b`` with renameat2(RENAME_EXCHANGE) (glibc ≥ 2.28)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        pytest.skip("this libc has no renameat2")
    fn = libc.renameat2

    def swap() -> None:
        if fn(AT_FDCWD, bytes(a), AT_FDCWD, bytes(b), RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")

    return swap


async def test_folder_swapped_for_symlink_never_escapes(ws: Workspace, tmp_path: Path) -> None:
    """The attack of issue 17 item 3: a thread swaps the workspace folder ``d`` and a
    symlink to an outside folder in a loop while the tools work on ``d/...``. Every call
    either works inside or is refused; none reads, lists or writes outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE")
    (outside / "only-outside.txt").write_text("x")
    (ws.root / "d").mkdir()
    (ws.root / "d" / "secret.txt").write_text("inside")
    os.symlink(outside, ws.root / "dl")
    swap = _exchanger(ws.root / "d", ws.root / "dl")
    swap()  # prove the kernel and file system support the exchange
    swap()
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set():
            swap()
            swaps += 1

    thread = threading.Thread(target=swapper, daemon=True)
    thread.start()
    escapes: list[str] = []
    worked = refused = 0
    try:
        for _ in range(600):
            for tool, args in (
                (ReadFile(ws, 1000), {"path": "d/secret.txt"}),
                (ListDir(ws), {"path": "d"}),
                (WriteFile(ws), {"path": "d/x.txt", "content": "w"}),
            ):
                try:
                    out = await tool.execute(args, CTX)
                except ToolFailure:
                    refused += 1
                    continue
                worked += 1
                if "OUTSIDE" in out.text or "only-outside" in out.text:
                    escapes.append(f"{tool.name}: {out.text!r}")
            if (outside / "x.txt").exists():
                escapes.append("write_file wrote outside/x.txt")
                (outside / "x.txt").unlink()
    finally:
        stop.set()
        thread.join()
    assert swaps > 100 and worked > 0 and refused > 0, (swaps, worked, refused)
    assert escapes == [], f"{len(escapes)} escapes, e.g. {escapes[:3]}"


async def test_hardlinked_and_foreign_files_refused(ws: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.link(secret, ws.root / "h")
    with pytest.raises(ToolFailure, match="hard links"):
        await ReadFile(ws, 1000).execute({"path": "h"}, CTX)
    with pytest.raises(ToolFailure, match="hard links"):
        await WriteFile(ws).execute({"path": "h", "content": "overwritten"}, CTX)
    assert secret.read_text() == "top secret"


async def test_fifo_does_not_hang_and_fds_are_released(ws: Workspace) -> None:
    os.mkfifo(ws.root / "pipe")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        with pytest.raises(ToolFailure, match="not a regular file"):
            await ReadFile(ws, 1000).execute({"path": "pipe"}, CTX)
        with pytest.raises(ToolFailure, match="symlink|no such"):
            await ListDir(ws).execute({"path": "nope/deeper"}, CTX)
        await ListDir(ws).execute({"path": "."}, CTX)
    assert len(os.listdir("/proc/self/fd")) <= before + 1
    assert (await ListDir(ws).execute({}, CTX)).text == "pipe  (0 bytes)"


async def test_symlink_inside_is_listed_not_followed(ws: Workspace) -> None:
    (ws.root / "real").mkdir()
    (ws.root / "real" / "f.txt").write_text("inner")
    os.symlink("real", ws.root / "alias")
    assert "alias@" in (await ListDir(ws).execute({}, CTX)).text
    with pytest.raises(ToolFailure, match="is a symlink"):
        await ReadFile(ws, 1000).execute({"path": "alias/f.txt"}, CTX)
    assert (await ReadFile(ws, 1000).execute({"path": "real/../real/f.txt"}, CTX)).text == ("inner")
