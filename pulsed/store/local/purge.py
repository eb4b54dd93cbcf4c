"""Deleting one session's rows from the local store (``pulsectl sessions rm --purge``).

The one exception to the store's append-only rule, run on the writer's connection in one
transaction: the session's rows of ``messages`` and ``tool_logs`` and the ``events`` whose
JSON payload names the session (renames, models), except the event types the caller
keeps, are deleted. Its ``llm_logs`` rows stay, with their message previews blanked: they
are the record of money spent, so costs, the hourly rollup and the daily and monthly caps
count them before and after a restart alike (deleting them would let a purge undo a cap).
Memories learnt in the session stay (the ``memory`` stream and its FTS index are not
touched). Sequence numbers are never reused (``AUTOINCREMENT``), so the deleted rows
leave gaps and every consumer's cursor stays valid.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from pulsed.store.local.codec import quote

BY_COLUMN = ("messages", "tool_logs")
"""Streams whose rows of the session (by their ``session_id`` column) are deleted."""
BLANKED = ("user_message_preview", "assistant_response_preview")
"""The llm_logs columns that quote the conversation, emptied for the session's calls."""
BY_PAYLOAD = "events"
"""The stream whose rows name it in ``payload.session_id``."""


def purge(conn: sqlite3.Connection, session_id: str, keep_events: Sequence[str]) -> dict[str, int]:
    """Delete ``session_id``'s rows inside the caller's transaction on ``conn``; rows
    deleted per stream (every stream of ``BY_COLUMN`` and ``BY_PAYLOAD``, 0 included).
    Its llm_logs rows are kept with ``BLANKED`` emptied. ``keep_events``: event types that
    stay even when they name the session."""
    out: dict[str, int] = {}
    for name in BY_COLUMN:
        cur = conn.execute(f'DELETE FROM {quote(name)} WHERE "session_id" = ?', (session_id,))
        out[name] = max(cur.rowcount, 0)
    blank = ", ".join(f"{quote(c)} = ''" for c in BLANKED)
    conn.execute(f'UPDATE "llm_logs" SET {blank} WHERE "session_id" = ?', (session_id,))
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
