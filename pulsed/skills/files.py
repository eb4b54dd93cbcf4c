"""Reading inside one skill's folder, confined as the file tools are.

Paths are walked from the folder's fd one component at a time with ``O_NOFOLLOW``
(``pulsed.tools.files.Workspace``): no symlink is followed and ``..`` cannot climb out.
The person's and the workspace's skills also get the file tools' refusal of hard-linked
files and files of other users; bundled skills (package data, possibly installed by
root or hard-linked from an installer's cache) skip those two checks.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from pulsed.tools.base import ToolFailure
from pulsed.tools.files import Workspace

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
MAX_LISTED = 200
"""Most entries a folder listing shows."""
MAX_WALKED = 5000
"""Most entries a listing looks at (a skill holding a node_modules stays cheap)."""


def read_text(folder: Path, rel: str, max_bytes: int, *, strict: bool) -> str:
    """The UTF-8 text of ``rel`` inside ``folder``, cut at ``max_bytes`` (with a note).

    Raises:
        ToolFailure: a path outside the folder, a symlink on the way, not a regular
            file, binary, missing; with ``strict``, also hard-linked or another user's.
    """
    try:
        return _read_text(folder, rel, max_bytes, strict)
    except ToolFailure as e:
        # Workspace's wording, said of the skill's folder
        raise ToolFailure(str(e).replace("the workspace", "the skill's folder")) from None


def _read_text(folder: Path, rel: str, max_bytes: int, strict: bool) -> str:
    parts = Workspace.parts(rel)
    if not parts:
        raise ToolFailure("path names the skill's folder itself, not a file")
    if not folder.is_dir():
        raise ToolFailure(f"the skill's folder {folder} is gone")
    ws = Workspace(folder)
    try:
        fd = ws.open_file(parts, READ_FLAGS) if strict else _open_plain(ws, parts)
    finally:
        ws.close()
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    note = ""
    if len(data) > max_bytes:
        data, note = data[:max_bytes], f"\n[cut at {max_bytes} bytes]"
    if b"\x00" in data:
        raise ToolFailure(f"{Workspace.display(parts)}: binary file, not shown")
    return data.decode("utf-8", errors="replace") + note


def _open_plain(ws: Workspace, parts: list[str]) -> int:
    shown = Workspace.display(parts)
    with ws.directory(parts[:-1]) as parent:
        try:
            fd = os.open(parts[-1], READ_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            raise ToolFailure(f"{shown}: no such file") from None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise ToolFailure(f"{shown}: is a symlink; symlinks are not followed") from None
            raise ToolFailure(f"{shown}: {e.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ToolFailure(f"{shown}: not a regular file")
    return fd


def listing(folder: Path, limit: int = MAX_LISTED) -> list[str]:
    """The files of ``folder`` relative to it, sorted, folders walked without following
    symlinks (shown with a trailing ``@``), hidden entries left out; at most ``limit``
    entries, then a line saying how many more there are."""
    out: list[str] = []
    more = 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        if len(out) + more >= MAX_WALKED:
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        base = Path(top).relative_to(folder)
        names = [f for f in files if not f.startswith(".")]
        names += [d for d in dirs if os.path.islink(os.path.join(top, d))]
        for name in sorted(names):
            rel = (base / name).as_posix()
            if os.path.islink(os.path.join(top, name)):
                rel += "@"
            if len(out) < limit:
                out.append(rel)
            else:
                more += 1
    out.sort()
    if more:
        out.append(
            f"[{more} more files not shown]"
            if len(out) + more < MAX_WALKED
            else f"[{more}+ more files not shown]"
        )
    return out
