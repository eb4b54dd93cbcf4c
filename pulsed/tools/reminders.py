"""The agent's own reminders: schedule_reminder, list_reminders, cancel_reminder.

The tools reach the reminders through the ``Reminders`` port (``pulsed.tools.ports``);
the daemon's implementation (``pulsed.scheduling.reminders``) keeps them as ordinary
tasks named ``reminder-<8 hex>``, marked ``created_by = agent`` in their options together
with the session they were asked for in. They deliver where the request came from: a
channel chat (the input's ``channel_metadata.deliver_to``, e.g. ``telegram:12345``), else
the person's clients (``tui``). ``[scheduler] agent_max_tasks`` caps how many may be
pending at once and ``agent_min_interval_s`` how often a recurring one may run. The agent
may list and cancel only the tasks it created; the person manages every task with
``pulsectl tasks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulsed.config import SchedulerConfig
from pulsed.errors import FailedPrecondition, NotFound, PulseError
from pulsed.store.schema import DELIVERY_TARGET
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput
from pulsed.tools.ports import Reminders, ReminderState

WHEN_HELP = (
    '"in 2h" or "in 20m" (from now), "at 2026-12-01T09:00" (ISO 8601, the zone below), '
    '"every 1d" (real elapsed time), or a 5-field cron such as "0 9 * * 1-5"'
)


@dataclass
class ReminderDeps:
    """What the reminder tools share: the reminders and the agent's limits."""

    reminders: Reminders
    limits: SchedulerConfig


def delivery_for(ctx: ToolContext) -> str:
    """Where a reminder asked for in turn ``ctx`` delivers: the chat it came from, else
    the person's clients (``tui``)."""
    target = ctx.deliver_to
    if target not in ("", "none") and DELIVERY_TARGET.match(target):
        return target
    return "tui"


_STATES: dict[ReminderState, str] = {
    "pending": "pending",
    "done": "done",
    "disabled": "disabled by the user",
}


class ScheduleReminder(Tool):
    """schedule_reminder: a reminder or recurring check, within the agent's limits."""

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
            gap = self.d.reminders.min_gap(when, tz_name)
        except PulseError as e:
            raise ToolFailure(e.message) from None
        if gap is not None and gap.total_seconds() < limits.agent_min_interval_s:
            raise ToolFailure(
                f"{when!r} runs every {gap.total_seconds():g} s; reminders you create may "
                f"run at most every {limits.agent_min_interval_s:g} s "
                "([scheduler] agent_min_interval_s in the user's config)"
            )
        pending = [r for r in await self.d.reminders.list_all() if r.state == "pending"]
        if len(pending) >= limits.agent_max_tasks:
            raise ToolFailure(
                f"you have {len(pending)} pending reminders, the limit "
                f"([scheduler] agent_max_tasks); cancel one with cancel_reminder first"
            )
        try:
            made = await self.d.reminders.add(
                when, prompt, tz_name, delivery_for(ctx), ctx.session_id
            )
        except PulseError as e:
            raise ToolFailure(e.message) from None
        at = made.next_run.isoformat(timespec="minutes") if made.next_run else "never"
        return ToolOutput(
            f"scheduled {made.name} ({made.schedule}); next run {at}; "
            f"delivered to {made.deliver_to}"
        )


class ListReminders(Tool):
    """list_reminders: the reminders the agent scheduled, one line each."""

    name = "list_reminders"
    description = "List the reminders you scheduled: name, schedule, next run, state, prompt."
    parameters = {"type": "object", "properties": {}}
    default_policy = "allow"
    idempotent = True

    def __init__(self, deps: ReminderDeps) -> None:
        self.d = deps

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        lines = []
        for r in await self.d.reminders.list_all():
            when = r.next_run.isoformat(timespec="minutes") if r.next_run else "-"
            lines.append(
                f"- {r.name}: {r.schedule} | next {when} | {_STATES[r.state]} | {r.prompt}"
            )
        return ToolOutput("\n".join(lines) if lines else "no reminders scheduled")


class CancelReminder(Tool):
    """cancel_reminder: remove a reminder the agent scheduled (never the person's tasks)."""

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
        try:
            await self.d.reminders.cancel(name)
        except NotFound:
            raise ToolFailure(f"no reminder named {name!r} (see list_reminders)") from None
        except FailedPrecondition:
            raise ToolFailure(
                f"{name} was set up by the user, not by you; they can remove it with "
                f"`pulsectl tasks rm {name}`"
            ) from None
        return ToolOutput(f"cancelled {name}")


def reminder_tools(deps: ReminderDeps) -> list[Tool]:
    """The three reminder tools sharing ``deps``."""
    return [ScheduleReminder(deps), ListReminders(deps), CancelReminder(deps)]
