"""Which session a chat's messages belong to: ``<channel>:<chat>``, and after each
``/new`` the next generation ``<channel>:<chat>:<n>``, kept as cursor rows
(consumer ``channel:<name>:session:<chat>``, position = the generation)."""

from __future__ import annotations

from collections.abc import Iterable

from pulsed.store import rows
from pulsed.store.base import Row, Store


class Sessions:
    """The session of each chat of channel ``name``."""

    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self.store = store
        self._prefix = f"channel:{name}:session:"
        self._generations: dict[str, int] = {}

    def restore(self, cursors: Iterable[Row]) -> None:
        """Take the generations from the latest ``cursors`` row of each consumer."""
        for row in cursors:
            consumer = str(row["consumer"])
            if consumer.startswith(self._prefix):
                self._generations[consumer[len(self._prefix) :]] = int(row["position"])

    def session_for(self, chat: str) -> str:
        """The session of ``chat``: ``<channel>:<chat>``, plus ``:<n>`` after /new."""
        gen = self._generations.get(chat, 1)
        base = f"{self.name}:{chat}"
        return base if gen <= 1 else f"{base}:{gen}"

    async def new(self, chat: str) -> str:
        """Start the next session of ``chat`` (durably) and return its id.

        Raises:
            PulseError: the store could not record it; the session is unchanged.
        """
        gen = self._generations.get(chat, 1) + 1
        await self.store.append(
            "cursors",
            [
                rows.chat_session(
                    self._prefix + chat,
                    generation=gen,
                    session_id=f"{self.name}:{chat}:{gen}",
                )
            ],
            durable=True,
        )
        self._generations[chat] = gen
        return self.session_for(chat)
