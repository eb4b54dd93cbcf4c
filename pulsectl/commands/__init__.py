"""pulsectl's commands, one module per command group; ``client`` connects them.

Each ``cmd_*`` function takes the parsed arguments, calls the daemon through
``pulsectl.client.PulseClient``, hands the results to ``pulsectl.output`` and returns
the exit code. The client library (and with it grpc) is imported only when a command
runs, so ``pulsectl --help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pulsectl import diagnostics

if TYPE_CHECKING:
    from pulsectl.client.sync import PulseClient

NO_START_HINT = "start it with `pulsed` (or `pulsectl service install`), or run without --no-start"
"""The hint when no daemon answers and --no-start forbids starting one."""


def client(args: argparse.Namespace) -> PulseClient:
    """The connection a command uses: ``--socket``, and a daemon started on demand
    unless ``--no-start`` (notes about it go to stderr). Use it as a context manager."""
    from pulsectl.client.sync import PulseClient

    return PulseClient(
        args.socket,
        autostart=not args.no_start,
        notify=diagnostics.note,
        hint=NO_START_HINT,
    )
