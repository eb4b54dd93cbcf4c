"""Approval requests for tools whose policy is "ask".

A turn asks; the person answers through Chat.Approve (console, CLI) or a channel's
buttons; no answer within the timeout means denied. An answer is one of:

- ``once``: run this call;
- ``session``: run it, and run the same call (same tool, same approval key — for the
  shell the exact command and working directory) unasked for the rest of the session;
- ``deny``: do not run it.

Session allowances live in memory: a daemon restart forgets them (asking again is the
safe side).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from pulsed.errors import InvalidArgument, NotFound

DECISIONS = ("once", "session", "deny")


@dataclass(frozen=True, slots=True)
class Pending:
    """What an open request is about: the session, the tool and its approval key."""

    session_id: str
    tool: str
    key: str


class ApprovalBroker:
    """Pending approval requests by id, and the calls allowed for a session."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[Pending, asyncio.Future[str]]] = {}
        self._session: set[tuple[str, str, str]] = set()

    def allowed(self, session_id: str, tool: str, key: str) -> bool:
        """Whether the person allowed this exact call for the session earlier."""
        return (session_id, tool, key) in self._session

    def open(self, session_id: str, tool: str, key: str) -> tuple[str, asyncio.Future[str]]:
        """A new request id and the future its decision resolves."""
        rid = "ap-" + uuid.uuid4().hex[:12]
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (Pending(session_id, tool, key), fut)
        return rid, fut

    async def wait(self, rid: str, fut: asyncio.Future[str], timeout_s: float) -> str:
        """``approved``, ``approved_session``, ``denied`` or ``timeout``."""
        try:
            decision = await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except TimeoutError:
            return "timeout"
        finally:
            self._pending.pop(rid, None)
        return {"once": "approved", "session": "approved_session"}.get(decision, "denied")

    def pending(self, rid: str) -> Pending | None:
        """What the open request ``rid`` is about, or None when it is not open."""
        entry = self._pending.get(rid)
        return entry[0] if entry and not entry[1].done() else None

    def resolve(self, rid: str, decision: str | bool) -> None:
        """Answer request ``rid`` with once | session | deny (True/False: once/deny).

        Raises:
            NotFound: no pending request with that id (answered, timed out, or unknown).
            InvalidArgument: an unknown decision.
        """
        if isinstance(decision, bool):
            decision = "once" if decision else "deny"
        if decision not in DECISIONS:
            raise InvalidArgument(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
        entry = self._pending.get(rid)
        if entry is None or entry[1].done():
            raise NotFound(f"no pending approval request {rid!r} (it may have timed out)")
        about, fut = entry
        if decision == "session":
            self._session.add((about.session_id, about.tool, about.key))
        fut.set_result(decision)
