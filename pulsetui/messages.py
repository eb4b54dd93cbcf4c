"""Messages shared across the console: the connection worker's reports and task
deliveries (handled by the app), and the tail workers' reports (handled by the views that
tail a stream: Streams and Events).

Messages that belong to one widget or screen are nested on it (``ChatInput.Submitted``,
``ChatScreen.TurnEvent``, ``TailTable.RowOpened``).
"""

from __future__ import annotations

from pulse.v1 import system_pb2
from textual.message import Message

from pulsectl.client import ClientError, TailRow


class Connected(Message):
    """The daemon answered (again): ``status`` is its System.Status."""

    def __init__(self, status: system_pb2.StatusResponse, *, again: bool) -> None:
        super().__init__()
        self.status = status
        self.again = again
        """True when this ends a period without a connection."""


class StatusUpdated(Message):
    """A fresh System.Status while connected (spend, provider, store)."""

    def __init__(self, status: system_pb2.StatusResponse) -> None:
        super().__init__()
        self.status = status


class Disconnected(Message):
    """The daemon stopped answering; the worker tries again in ``retry_in_s`` seconds."""

    def __init__(self, reason: str, retry_in_s: float, hint: str = "") -> None:
        super().__init__()
        self.reason = reason
        self.retry_in_s = retry_in_s
        self.hint = hint


class DaemonNote(Message):
    """A one-line note about the daemon, e.g. that the console started one."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Delivery(Message):
    """A task's answer delivered to the console (a messages row with target ``tui``)."""

    def __init__(self, row: TailRow) -> None:
        super().__init__()
        self.row = row


class TailRows(Message):
    """A batch of rows of a view's tail number ``generation`` (the view drops batches of
    tails it has since replaced)."""

    def __init__(self, generation: int, rows: list[TailRow]) -> None:
        super().__init__()
        self.generation = generation
        self.rows = rows


class TailFailed(Message):
    """Tail number ``generation`` of a view ended with an error (unknown stream, bad
    filter); ``error`` says why."""

    def __init__(self, generation: int, error: ClientError) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class OpenSession(Message):
    """Show session ``session_id`` in the Chat view (e.g. where a memory came from)."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
