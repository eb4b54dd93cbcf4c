"""Deleting one session's rows from the local store (``pulsectl sessions rm --purge``).

The one exception to the store's append-only rule, run on the writer's connection in one
transaction: the session's rows of ``messages``, ``llm_logs`` (with its hourly cost
rollup, keyed by session, so costs stay exact), ``tool_logs``, and the ``events`` whose
JSON payload names the session (renames, models), except the event types the caller
keeps. Memories learnt in the session stay (the ``memory`` stream and its FTS index are
not touched). Sequence numbers are never reused (``AUTOINCREMENT``), so the deleted rows
leave gaps and every consumer's cursor stays valid.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from pulsed.store.local import rollup
from pulsed.store.local.codec import quote

BY_COLUMN = ("messages", "llm_logs", "tool_logs")
"""Streams whose ``session_id`` column names the session."""
BY_PAYLOAD = "events"
"""The stream whose rows name it in ``payload.session_id``."""


def purge(conn: sqlite3.Connection, session_id: str, keep_events: Sequence[str]) -> dict[str, int]:
    """Delete ``session_id``'s rows inside the caller's transaction on ``conn``; rows
    deleted per stream (every stream of ``BY_COLUMN`` and ``BY_PAYLOAD``, 0 included).
    ``keep_events``: event types that stay even when they name the session."""
    out: dict[str, int] = {}
    for name in BY_COLUMN:
        cur = conn.execute(f'DELETE FROM {quote(name)} WHERE "session_id" = ?', (session_id,))
        out[name] = max(cur.rowcount, 0)
    conn.execute(f"DELETE FROM {quote(rollup.ROLLUP_TABLE)} WHERE session_id = ?", (session_id,))
    kept = list(keep_events)
    marks = ", ".join("?" for _ in kept)
    spare = f' AND "event_type" NOT IN ({marks})' if kept else ""
    cur = conn.execute(
        f'DELETE FROM {quote(BY_PAYLOAD)} WHERE (CASE WHEN json_valid("payload") '
        "THEN json_extract(\"payload\", '$.session_id') END) = ?" + spare,
        (session_id, *kept),
    )
    out[BY_PAYLOAD] = max(cur.rowcount, 0)
    return out
