"""``pulsectl status``: the daemon's version, store, provider, turns and spend (System.Status)."""

from __future__ import annotations

import argparse

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """``status``: the daemon's state; warnings (provider unusable, budget spent, ...) on
    stderr."""
    with _client(args) as client:
        st = client.status()
    if args.json:
        out.json_doc(output.to_dict(st))
    else:
        out.line(output.render_status(st))
    for warning in output.status_warnings(st):
        diagnostics.warn(warning)
    return EXIT_OK
