"""``pulsectl sessions list | show | export``: conversations and their history
(Chat.ListSessions, Chat.History)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, CliError, UsageError
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
    if not rows:
        raise CliError(f"NOT_FOUND: no session {args.session!r}", "see: pulsectl sessions list")
    return EXIT_OK


EXPORT_LIMIT = 10_000
"""Rows of a session an export reads (Chat.History's most)."""


def export_markdown(session_id: str, rows: list[dict[str, Any]]) -> str:
    """A session as Markdown: each message under its speaker, tool calls folded into
    ``<details>`` blocks, errors marked; ``rows`` are messages rows, oldest first."""
    lines = [f"# Session {session_id}", ""]
    for r in rows:
        kind = r.get("message_type", "")
        raw = r.get("content")
        content: dict[str, Any] = raw if isinstance(raw, dict) else {}
        when = str(r.get("timestamp", ""))[:19].replace("T", " ")
        text = str(content.get("text") or content.get("prompt") or "")
        if kind in ("user_input", "scheduled_task", "trigger"):
            who = "You" if kind == "user_input" else f"Task {content.get('task', '')}".strip()
            lines += [f"## {who} · {when}", "", text, ""]
        elif kind == "agent_response":
            lines += [f"## Agent · {when}", "", text, ""]
        elif kind == "tool_call":
            args = json.dumps(content.get("arguments", {}), ensure_ascii=False, indent=2)
            lines += [
                f"<details><summary>tool call: {content.get('name', '')}</summary>",
                "",
                "```json",
                args,
                "```",
                "",
                "</details>",
                "",
            ]
        elif kind == "tool_result":
            lines += [
                f"<details><summary>tool result: {content.get('name', '')} "
                f"({content.get('status', '')})</summary>",
                "",
                "```",
                text[:4000],
                "```",
                "",
                "</details>",
                "",
            ]
        elif kind == "summary":
            lines += [f"> *Summary of the earlier conversation* ({when}):", ">"]
            lines += [f"> {ln}" for ln in text.splitlines()] + [""]
        elif kind == "error":
            lines += [f"> **error** ({content.get('code', '')}): {text}", ""]
    return "\n".join(lines).rstrip() + "\n"


def cmd_export(args: argparse.Namespace, out: Output) -> int:
    """``sessions export SESSION --format md|jsonl [-o FILE]``.

    Raises:
        UsageError: the session has no messages, or FILE cannot be written.
    """
    with _client(args) as client:
        rows = [output.row_dict(r) for r in client.history(args.session, EXPORT_LIMIT).rows]
    if not rows:
        raise CliError(f"NOT_FOUND: no session {args.session!r}", "see: pulsectl sessions list")
    if args.format == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        text = export_markdown(args.session, rows)
    if args.output and args.output != "-":
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from None
        diagnostics.note(f"{len(rows)} rows of {args.session} written to {args.output}")
    else:
        out.write(text)
    return EXIT_OK
