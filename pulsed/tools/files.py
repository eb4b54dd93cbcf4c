"""File tools confined to the workspace: read_file, write_file, list_dir.

Every path is taken relative to the workspace; absolute paths, ``..`` that leaves it, and
symlinks whose target lies outside it are refused. The final path is opened with
O_NOFOLLOW so a symlink swapped in after the check is refused too.
"""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput

MAX_WRITE_BYTES = 1024 * 1024
MAX_LIST_ENTRIES = 500


class Workspace:
    """The directory file tools may touch. ``root`` is created (0700) if missing."""

    def __init__(self, root: Path) -> None:
        root = root.expanduser()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root.resolve()

    def resolve(self, rel: str) -> Path:
        """The absolute, symlink-free path of ``rel`` inside the workspace.

        Raises:
            ToolFailure: empty, absolute, or resolving outside the workspace.
        """
        if not isinstance(rel, str) or rel.strip() == "":
            raise ToolFailure("path must be a non-empty string relative to the workspace")
        if "\x00" in rel:
            raise ToolFailure("path contains a NUL byte")
        p = Path(rel)
        if p.is_absolute():
            raise ToolFailure(
                f"{rel}: absolute paths are refused; give a path inside the workspace"
            )
        full = (self.root / p).resolve()
        if full != self.root and self.root not in full.parents:
            raise ToolFailure(f"{rel}: resolves outside the workspace; refused")
        return full

    def display(self, path: Path) -> str:
        """``path`` relative to the workspace, for messages."""
        return str(path.relative_to(self.root)) if path != self.root else "."


def _str_arg(args: dict[str, Any], name: str, default: str | None = None) -> str:
    v = args.get(name, default)
    if not isinstance(v, str):
        raise ToolFailure(f"argument {name!r} must be a string")
    return v


class ReadFile(Tool):
    name = "read_file"
    description = "Read a UTF-8 text file from the workspace. Paths are relative to the workspace."
    parameters = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "file path inside the workspace"}},
        "required": ["path"],
    }
    default_policy = "allow"

    def __init__(self, ws: Workspace, max_bytes: int) -> None:
        self.ws = ws
        self.max_bytes = max_bytes

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        path = self.ws.resolve(_str_arg(args, "path"))
        return await asyncio.to_thread(self._read, path)

    def _read(self, path: Path) -> ToolOutput:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise ToolFailure(f"{self.ws.display(path)}: no such file") from None
        except OSError as e:
            raise ToolFailure(f"{self.ws.display(path)}: {e.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ToolFailure(f"{self.ws.display(path)}: not a regular file")
            data = f.read(self.max_bytes + 1)
        note = ""
        if len(data) > self.max_bytes:
            data = data[: self.max_bytes]
            note = f"\n[cut at {self.max_bytes} bytes]"
        if b"\x00" in data:
            raise ToolFailure(f"{self.ws.display(path)}: binary file, not shown")
        return ToolOutput(data.decode("utf-8", errors="replace") + note)


class WriteFile(Tool):
    name = "write_file"
    description = (
        "Write a UTF-8 text file in the workspace, creating directories as needed. "
        "Overwrites an existing file."
    )
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "file path inside the workspace"},
            "content": {"type": "string", "description": "the whole new content"},
        },
        "required": ["path", "content"],
    }
    default_policy = "ask"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        path = self.ws.resolve(_str_arg(args, "path"))
        content = _str_arg(args, "content")
        data = content.encode("utf-8")
        if len(data) > MAX_WRITE_BYTES:
            raise ToolFailure(f"content is {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
        return await asyncio.to_thread(self._write, path, data)

    def _write(self, path: Path, data: bytes) -> ToolOutput:
        if path == self.ws.root:
            raise ToolFailure("path names the workspace itself")
        path.parent.mkdir(parents=True, exist_ok=True)
        # The parent may have been swapped for a symlink between resolve and mkdir.
        if (
            self.ws.root != path.parent.resolve()
            and self.ws.root not in path.parent.resolve().parents
        ):
            raise ToolFailure(f"{self.ws.display(path)}: resolves outside the workspace; refused")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise ToolFailure(f"{self.ws.display(path)}: {e.strerror}") from None
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return ToolOutput(f"wrote {len(data)} bytes to {self.ws.display(path)}")


class ListDir(Tool):
    name = "list_dir"
    description = "List a directory of the workspace: one entry per line, directories end in /."
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "directory inside the workspace; default ."}
        },
    }
    default_policy = "allow"

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        path = self.ws.resolve(_str_arg(args, "path", "."))
        return await asyncio.to_thread(self._list, path)

    def _list(self, path: Path) -> ToolOutput:
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except FileNotFoundError:
            raise ToolFailure(f"{self.ws.display(path)}: no such directory") from None
        except NotADirectoryError:
            raise ToolFailure(f"{self.ws.display(path)}: not a directory") from None
        except OSError as e:
            raise ToolFailure(f"{self.ws.display(path)}: {e.strerror}") from None
        lines = []
        for entry in entries[:MAX_LIST_ENTRIES]:
            if entry.is_dir(follow_symlinks=False):
                lines.append(entry.name + "/")
            elif entry.is_symlink():
                lines.append(entry.name + "@")
            else:
                lines.append(f"{entry.name}  ({entry.stat(follow_symlinks=False).st_size} bytes)")
        if len(entries) > MAX_LIST_ENTRIES:
            lines.append(f"[{len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
        return ToolOutput("\n".join(lines) if lines else "(empty directory)")
