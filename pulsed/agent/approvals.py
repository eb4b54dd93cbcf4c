"""Approval requests for tools whose policy is "ask".

A turn asks; the person's client answers through Chat.Approve; no answer within the
timeout means denied.
"""

from __future__ import annotations

import asyncio
import uuid

from pulsed.errors import NotFound


class ApprovalBroker:
    """Pending approval requests by id."""

    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[bool]] = {}

    def open(self) -> tuple[str, asyncio.Future[bool]]:
        """A new request id and the future its answer resolves."""
        rid = "ap-" + uuid.uuid4().hex[:12]
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        return rid, fut

    async def wait(self, rid: str, fut: asyncio.Future[bool], timeout_s: float) -> str:
        """``approved``, ``denied`` or ``timeout``."""
        try:
            ok = await asyncio.wait_for(asyncio.shield(fut), timeout_s)
            return "approved" if ok else "denied"
        except TimeoutError:
            return "timeout"
        finally:
            self._pending.pop(rid, None)

    def resolve(self, rid: str, approved: bool) -> None:
        """Answer request ``rid``.

        Raises:
            NotFound: no pending request with that id (answered, timed out, or unknown).
        """
        fut = self._pending.get(rid)
        if fut is None or fut.done():
            raise NotFound(f"no pending approval request {rid!r} (it may have timed out)")
        fut.set_result(approved)
