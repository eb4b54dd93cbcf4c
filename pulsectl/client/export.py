"""A session written out as Markdown or JSONL: pure functions of its messages rows,
shared by ``pulsectl sessions export`` and the console's export (no grpc, no I/O)."""

from __future__ import annotations

import json
from typing import Any

EXPORT_LIMIT = 10_000
"""Rows of a session an export reads (Chat.History's most)."""


def export_markdown(session_id: str, rows: list[dict[str, Any]]) -> str:
    """A session as Markdown: each message under its speaker, tool calls folded into
    ``<details>`` blocks, errors marked; ``rows`` are messages rows (their column
    values), oldest first."""
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


def export_jsonl(rows: list[dict[str, Any]]) -> str:
    """The rows as JSON Lines, one object per row, UTF-8 kept."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
