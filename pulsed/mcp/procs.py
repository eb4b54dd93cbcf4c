"""The process group of a stdio MCP server, so none of its processes outlive it.

The SDK starts a stdio server in a new session (``start_new_session``: its pid is its
process group id) and kills the group only when the server does not exit within its
grace period after stdin closes. A server that exits at once but leaves children behind
(a wrapper script, a ``npx`` launcher) would orphan them, so after the SDK is done the
group is signalled again here. The SDK does not expose the pid: it is found as the one
new child of this process that leads its own session (Linux ``/proc``; elsewhere there
is nothing to sweep and the SDK's own shutdown is all there is).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger("pulsed.mcp")

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, ..."""
    text = (_PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def session_leaders() -> set[int]:
    """Pids of this process's children that lead their own session (empty without /proc)."""
    me = str(os.getpid())
    found: set[int] = set()
    if not _PROC.is_dir():
        return found
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = _stat_fields(int(entry.name))
            if fields[1] == me and fields[3] == entry.name:
                found.add(int(entry.name))
    return found


def environ_of(pid: int) -> dict[str, str]:
    """The environment a process was started with (empty when it cannot be read)."""
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def pick_spawned(before: set[int], after: set[int], env: dict[str, str]) -> int | None:
    """The server among the session leaders that appeared between ``before`` and
    ``after``: the only one, or the only one started with exactly ``env``."""
    new = sorted(after - before)
    if len(new) > 1:
        new = [p for p in new if environ_of(p) == env]
    return new[0] if len(new) == 1 else None


def group_alive(pgid: int) -> bool:
    """Whether any process is left in the group (signal 0; EPERM counts as alive)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def sweep_group(pgid: int, grace_s: float = 1.0) -> bool:
    """SIGTERM what is left of the group, SIGKILL it after ``grace_s`` seconds.

    Returns whether anything was left to signal."""
    if not group_alive(pgid):
        return False
    log.info("mcp: process group %d outlived its server; terminating it", pgid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    while group_alive(pgid) and loop.time() < deadline:
        await asyncio.sleep(0.02)  # a group has no exit event to wait on
    if group_alive(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    return True
