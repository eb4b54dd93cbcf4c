"""Where Pulse keeps its files, from platformdirs and the PULSE_* environment.

Shared by the daemon and its clients (which must agree on the socket) without either
importing the other.

- config: ``$PULSE_CONFIG`` or ``user_config_dir("pulse")/config.toml``
- data:   ``$PULSE_DATA_DIR`` or ``user_data_dir("pulse")``
- socket: ``$PULSE_SOCKET`` or ``user_runtime_dir("pulse")/pulsed.sock``
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "pulse"


def config_path() -> Path:
    """Path of the TOML config file (which need not exist)."""
    env = os.environ.get("PULSE_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    """Directory of the embedded store and other state."""
    env = os.environ.get("PULSE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP))


def socket_path() -> Path:
    """Path of the daemon's Unix socket."""
    env = os.environ.get("PULSE_SOCKET")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_runtime_dir(APP)) / "pulsed.sock"
