"""``pulsectl stop`` and ``pulsectl restart``: end the daemon gracefully and wait until
it is gone (its socket and locks released)."""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import subprocess
import time
from pathlib import Path

from pulsectl import diagnostics
from pulsectl.commands import NO_START_HINT
from pulsectl.diagnostics import EXIT_ERROR, EXIT_OK, EXIT_UNREACHABLE
from pulsectl.output import Output


def _systemd_unit(pid: int) -> str:
    """The systemd user unit running ``pid`` (``pulsed.service``), or '' when systemd did
    not start it (read from /proc: its INVOCATION_ID and its cgroup)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if not any(e.startswith(b"INVOCATION_ID=") for e in env):
            return ""
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            for part in line.rsplit("/", 3):
                if part.endswith(".service"):
                    return part
    except OSError:
        return ""
    return ""


def _wait_gone(pid: int, socket: Path, timeout_s: float) -> bool:
    """Wait until process ``pid`` has exited (a pidfd becomes readable when it does) and
    its socket file is gone; False on timeout."""
    deadline = time.monotonic() + timeout_s
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = -1
    except OSError:  # no pidfd (old kernel): watch the pid instead
        fd = -2
    try:
        if fd >= 0:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return False
        elif fd == -2:
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                select.select([], [], [], 0.05)
            else:
                return False
    finally:
        if fd >= 0:
            os.close(fd)
    while socket.exists() and time.monotonic() < deadline:  # removed on the way out
        select.select([], [], [], 0.02)
    return not socket.exists()


def stop_daemon(args: argparse.Namespace) -> tuple[int, int, str]:
    """Stop the daemon at ``args.socket``; (exit code, its pid, its systemd unit or '').

    Raises:
        ClientError: the daemon refused or failed the call.
    """
    from pulsectl.client.sync import PulseClient

    with PulseClient(args.socket, autostart=False, hint=NO_START_HINT) as client:
        try:
            st = client.status(timeout=5)
        except Exception as err:  # noqa: BLE001 - any way of not answering is "not running"
            if getattr(err, "unreachable", False):
                diagnostics.note("pulsed is not running")
                return EXIT_UNREACHABLE, 0, ""
            raise
        unit = _systemd_unit(st.pid)
        if unit:
            subprocess.run(["systemctl", "--user", "stop", unit], check=False)
        else:
            done = client.stop()
            if done.active_turns:
                diagnostics.note(
                    f"pulsed (pid {done.pid}) is stopping; {done.active_turns} running turn(s) "
                    "get the shutdown grace period"
                )
    if not _wait_gone(st.pid, Path(st.socket), args.timeout):
        diagnostics.warn(f"pulsed (pid {st.pid}) did not stop within {args.timeout:g} s")
        return EXIT_ERROR, st.pid, unit
    return EXIT_OK, st.pid, unit


def cmd_stop(args: argparse.Namespace, out: Output) -> int:
    """``stop [--timeout S]``: exit 0 once the daemon is gone, 3 when none was running."""
    code, pid, unit = stop_daemon(args)
    if code == EXIT_OK:
        if args.json:
            out.json_doc({"stopped": True, "pid": pid, "unit": unit})
        else:
            diagnostics.note(f"pulsed (pid {pid}) stopped" + (f" ({unit})" if unit else ""))
    elif args.json and code == EXIT_UNREACHABLE:
        out.json_doc({"stopped": False, "pid": 0, "unit": ""})
    return code


def cmd_restart(args: argparse.Namespace, out: Output) -> int:
    """``restart``: stop the daemon (if running), then start it again and wait until it
    serves; a daemon systemd runs is restarted by systemd."""
    from pulsectl.client.sync import PulseClient

    code, pid, unit = stop_daemon(args)
    if code == EXIT_ERROR:
        return code
    if unit:
        subprocess.run(["systemctl", "--user", "start", unit], check=False)
    with PulseClient(
        args.socket, autostart=not unit, notify=diagnostics.note, hint=NO_START_HINT
    ) as client:
        st = None
        deadline = time.monotonic() + args.timeout
        while st is None:
            try:
                st = client.status(timeout=5)
            except Exception:  # noqa: BLE001 - systemd may still be starting it
                if not unit or time.monotonic() > deadline:
                    raise
                with contextlib.suppress(OSError):
                    select.select([], [], [], 0.2)
    if args.json:
        out.json_doc({"restarted": True, "old_pid": pid, "pid": st.pid, "unit": unit})
    else:
        diagnostics.note(f"pulsed restarted (pid {st.pid})")
    return EXIT_OK
