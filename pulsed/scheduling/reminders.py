"""The agent's reminders as tasks of the ``TaskBook``: the daemon's implementation of the
reminder tools' port (``pulsed.tools.ports.Reminders``).

A reminder is a task named ``reminder-<8 hex>`` whose options say ``created_by = agent``
and the ``session`` it was asked for in; every other task is the person's.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pulsed.errors import FailedPrecondition, NotFound
from pulsed.scheduling.book import TaskBook, is_retired, next_run, options_of
from pulsed.scheduling.spec import parse as parse_spec
from pulsed.store.base import Row
from pulsed.timeutil import zone
from pulsed.tools.ports import Reminder, ReminderState


def agent_made(row: Row) -> bool:
    """Whether task version ``row`` is one the agent created (a reminder)."""
    return options_of(row).get("created_by") == "agent"


def _reminder(row: Row, now: datetime) -> Reminder:
    """Task version ``row`` as a Reminder, its next run after ``now``."""
    state: ReminderState = (
        "done" if is_retired(row) else ("pending" if row["enabled"] else "disabled")
    )
    return Reminder(
        name=str(row["name"]),
        schedule=str(row["schedule"]),
        prompt=str(row["prompt"]),
        deliver_to=str(row["deliver_to"]),
        next_run=next_run(row, now),
        state=state,
    )


class BookReminders:
    """``Reminders`` over a ``TaskBook``: the agent's tasks, read and written as versions."""

    def __init__(self, book: TaskBook) -> None:
        self.book = book

    def min_gap(self, when: str, timezone: str) -> timedelta | None:
        """The shortest time between the next runs of ``when`` in ``timezone`` from the
        book's clock's now; None for a one-shot schedule.

        Raises:
            InvalidArgument: bad schedule or zone.
        """
        sched = parse_spec(when)
        tz = zone(timezone)
        return sched.min_gap(tz, self.book.clock.now())

    async def list_all(self) -> list[Reminder]:
        """The agent's current tasks, sorted by name, next runs from the clock's now."""
        now = self.book.clock.now()
        return [
            _reminder(row, now)
            for _, row in sorted((await self.book.current()).items())
            if agent_made(row)
        ]

    async def add(
        self, when: str, prompt: str, timezone: str, deliver_to: str, session: str
    ) -> Reminder:
        """Define task ``reminder-<8 hex>`` (created_by agent, with ``session``).

        Raises:
            InvalidArgument: see ``TaskBook.add``.
        """
        now = self.book.clock.now()
        row = await self.book.add(
            "reminder-" + uuid.uuid4().hex[:8],
            when,
            prompt,
            timezone,
            deliver_to,
            created_by="agent",
            session=session,
        )
        return _reminder(row, now)

    async def cancel(self, name: str) -> None:
        """Remove the agent's task ``name``.

        Raises:
            NotFound: no current task ``name``.
            FailedPrecondition: ``name`` is the person's task.
        """
        row = (await self.book.current()).get(name)
        if row is None:
            raise NotFound(f"no task named {name!r}")
        if not agent_made(row):
            raise FailedPrecondition(f"task {name!r} was made by the person, not by the agent")
        await self.book.remove(name)
