"""``pulsectl sessions list | show``: conversations and their history (Chat.ListSessions,
Chat.History)."""

from __future__ import annotations

import argparse

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``sessions list``: sessions, most recent first."""
    with _client(args) as client:
        sessions = client.list_sessions(args.limit).sessions
    if args.json:
        out.json_doc([output.to_dict(s) for s in sessions])
    elif sessions:
        out.line(output.render_sessions(sessions, output.terminal_width()))
    else:
        diagnostics.note('no sessions yet; start one with: pulsectl chat "hello"')
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``sessions show SESSION``: a session's messages as a conversation (``--json``: its rows)."""
    with _client(args) as client:
        rows = client.history(args.session, args.limit).rows
    if args.json:
        out.json_doc([output.row_dict(r) for r in rows])
    elif rows:
        out.line(output.render_history(rows, output.terminal_width()))
    else:
        diagnostics.note(f"no messages in session {args.session}")
    return EXIT_OK
