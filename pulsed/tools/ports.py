"""What tools need from the layers above them, as small typed ports.

A tool depends on a ``Protocol`` defined here; the layer that owns the data implements
it and the server hands the implementation to the tool when it builds the tool set, so
``pulsed.tools`` never imports scheduling or the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

ReminderState = Literal["pending", "done", "disabled"]
"""pending: it will run; done: a one-shot reminder that ran (or was missed); disabled:
the person turned it off."""


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder the agent created.

    Attributes:
        name: its task's name, ``reminder-<8 hex>``.
        schedule: its schedule spec, whitespace normalised (e.g. ``in 2h``, ``0 9 * * 1-5``).
        prompt: what the agent is asked when it is due.
        deliver_to: where the answer goes (tui, ``telegram:12345``...).
        next_run: when it runs next, aware, in the reminder's zone; None when it never
            runs again. A one-shot reminder's time is given even when it has passed.
        state: pending | done | disabled.
    """

    name: str
    schedule: str
    prompt: str
    deliver_to: str
    next_run: datetime | None
    state: ReminderState


class Reminders(Protocol):
    """The agent's reminders: the tasks it made itself, which only it may cancel."""

    def min_gap(self, when: str, timezone: str) -> timedelta | None:
        """The shortest time between the next runs of schedule ``when`` in zone
        ``timezone`` ('': the machine's) from now; None for a one-shot schedule.

        Raises:
            InvalidArgument: bad schedule or zone (the message shows valid examples).
        """
        ...

    async def list_all(self) -> list[Reminder]:
        """Every reminder the agent made and not yet cancelled, sorted by name."""
        ...

    async def add(
        self, when: str, prompt: str, timezone: str, deliver_to: str, session: str
    ) -> Reminder:
        """Create a reminder running ``prompt`` at ``when`` (a schedule spec) in zone
        ``timezone``, delivered to ``deliver_to``; ``session`` is where it was asked for.

        Raises:
            InvalidArgument: bad schedule, zone, prompt or target, or a time in the past.
        """
        ...

    async def cancel(self, name: str) -> None:
        """Remove the reminder ``name``.

        Raises:
            NotFound: no task of that name.
            FailedPrecondition: the task was made by the person, not by the agent.
        """
        ...
