"""File tools confined to the workspace: read_file, write_file, list_dir.

Confinement is by file descriptor, not by checking path strings: the workspace root is
held open as a directory fd, and every path is walked from it one component at a time
with ``openat(..., O_NOFOLLOW)``. A symlink anywhere on the path is refused, so a folder
swapped for a symlink to the outside between two calls (``renameat2(RENAME_EXCHANGE)``)
makes the call fail instead of escaping. ``..`` is resolved lexically and may not climb
above the root; that is exact because no symlink is ever followed.

A regular file with more than one hard link, or not owned by the daemon's user, is
refused for reading and writing: its other name may lie outside the workspace
(``ln /outside/secret ws/h``).
"""

from __future__ import annotations

import asyncio
import difflib
import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput

MAX_WRITE_BYTES = 1024 * 1024
MAX_LIST_ENTRIES = 500

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted in the workspace must not hang the tool; it is
# ignored for regular files, and anything else is refused after fstat.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class Workspace:
    """The directory file tools may touch, held open as a directory fd.

    ``root`` is created (0700) if missing. ``close()`` releases the fd.

    Raises:
        OSError: ``root`` cannot be created or opened as a directory.
    """

    def __init__(self, root: Path) -> None:
        root = root.expanduser()
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root = root.resolve()
        self._fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        """Close the root fd; the tools fail afterwards."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()

    @staticmethod
    def parts(rel: object) -> list[str]:
        """The components of ``rel`` after lexical ``.``/``..`` removal; [] is the root.

        Raises:
            ToolFailure: not a non-empty string, a NUL byte, absolute, or climbing above
                the workspace.
        """
        if not isinstance(rel, str) or rel.strip() == "":
            raise ToolFailure("path must be a non-empty string relative to the workspace")
        if "\x00" in rel:
            raise ToolFailure("path contains a NUL byte")
        if rel.startswith("/"):
            raise ToolFailure(
                f"{rel}: absolute paths are refused; give a path inside the workspace"
            )
        out: list[str] = []
        for c in rel.split("/"):
            if c in ("", "."):
                continue
            if c == "..":
                if not out:
                    raise ToolFailure(f"{rel}: resolves outside the workspace; refused")
                out.pop()
            else:
                out.append(c)
        return out

    @staticmethod
    def display(parts: list[str]) -> str:
        """``parts`` as a workspace-relative path for messages (``.`` for the root)."""
        return "/".join(parts) or "."

    @contextmanager
    def directory(self, parts: list[str], create: bool = False) -> Iterator[int]:
        """An fd of the directory ``parts`` (closed on exit), walked without following
        symlinks; missing folders are made (0700) when ``create``.

        Raises:
            ToolFailure: a component is a symlink, not a directory, missing, or unreadable.
        """
        if self._fd < 0:
            raise ToolFailure("the workspace is closed")
        # A fresh open of "." (not a dup): its own offset, so listings never interfere.
        fd = os.open(".", _DIR_FLAGS, dir_fd=self._fd)
        try:
            for i, name in enumerate(parts):
                nxt = self._open_dir(fd, name, parts[: i + 1], create)
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    def _open_dir(self, parent: int, name: str, upto: list[str], create: bool) -> int:
        shown = self.display(upto)
        for attempt in (1, 2):
            try:
                return os.open(name, _DIR_FLAGS, dir_fd=parent)
            except FileNotFoundError:
                if not create or attempt == 2:
                    raise ToolFailure(f"{shown}: no such directory") from None
                try:
                    os.mkdir(name, 0o700, dir_fd=parent)
                except FileExistsError:
                    pass  # made meanwhile: open it on the second attempt
                except OSError as e:
                    raise ToolFailure(f"{shown}: {e.strerror}") from None
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise _not_followed(parent, name, shown, "a directory") from None
                raise ToolFailure(f"{shown}: {e.strerror}") from None
        raise AssertionError("unreachable")

    def open_file(self, parts: list[str], flags: int) -> int:
        """An fd of the regular file ``parts`` opened with ``flags`` (``_READ_FLAGS`` or
        ``_WRITE_FLAGS``); the caller closes it. Parent folders are made when writing.

        Raises:
            ToolFailure: the root, a symlink on the path, not a regular file, hard-linked,
                not the daemon user's, missing, or an OS error (its strerror).
        """
        if not parts:
            raise ToolFailure("path names the workspace itself, not a file")
        shown = self.display(parts)
        writing = bool(flags & os.O_WRONLY)
        with self.directory(parts[:-1], create=writing) as parent:
            try:
                fd = os.open(parts[-1], flags, 0o644, dir_fd=parent)
            except FileNotFoundError:
                raise ToolFailure(f"{shown}: no such file") from None
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise _not_followed(parent, parts[-1], shown, "a file") from None
                raise ToolFailure(f"{shown}: {e.strerror}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ToolFailure(f"{shown}: not a regular file")
            if st.st_nlink > 1:
                raise ToolFailure(
                    f"{shown}: has {st.st_nlink} hard links, and another name of it may lie "
                    "outside the workspace; refused"
                )
            if st.st_uid != os.geteuid():
                raise ToolFailure(f"{shown}: owned by another user; refused")
        except BaseException:
            os.close(fd)
            raise
        return fd


def _not_followed(parent: int, name: str, shown: str, wanted: str) -> ToolFailure:
    """The refusal for a component that open(O_NOFOLLOW) rejected: a symlink, or (for a
    directory) something that is not one."""
    try:
        mode = os.lstat(name, dir_fd=parent).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        return ToolFailure(
            f"{shown}: is a symlink; symlinks are not followed, so nothing outside the "
            "workspace can be reached through them; refused"
        )
    return ToolFailure(f"{shown}: not {wanted}")


def _str_arg(args: dict[str, Any], name: str, default: str | None = None) -> str:
    v = args.get(name, default)
    if not isinstance(v, str):
        raise ToolFailure(f"argument {name!r} must be a string")
    return v


class ReadFile(Tool):
    """``read_file(path)``: a UTF-8 text file of the workspace, cut at ``max_bytes``."""

    name = "read_file"
    description = "Read a UTF-8 text file from the workspace. Paths are relative to the workspace."
    parameters = {
        "type": "object",
        "properties": {"path": {"type": "string", "description": "file path inside the workspace"}},
        "required": ["path"],
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, ws: Workspace, max_bytes: int) -> None:
        self.ws = ws
        self.max_bytes = max_bytes

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        parts = self.ws.parts(_str_arg(args, "path"))
        return await asyncio.to_thread(self._read, parts)

    def _read(self, parts: list[str]) -> ToolOutput:
        shown = self.ws.display(parts)
        with os.fdopen(self.ws.open_file(parts, _READ_FLAGS), "rb") as f:
            data = f.read(self.max_bytes + 1)
        note = ""
        if len(data) > self.max_bytes:
            data = data[: self.max_bytes]
            note = f"\n[cut at {self.max_bytes} bytes]"
        if b"\x00" in data:
            raise ToolFailure(f"{shown}: binary file, not shown")
        return ToolOutput(data.decode("utf-8", errors="replace") + note)


class WriteFile(Tool):
    """``write_file(path, content)``: replace or create a text file, making folders."""

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
    idempotent = True

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        parts = self.ws.parts(_str_arg(args, "path"))
        content = _str_arg(args, "content")
        data = content.encode("utf-8")
        if len(data) > MAX_WRITE_BYTES:
            raise ToolFailure(f"content is {len(data)} bytes; the limit is {MAX_WRITE_BYTES}")
        return await asyncio.to_thread(self._write, parts, data)

    def approval_detail(self, args: dict[str, Any], ctx: ToolContext) -> str:
        """A unified diff of the file this call replaces (read through the confined
        workspace), or a note that the file is new; '' for bad arguments."""
        try:
            parts = self.ws.parts(_str_arg(args, "path"))
            content = _str_arg(args, "content")
        except ToolFailure:
            return ""
        shown = self.ws.display(parts)
        try:
            with os.fdopen(self.ws.open_file(parts, _READ_FLAGS), "rb") as f:
                old = f.read(MAX_WRITE_BYTES + 1)
        except ToolFailure as e:
            if "no such" in str(e):
                return f"new file {shown} ({len(content.encode())} bytes)"
            return f"cannot read {shown} to compare: {e}"
        if b"\x00" in old or len(old) > MAX_WRITE_BYTES:
            return f"replaces {shown} ({len(old)} bytes, binary or too large to compare)"
        before = old.decode("utf-8", errors="replace").splitlines(keepends=True)
        after = content.splitlines(keepends=True)
        diff = "".join(difflib.unified_diff(before, after, f"a/{shown}", f"b/{shown}", n=2))
        if not diff:
            return f"{shown}: unchanged (same content)"
        return f"overwrites {shown}:\n{diff}"

    def _write(self, parts: list[str], data: bytes) -> ToolOutput:
        fd = self.ws.open_file(parts, _WRITE_FLAGS)
        with os.fdopen(fd, "wb") as f:
            # Truncate only after fstat vetted the file (O_TRUNC would cut a hard-linked one).
            os.ftruncate(f.fileno(), 0)
            f.write(data)
        return ToolOutput(f"wrote {len(data)} bytes to {self.ws.display(parts)}")


class ListDir(Tool):
    """``list_dir(path=".")``: entries of a workspace folder, ``/`` after folders, ``@``
    after symlinks, sizes of the rest; at most ``MAX_LIST_ENTRIES``."""

    name = "list_dir"
    description = "List a directory of the workspace: one entry per line, directories end in /."
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "directory inside the workspace; default ."}
        },
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        parts = self.ws.parts(_str_arg(args, "path", "."))
        return await asyncio.to_thread(self._list, parts)

    def _list(self, parts: list[str]) -> ToolOutput:
        with self.ws.directory(parts) as fd:
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=lambda e: e.name)
                    lines = []
                    for entry in entries[:MAX_LIST_ENTRIES]:
                        if entry.is_dir(follow_symlinks=False):
                            lines.append(entry.name + "/")
                        elif entry.is_symlink():
                            lines.append(entry.name + "@")
                        else:
                            size = entry.stat(follow_symlinks=False).st_size
                            lines.append(f"{entry.name}  ({size} bytes)")
            except OSError as e:
                raise ToolFailure(f"{self.ws.display(parts)}: {e.strerror}") from None
        if len(entries) > MAX_LIST_ENTRIES:
            lines.append(f"[{len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
        return ToolOutput("\n".join(lines) if lines else "(empty directory)")
