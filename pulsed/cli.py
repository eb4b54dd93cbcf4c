"""``pulsed``: parse flags, load the config, serve. Everything else lives in ``Server``.

Exit codes: 0 stopped cleanly, 1 failed (a lost store included), 2 bad flags or
configuration, 3 another daemon already serves the socket or uses the data dir or database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pulsed import __version__, config, logs
from pulsed.errors import ConfigError, FailedPrecondition, PulseError

EPILOG = """\
environment:
  PULSE_CONFIG     config file (default: ~/.config/pulse/config.toml)
  PULSE_DATA_DIR   data directory (default: ~/.local/share/pulse)
  PULSE_SOCKET     Unix socket (default: $XDG_RUNTIME_DIR/pulse/pulsed.sock)
  PULSE_<SECTION>__<KEY>=value overrides a config key, e.g. PULSE_AGENT__MODEL=gpt-4o

exit codes: 0 stopped cleanly, 1 failed (e.g. the store is missing or empty while
            the data dir shows it held data), 2 bad flags or configuration,
            3 another pulsed already serves this socket or uses this data dir or database
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="pulsed",
        description=(
            "The Pulse daemon: the agent, its scheduler, channels and store behind a gRPC socket."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="config file (overrides PULSE_CONFIG)")
    p.add_argument("--socket", help="Unix socket path (overrides PULSE_SOCKET and [server] socket)")
    p.add_argument(
        "--data-dir", help="data directory (overrides PULSE_DATA_DIR and [server] data_dir)"
    )
    p.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="log verbosity"
    )
    p.add_argument("--version", action="version", version=f"pulsed {__version__}")
    return p.parse_args(argv)


def load_config(args: argparse.Namespace) -> config.Config:
    """The config with the flags the user typed applied last."""
    import os

    if args.socket:
        os.environ["PULSE_SOCKET"] = args.socket
    if args.data_dir:
        os.environ["PULSE_DATA_DIR"] = args.data_dir
    cfg = config.load(args.config)
    if args.log_level:
        cfg.server.log_level = args.log_level
    return cfg


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args)
    except ConfigError as e:
        print(f"pulsed: {e.title}: {e.message}", file=sys.stderr)
        return 2
    logs.setup(cfg.server.log_level)
    from pulsed.server import Server

    try:
        asyncio.run(Server(cfg).serve())
    except FailedPrecondition as e:
        print(f"pulsed: {e.message}", file=sys.stderr)
        return 3
    except ConfigError as e:
        print(f"pulsed: {e.title}: {e.message}", file=sys.stderr)
        return 2
    except PulseError as e:
        print(f"pulsed: {e.title}: {e.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        logging.getLogger("pulsed").exception("pulsed failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
