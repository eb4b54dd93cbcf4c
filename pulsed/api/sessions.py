"""Session management of the Chat service: what ListSessions shows (titles, removals)
and RemoveSession.

Both are ``events`` rows, append-only, so they work on every backend: a rename is a
``session_renamed`` row (payload: session_id, title), a removal a ``session_removed`` row
(payload: session_id, purged, rows_deleted). The newest row of each kind per session
wins. A removed session is hidden until it is written to again (its last activity is
after the removal, e.g. the next run of a task), and then listed with every row it has.
Both are read from the newest ``SCANNED`` rows of their kind: bounded, whatever the
store holds. A task's session (``task:<name>``, ``scheduling.book.session_of``) that
was not renamed is titled ``task: <name>``, from its id alone (no read per session).
"""

from __future__ import annotations

from pulse.v1 import chat_pb2

from pulsed.api.deps import ApiDeps
from pulsed.errors import FailedPrecondition, NotFound
from pulsed.scheduling.book import NAME as TASK_NAME
from pulsed.scheduling.book import session_of
from pulsed.store import rows
from pulsed.store.base import MAX_LIMIT, Row, Store, make_filters
from pulsed.store.schema import EVENTS, MESSAGES

RENAMED = "session_renamed"
"""event_type of the events rows that hold session renames (payload: session_id, title)."""
REMOVED = "session_removed"
"""event_type of the events rows that remove a session (payload: session_id, purged,
rows_deleted); a purge keeps them."""
SCANNED = 10_000
"""How many of the newest renames (and of the newest removals) ListSessions reads."""
TITLE_CELLS = 80
"""Titles longer than this are cut (with an ellipsis)."""
TASK_PREFIX = session_of("")
"""What a task's session id starts with (``task:``)."""


async def newest_by_session(store: Store, event_type: str) -> dict[str, Row]:
    """session id → its newest ``event_type`` events row, among the newest ``SCANNED``
    such rows (rows without a text ``payload.session_id`` are skipped)."""
    found = await store.query(
        "events",
        make_filters(EVENTS, [("event_type", "eq", event_type)]),
        order="desc",
        limit=SCANNED,
    )
    out: dict[str, Row] = {}
    for r in found:
        payload = r.get("payload")
        sid = payload.get("session_id") if isinstance(payload, dict) else None
        if isinstance(sid, str):
            out.setdefault(sid, r)
    return out


def task_title(session_id: str) -> str:
    """``task: <name>`` for the session of task ``name`` (``task:<name>``), else ''."""
    if not session_id.startswith(TASK_PREFIX):
        return ""
    name = session_id[len(TASK_PREFIX) :]
    return f"task: {name}" if TASK_NAME.match(name) else ""


def _shortened(title: str) -> str:
    return title if len(title) <= TITLE_CELLS else title[: TITLE_CELLS - 1] + "…"


async def list_sessions(d: ApiDeps, limit: int, include_removed: bool) -> list[chat_pb2.Session]:
    """The sessions ListSessions answers with, most recently active first, at most
    ``limit``: removed ones left out (or, with ``include_removed``, marked ``removed``),
    titled by their newest rename, else their task (``task: <name>``), else their first
    user message."""
    removals = await newest_by_session(d.store, REMOVED)
    # Removed sessions may take places in the store's top list: read as many more.
    wanted = limit if include_removed else min(limit + len(removals), MAX_LIMIT)
    sessions = await d.store.sessions(wanted)
    renames = await newest_by_session(d.store, RENAMED)
    models = await d.turns.session_models.all()
    out: list[chat_pb2.Session] = []
    for s in sessions:
        removal = removals.get(s.session_id)
        removed = removal is not None and s.last_activity <= str(removal["timestamp"])
        if removed and not include_removed:
            continue
        rename = renames.get(s.session_id)
        renamed = str(rename["payload"].get("title") or "") if rename is not None else ""
        title = renamed or task_title(s.session_id) or s.title
        out.append(
            chat_pb2.Session(
                session_id=s.session_id,
                message_count=s.message_count,
                first_activity=s.first_activity,
                last_activity=s.last_activity,
                title=_shortened(title),
                model=models.get(s.session_id, ""),
                removed=removed,
            )
        )
        if len(out) >= limit:
            break
    return out


async def remove_session(
    d: ApiDeps, session: str, purge: bool, source: str
) -> chat_pb2.RemoveSessionResponse:
    """Hide ``session`` (a checked id) from ListSessions by a ``session_removed`` events
    row; with ``purge`` first delete its rows (``Store.purge_session``, one transaction;
    the removal row is kept). A refused request changes nothing.

    Raises:
        NotFound: the session has no messages.
        FailedPrecondition: a turn of the session is queued or running, or ``purge`` on a
            backend that cannot delete rows (Timeplus).
        StoreError: the purge or the append failed.
    """
    seen = await d.store.query(
        "messages", make_filters(MESSAGES, [("session_id", "eq", session)]), limit=1
    )
    if not seen:
        raise NotFound(f"no session {session!r}; list them with `pulsectl sessions list`")
    if d.turns.session_busy(session):
        raise FailedPrecondition(
            f"a turn of session {session} is running or queued; cancel the turn first "
            "(esc in the console), then remove the session"
        )
    deleted: dict[str, int] = {}
    if purge:
        deleted = await d.store.purge_session(session, keep_events=(REMOVED,))
        if await d.turns.session_models.get(session):
            # The purge deleted the row that set its model: the daemon forgets it too.
            await d.turns.session_models.set(session, "")
    total = sum(deleted.values())
    await d.store.append(
        "events",
        [
            rows.event(
                REMOVED,
                source=source,
                payload={"session_id": session, "purged": purge, "rows_deleted": total},
                tags=["session"],
            )
        ],
        durable=True,
    )
    return chat_pb2.RemoveSessionResponse(session_id=session, rows_deleted=total, deleted=deleted)
