"""``pulsectl sessions list | show | export | rm``: conversations and their history
(Chat.ListSessions, Chat.History, Chat.RemoveSession)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pulsectl import diagnostics, output
from pulsectl.client.export import EXPORT_LIMIT, export_jsonl, export_markdown
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, CliError, UsageError
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulsectl.client.sync import PulseClient


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``sessions list [--all]``: sessions, most recent first (``--all``: removed ones
    too, marked)."""
    with _client(args) as client:
        sessions = client.list_sessions(args.limit, include_removed=args.all).sessions
    if args.json:
        out.json_doc([output.to_dict(s) for s in sessions])
    elif sessions:
        shown = []
        for s in sessions:
            if s.removed:  # only with --all
                s = type(s).FromString(s.SerializeToString())
                s.title = f"(removed) {s.title}"
            shown.append(s)
        out.line(output.render_sessions(shown, output.terminal_width()))
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
    if not rows:
        raise CliError(f"NOT_FOUND: no session {args.session!r}", "see: pulsectl sessions list")
    return EXIT_OK


def cmd_export(args: argparse.Namespace, out: Output) -> int:
    """``sessions export SESSION --format md|jsonl [-o FILE]``.

    Raises:
        UsageError: the session has no messages, or FILE cannot be written.
    """
    with _client(args) as client:
        rows = [output.row_dict(r) for r in client.history(args.session, EXPORT_LIMIT).rows]
    if not rows:
        raise CliError(f"NOT_FOUND: no session {args.session!r}", "see: pulsectl sessions list")
    md = args.format != "jsonl"
    text = export_markdown(args.session, rows) if md else export_jsonl(rows)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from None
        diagnostics.note(f"{len(rows)} rows of {args.session} written to {args.output}")
    else:
        out.write(text)
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, out: Output) -> int:
    """``sessions rm SESSION [--purge] [--yes]``: hide a session from the lists; with
    ``--purge`` (local backend) delete its rows, once confirmed.

    Raises:
        UsageError: ``--purge`` without ``--yes`` and no terminal to ask on, or not
            confirmed.
        ServerError: NOT_FOUND (no such session), FAILED_PRECONDITION (a turn runs;
            purge on Timeplus).
    """
    ask = args.purge and not args.yes
    if ask and not sys.stdin.isatty():
        raise UsageError(
            f"not purged: deleting the rows of {args.session} needs a confirmation "
            "and stdin is not a terminal",
            "pass --yes to purge without asking",
        )
    with _client(args) as client:
        if ask:
            _confirm_purge(client, args.session)
        done = client.remove_session(args.session, purge=args.purge)
    if args.json:
        out.json_doc(
            {
                "session_id": done.session_id,
                "purged": args.purge,
                "rows_deleted": done.rows_deleted,
                "deleted": dict(sorted(done.deleted.items())),
            }
        )
    elif args.purge:
        parts = ", ".join(f"{n} {name}" for name, n in sorted(done.deleted.items()) if n)
        out.line(
            f"purged session {done.session_id}: {done.rows_deleted} rows deleted"
            + (f" ({parts})" if parts else "")
            + "; its LLM calls stay in costs, without message previews"
        )
    else:
        out.line(
            f"removed session {done.session_id} from the lists "
            "(its rows stay; --purge deletes them on the local store)"
        )
    return EXIT_OK


def _confirm_purge(client: PulseClient, session: str) -> None:
    """Ask before a purge, once the daemon says there is something it can purge.

    Raises:
        CliError: no such session, or a store that cannot delete rows.
        UsageError: not confirmed.
    """
    backend = client.status().store_backend
    if backend and backend != "local":
        raise CliError(
            f"FAILED_PRECONDITION: the {backend} backend cannot purge a session "
            "(its streams are append-only)",
            f"remove it without --purge: pulsectl sessions rm {session}",
        )
    found = client.history(session, 1).rows
    if not found:
        raise CliError(f"NOT_FOUND: no session {session!r}", "see: pulsectl sessions list")
    if not diagnostics.confirm(
        f"delete every message and tool log row of session {session} for good? "
        "(memories learnt in it stay; its LLM calls stay in costs, without previews)"
    ):
        raise UsageError("not purged", "pass --yes to purge without asking")
