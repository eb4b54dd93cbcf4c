"""Where Pulse keeps its files, from platformdirs and the PULSE_* environment.

Shared by the daemon and its clients (which must agree on the socket) without either
importing the other. Precedence: environment, then the config file, then platformdirs.

- config: ``$PULSE_CONFIG`` or ``user_config_dir("pulse")/config.toml``
- data:   ``$PULSE_DATA_DIR``, ``[server] data_dir``, or ``user_data_dir("pulse")``
- socket: ``$PULSE_SOCKET``, ``[server] socket``, or ``user_runtime_dir("pulse")/pulsed.sock``
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "pulse"


class PathError(Exception):
    """A Pulse path cannot be worked out; ``str()`` is one line for the person saying
    which folder is not usable and what to set instead."""


def config_path() -> Path:
    """Path of the TOML config file (which need not exist)."""
    env = os.environ.get("PULSE_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir(configured: str = "") -> Path:
    """Directory of the embedded store and other state; ``configured`` is [server] data_dir."""
    env = os.environ.get("PULSE_DATA_DIR") or configured
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP))


def socket_path(configured: str = "") -> Path:
    """Path of the daemon's Unix socket; ``configured`` is [server] socket.

    Raises:
        PathError: neither is set and platformdirs' runtime dir is not usable (with
            XDG_RUNTIME_DIR unset, its fallback ``runtime-<uid>`` in the temp dir may be
            owned by another user, a symlink, or not a folder).
    """
    env = os.environ.get("PULSE_SOCKET") or configured
    if env:
        return Path(env).expanduser()
    try:
        return Path(platformdirs.user_runtime_dir(APP)) / "pulsed.sock"
    except OSError as err:
        reason = str(err).split("; set XDG_RUNTIME_DIR", 1)[0]
        raise PathError(
            f"no usable folder for the socket: {reason}; set XDG_RUNTIME_DIR to a folder "
            f"of yours with mode 0700, or the socket path with PULSE_SOCKET or "
            f"[server] socket in {config_path()}"
        ) from None


def _configured(key: str) -> str:
    """``[server] <key>`` from the config file, or '' (unreadable files are the daemon's
    business to report)."""
    import tomllib

    try:
        with open(config_path(), "rb") as f:
            value = tomllib.load(f).get("server", {}).get(key, "")
    except (OSError, ValueError):
        return ""
    return os.path.expandvars(value) if isinstance(value, str) else ""


def client_socket_path() -> Path:
    """The socket a client should dial: as ``socket_path`` with the config file's value."""
    return socket_path(_configured("socket"))


def client_data_dir() -> Path:
    """The data dir as a client sees it (for the log of a daemon it starts)."""
    return data_dir(_configured("data_dir"))
