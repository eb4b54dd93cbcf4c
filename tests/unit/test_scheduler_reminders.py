"""The agent's reminder tools against a real store: naming, delivery to where the request
came from, the limits from [scheduler], and that the agent touches only its own tasks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pulsed.config import SchedulerConfig
from pulsed.scheduling.book import TaskBook
from pulsed.scheduling.reminders import BookReminders
from pulsed.store.local import LocalStore
from pulsed.timeutil import SystemClock
from pulsed.tools.base import ToolContext, ToolFailure
from pulsed.tools.reminders import (
    CancelReminder,
    ListReminders,
    ReminderDeps,
    ScheduleReminder,
    delivery_for,
)


class FixedClock(SystemClock):
    def now(self) -> datetime:
        return datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
async def book(tmp_path: Path) -> AsyncIterator[TaskBook]:
    store = LocalStore(tmp_path / "data")
    await store.open()
    try:
        yield TaskBook(store, FixedClock())
    finally:
        await store.close()


def tools(
    book: TaskBook, **limits: float
) -> tuple[ScheduleReminder, ListReminders, CancelReminder]:
    deps = ReminderDeps(BookReminders(book), SchedulerConfig(**limits))  # type: ignore[arg-type]
    return ScheduleReminder(deps), ListReminders(deps), CancelReminder(deps)


CLI = ToolContext(turn_id="in-0", session_id="s-1", source="cli")


def telegram_input() -> ToolContext:
    return ToolContext(
        turn_id="in-1",
        session_id="tg-42",
        source="telegram",
        channel_metadata={"chat": "42", "deliver_to": "telegram:42"},
    )


async def test_schedule_list_cancel(book: TaskBook) -> None:
    schedule, listing, cancel = tools(book)
    out = await schedule.execute(
        {
            "when": "at 2026-11-21T09:00",
            "prompt": "Remind the user to call the bank",
            "timezone": "Europe/Paris",
        },
        telegram_input(),
    )
    assert not out.is_error and "next run 2026-11-21T09:00+01:00" in out.text
    [(name, row)] = (await book.current()).items()
    assert name.startswith("reminder-") and len(name) == len("reminder-") + 8
    assert row["deliver_to"] == "telegram:42"  # back to the chat it was asked in
    assert row["options"]["created_by"] == "agent" and row["options"]["session"] == "tg-42"
    text = (await listing.execute({}, CLI)).text
    assert name in text and "pending" in text and "call the bank" in text
    assert (await cancel.execute({"name": name}, CLI)).text == f"cancelled {name}"
    assert await book.current() == {}


async def test_delivery_defaults_to_the_persons_clients() -> None:
    assert delivery_for(CLI) == "tui"
    task_run = ToolContext(
        turn_id="r-1",
        session_id="task:x",
        source="scheduler",
        channel_metadata={"deliver_to": "none"},
    )
    assert delivery_for(task_run) == "tui"
    assert delivery_for(telegram_input()) == "telegram:42"


async def test_limits(book: TaskBook) -> None:
    schedule, _, _ = tools(book, agent_max_tasks=2, agent_min_interval_s=3600)
    with pytest.raises(ToolFailure, match="at most every 3600 s"):
        await schedule.execute({"when": "*/5 * * * *", "prompt": "spam"}, CLI)
    with pytest.raises(ToolFailure, match="at most every 3600 s"):
        await schedule.execute({"when": "every 10m", "prompt": "spam"}, CLI)
    with pytest.raises(ToolFailure, match="in the past"):
        await schedule.execute({"when": "at 2020-01-01T09:00", "prompt": "x"}, CLI)
    await schedule.execute({"when": "every 2h", "prompt": "stretch"}, CLI)
    await schedule.execute({"when": "in 1h", "prompt": "tea"}, CLI)
    with pytest.raises(ToolFailure, match="limit"):
        await schedule.execute({"when": "in 2h", "prompt": "one too many"}, CLI)
    with pytest.raises(ToolFailure, match="Valid examples"):
        await schedule.execute({"when": "tomorrow-ish", "prompt": "x"}, CLI)


async def test_the_agent_cannot_cancel_the_users_tasks(book: TaskBook) -> None:
    await book.add("backup", "0 3 * * *", "back up my notes")
    _, listing, cancel = tools(book)
    with pytest.raises(ToolFailure, match="set up by the user"):
        await cancel.execute({"name": "backup"}, CLI)
    with pytest.raises(ToolFailure, match="no reminder"):
        await cancel.execute({"name": "reminder-00000000"}, CLI)
    assert (await listing.execute({}, CLI)).text == "no reminders scheduled"
    assert "backup" in await book.current()
