"""``pulsectl costs``: what the agent's LLM calls cost (Costs.Summary)."""

from __future__ import annotations

import argparse

from pulsectl import output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output


def cmd_costs(args: argparse.Namespace, out: Output) -> int:
    """``costs``: cost buckets and a total over ``--since``/``--until`` (default the last
    24 h), broken down ``--by``."""
    with _client(args) as client:
        summary = client.cost_summary(
            since_ms=args.since or 0, until_ms=args.until or 0, by=args.by
        )
    if args.json:
        out.json_doc(output.to_dict(summary))
    else:
        out.line(output.render_costs(summary, args.by, output.terminal_width()))
    return EXIT_OK
