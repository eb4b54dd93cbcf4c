"""pulsectl: the scriptable CLI of Pulse; ``main`` is its entry point.

``pulsectl.args`` turns the command line into a command and its values; the command
(``pulsectl.commands.<group>``) calls the daemon through the client library
(``pulsectl.client``) and hands the results to the run's ``pulsectl.output.Output``
(stdout, data only); notes, prompts and errors go through ``pulsectl.diagnostics``
(stderr), which also owns the exit codes. gRPC is imported only when a command talks to
the daemon, so ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

from pulsectl import diagnostics
from pulsectl.args import build_parser, command_of
from pulsectl.client.errors import ClientError
from pulsectl.diagnostics import EXIT_OK, EXIT_USAGE
from pulsectl.output import Output


def main(argv: Sequence[str] | None = None) -> int:
    """Run pulsectl and return its exit code."""
    # Without XDG_RUNTIME_DIR, platformdirs picks /tmp/runtime-$UID for the socket (as the
    # daemon does) and warns about it in a traceback-like format; errors name the socket.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # "…" and "→" on a non-UTF-8 terminal
            stream.reconfigure(errors="replace")
    out = Output()
    parser = build_parser(command_of(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        diagnostics.usage(parser.format_help())
        return EXIT_USAGE
    try:
        return int(args.func(args, out))
    except KeyboardInterrupt:
        out.break_line_for_stderr()
        return diagnostics.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush
        # from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ClientError as err:
        return diagnostics.report(err)


if __name__ == "__main__":
    sys.exit(main())
