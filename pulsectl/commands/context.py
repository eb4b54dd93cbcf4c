"""``pulsectl context``: what the next turn's prompt of a session is made of."""

from __future__ import annotations

import argparse

from pulsectl import output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, UsageError
from pulsectl.output import Output
from pulsectl.render_context import render_context


def cmd_context(args: argparse.Namespace, out: Output) -> int:
    """``context [-s SESSION] [--json]``: Chat.Context of the session (default: the most
    recently active one).

    Raises:
        UsageError: no session was given and there is none yet.
    """
    with _client(args) as client:
        session = args.session
        if not session:
            found = client.list_sessions(limit=1).sessions
            if not found:
                raise UsageError("there is no session yet", 'start one: pulsectl chat "hello"')
            session = found[0].session_id
        ctx = client.context(session, args.text or "")
    if args.json:
        out.json_doc(output.to_dict(ctx))
    else:
        out.line(render_context(ctx, output.terminal_width()))
    return EXIT_OK
