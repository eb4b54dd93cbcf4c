"""Per-session settings kept as event rows: the model a session uses.

``Chat.SetSessionModel`` (and ``pulsectl chat --model``, ``/model``) appends an
``events`` row ``session_model`` (payload: session_id, model; an empty model returns the
session to the configured chain). The latest such row per session wins; the daemon reads
them once and keeps them in memory.
"""

from __future__ import annotations

import asyncio

from pulsed.store import rows
from pulsed.store.base import Store, make_filters
from pulsed.store.schema import EVENTS

SESSION_MODEL = "session_model"
"""event_type of the rows that set a session's model."""
SCANNED = 10_000
"""How many of the newest session_model rows are read at start."""


class SessionModels:
    """The model each session asked for (``[PROVIDER:]MODEL``), '' for the default."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._models: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def _load(self) -> dict[str, str]:
        async with self._lock:
            if self._models is None:
                filters = make_filters(EVENTS, [("event_type", "eq", SESSION_MODEL)])
                found = await self.store.query("events", filters, order="desc", limit=SCANNED)
                models: dict[str, str] = {}
                for r in found:  # newest first: the first row per session wins
                    payload = r.get("payload")
                    if isinstance(payload, dict) and isinstance(payload.get("session_id"), str):
                        models.setdefault(payload["session_id"], str(payload.get("model") or ""))
                self._models = models
            return self._models

    async def get(self, session_id: str) -> str:
        """The session's model, or '' when it uses the configured chain."""
        return (await self._load()).get(session_id, "")

    async def all(self) -> dict[str, str]:
        """Every session that set a model (sessions back on the default map to '')."""
        return dict(await self._load())

    async def set(self, session_id: str, model: str) -> None:
        """Record ``model`` ('' = default) for the session, durably."""
        models = await self._load()
        await self.store.append(
            "events",
            [
                rows.event(
                    SESSION_MODEL,
                    source="chat",
                    payload={"session_id": session_id, "model": model},
                    tags=["session"],
                )
            ],
            durable=True,
        )
        models[session_id] = model
