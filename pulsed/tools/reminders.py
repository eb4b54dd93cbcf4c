"""The agent's own reminders: schedule_reminder, list_reminders, cancel_reminder.

Reminders are ordinary tasks (``pulsed.tasks``) named ``reminder-<8 hex>``, marked
``created_by = agent`` in their options together with the session they were asked for
in. They deliver where the request came from: a channel chat (the input's
``channel_metadata.deliver_to``, e.g. ``telegram:12345``), else the person's clients
(``tui``). ``[scheduler] agent_max_tasks`` caps how many may be pending at once and
``agent_min_interval_s`` how often a recurring one may run. The agent may list and
cancel only the tasks it created; the person manages every task with ``pulsectl tasks``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pulsed import schedule
from pulsed.config import SchedulerConfig
from pulsed.errors import PulseError
from pulsed.store.base import Row
from pulsed.tasks import TARGET, TaskBook, is_retired, next_run, options_of
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput

WHEN_HELP = (
    '"in 2h" or "in 20m" (from now), "at 2026-12-01T09:00" (ISO 8601, the zone below), '
    '"every 1d" (real elapsed time), or a 5-field cron such as "0 9 * * 1-5"'
)


@dataclass
class ReminderDeps:
    """What the reminder tools share: the task book and the agent's limits."""

    book: TaskBook
    limits: SchedulerConfig


def delivery_for(ctx: ToolContext) -> str:
    """Where a reminder asked for in turn ``ctx`` delivers: the chat it came from, else
    the person's clients (``tui``)."""
    target = ctx.deliver_to
    if target not in ("", "none") and TARGET.match(target):
        return target
    return "tui"


def _agent_made(row: Row) -> bool:
    return options_of(row).get("created_by") == "agent"


class ScheduleReminder(Tool):
    name = "schedule_reminder"
    description = (
        "Schedule a reminder or a recurring check for the user. When it is due you are "
        "asked `prompt` and your answer is delivered to the user where they asked. "
        f"`when`: {WHEN_HELP}."
    )
    parameters = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "description": "when it runs: " + WHEN_HELP},
            "prompt": {
                "type": "string",
                "description": "what you will be asked then, e.g. 'Remind the user to "
                "call the bank about the mortgage'",
            },
            "timezone": {
                "type": "string",
                "description": "IANA zone for at/cron times, e.g. Europe/Paris; default "
                "the machine's",
            },
        },
        "required": ["when", "prompt"],
    }
    default_policy = "allow"

    def __init__(self, deps: ReminderDeps) -> None:
        self.d = deps

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        when = str(args.get("when") or "").strip()
        prompt = str(args.get("prompt") or "").strip()
        tz_name = str(args.get("timezone") or "").strip()
        limits = self.d.limits
        try:
            sched = schedule.parse(when)
            tz = schedule.zone(tz_name)
        except PulseError as e:
            raise ToolFailure(e.message) from None
        now = self.d.book.clock.now()
        gap = sched.min_gap(tz, now)
        if gap is not None and gap.total_seconds() < limits.agent_min_interval_s:
            raise ToolFailure(
                f"{when!r} runs every {gap.total_seconds():g} s; reminders you create may "
                f"run at most every {limits.agent_min_interval_s:g} s "
                "([scheduler] agent_min_interval_s in the user's config)"
            )
        pending = [
            r
            for r in (await self.d.book.current()).values()
            if _agent_made(r) and r["enabled"] and not is_retired(r)
        ]
        if len(pending) >= limits.agent_max_tasks:
            raise ToolFailure(
                f"you have {len(pending)} pending reminders, the limit "
                f"([scheduler] agent_max_tasks); cancel one with cancel_reminder first"
            )
        name = "reminder-" + uuid.uuid4().hex[:8]
        try:
            row = await self.d.book.add(
                name,
                when,
                prompt,
                tz_name,
                delivery_for(ctx),
                created_by="agent",
                session=ctx.session_id,
            )
        except PulseError as e:
            raise ToolFailure(e.message) from None
        nxt = next_run(row, now)
        at = nxt.isoformat(timespec="minutes") if nxt else "never"
        return ToolOutput(
            f"scheduled {name} ({sched.spec}); next run {at}; delivered to {row['deliver_to']}"
        )


class ListReminders(Tool):
    name = "list_reminders"
    description = "List the reminders you scheduled: name, schedule, next run, state, prompt."
    parameters = {"type": "object", "properties": {}}
    default_policy = "allow"

    def __init__(self, deps: ReminderDeps) -> None:
        self.d = deps

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        now = self.d.book.clock.now()
        lines = []
        for name, row in sorted((await self.d.book.current()).items()):
            if not _agent_made(row):
                continue
            nxt = next_run(row, now)
            state = (
                "done"
                if is_retired(row)
                else ("pending" if row["enabled"] else "disabled by the user")
            )
            when = nxt.isoformat(timespec="minutes") if nxt else "-"
            lines.append(f"- {name}: {row['schedule']} | next {when} | {state} | {row['prompt']}")
        return ToolOutput("\n".join(lines) if lines else "no reminders scheduled")


class CancelReminder(Tool):
    name = "cancel_reminder"
    description = "Cancel (remove) a reminder you scheduled, by its name (see list_reminders)."
    parameters = {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "e.g. reminder-1a2b3c4d"}},
        "required": ["name"],
    }
    default_policy = "allow"

    def __init__(self, deps: ReminderDeps) -> None:
        self.d = deps

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        name = str(args.get("name") or "").strip()
        row = (await self.d.book.current()).get(name)
        if row is None:
            raise ToolFailure(f"no reminder named {name!r} (see list_reminders)")
        if not _agent_made(row):
            raise ToolFailure(
                f"{name} was set up by the user, not by you; they can remove it with "
                f"`pulsectl tasks rm {name}`"
            )
        await self.d.book.remove(name)
        return ToolOutput(f"cancelled {name}")


def reminder_tools(deps: ReminderDeps) -> list[Tool]:
    """The three reminder tools sharing ``deps``."""
    return [ScheduleReminder(deps), ListReminders(deps), CancelReminder(deps)]
