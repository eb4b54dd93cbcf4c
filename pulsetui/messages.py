"""App-wide messages: the connection worker's reports and task deliveries.

Messages that belong to one widget or screen are nested on it (``ChatInput.Submitted``,
``ChatScreen.TurnEvent``); these are the ones the app itself handles.
"""

from __future__ import annotations

from pulse.v1 import system_pb2
from textual.message import Message

from pulsetui.client import TailRow


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
