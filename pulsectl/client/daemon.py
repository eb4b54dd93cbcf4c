"""Finding and starting the daemon: probe its socket, spawn ``pulsed`` detached, read the
end of its log. Blocking, standard library only; ``AsyncPulseClient.ensure_daemon`` and
``wait_ready`` build the start-and-wait on these."""

from __future__ import annotations

import os
import socket as socketlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pulse import paths

from pulsectl.client.errors import ClientError, DaemonUnreachable

START_TIMEOUT_S = 10.0
"""How long a daemon started by a client gets to begin serving, seconds."""

PROBE_TIMEOUT_S = 2.0
"""How long a connect to the socket may take before the daemon is taken to be busy."""

LOG_TAIL_LINES = 20
"""Lines of the daemon's log shown when it failed to start."""

EXIT_HELD = 3
"""pulsed's exit code when another daemon already holds the socket or the data dir."""


def default_socket() -> Path:
    """The socket to dial when none was given: ``pulse.paths.client_socket_path()``.

    Raises:
        ClientError: no usable folder for it (one line saying which and what to set).
    """
    try:
        return paths.client_socket_path()
    except paths.PathError as err:
        raise ClientError(str(err)) from None


def probe(path: Path) -> bool:
    """Whether something accepts connections on the Unix socket at ``path``.

    Raises:
        DaemonUnreachable: the socket exists but cannot be used (permissions, path length).
    """
    sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    sock.settimeout(PROBE_TIMEOUT_S)
    try:
        sock.connect(str(path))
        return True
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except TimeoutError:
        return True  # a busy daemon with a full backlog: let gRPC wait for it
    except OSError as err:
        raise DaemonUnreachable(f"cannot connect to {path}: {err.strerror or err}") from None
    finally:
        sock.close()


def lock_holder(socket: Path) -> int | None:
    """The pid of the live daemon that holds ``socket``'s lock file (``<socket>.lock``,
    which pulsed keeps flocked and removes on a clean stop), or None.

    Read only (taking the lock, even shared, could make a starting daemon fail), so a
    lock file left by a killed daemon counts when its pid was reused: callers only word
    their errors with it.
    """
    lock = socket.with_name(socket.name + ".lock")
    try:
        text = lock.read_text(encoding="ascii", errors="replace").strip()
        pid = int(text)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return pid


def log_path() -> Path:
    """Where a daemon started by a client writes: ``<data dir>/pulsed.log``."""
    return paths.client_data_dir() / "pulsed.log"


class Spawned:
    """A ``pulsed`` just started by ``spawn``.

    Attributes:
        process: the child (detached in its own session; never killed by the client).
        log: its log file.
        offset: the log's size before it started, in bytes (where its lines begin).
    """

    def __init__(self, process: subprocess.Popen[bytes], log: Path, offset: int) -> None:
        self.process = process
        self.log = log
        self.offset = offset

    @property
    def pid(self) -> int:
        """The daemon's process id."""
        return self.process.pid

    def exit_code(self) -> int | None:
        """Its exit code once it has exited, else None (does not block)."""
        return self.process.poll()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines it wrote to its log ("" when none or unreadable)."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])


def spawn(socket: Path, notify: Callable[[str], None]) -> Spawned:
    """Start ``pulsed --socket SOCKET`` detached, its stdout and stderr appended to
    ``log_path()``, and tell ``notify`` (one line for the person).

    Raises:
        DaemonUnreachable: the log could not be opened or the process not started.
    """
    log = log_path()
    try:
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as err:
        raise DaemonUnreachable(f"cannot start pulsed: {log}: {err.strerror}") from None
    offset = os.fstat(fd).st_size
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pulsed", "--socket", str(socket)],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as err:
        raise DaemonUnreachable(f"cannot start pulsed: {err}") from None
    finally:
        os.close(fd)
    notify(f"started pulsed (pid {proc.pid}), log: {log}")
    return Spawned(proc, log, offset)
