"""A channel's events in the ``events`` stream, written best effort."""

from __future__ import annotations

import contextlib

from pulsed.errors import PulseError
from pulsed.store import rows
from pulsed.store.base import Store


class Journal:
    """Appends a channel's event rows (built by ``rows.channel_*``).

    A store that cannot take an event does not stop the channel: the error is dropped
    (the daemon's log has the channel's own lines).
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def write(self, values: rows.Values, *, durable: bool = False) -> None:
        """Append one ``events`` row; ``durable`` waits for it to be on disk."""
        with contextlib.suppress(PulseError):
            await self.store.append("events", [values], durable=durable)
