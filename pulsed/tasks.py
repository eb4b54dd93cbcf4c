"""Task definitions as an append-only log of versions in the tasks stream.

The current definition of a task is its newest version (``Store.latest_by``); a version
with ``deleted`` true removes it. Runs are messages of type scheduled_task in session
``task:<name>``, answered like any turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pulsed import schedule
from pulsed.errors import AlreadyExists, InvalidArgument, NotFound
from pulsed.store.base import Row, Store, make_filters, parse_iso
from pulsed.store.schema import LLM_LOGS, MESSAGES, TASKS

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
TARGET = re.compile(r"^(none|tui|[a-z]+:[A-Za-z0-9_.:@/-]{1,200})$")
MAX_PROMPT_CHARS = 20_000


@dataclass
class TaskView:
    """A task's current definition plus what is known of its runs."""

    name: str
    schedule: str
    prompt: str
    timezone: str
    enabled: bool
    deliver_to: str
    version: int
    created_at: str
    updated_at: str
    next_run: str = ""
    last_run: str = ""
    last_status: str = ""


def session_of(name: str) -> str:
    """The session a task's runs belong to."""
    return f"task:{name}"


def validate(name: str, spec: str, prompt: str, tz: str, deliver_to: str) -> None:
    """Check a definition.

    Raises:
        InvalidArgument: bad name, schedule, prompt, zone or delivery target.
    """
    if not NAME.match(name):
        raise InvalidArgument(
            f"invalid task name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-'"
        )
    schedule.parse(spec)
    if not prompt.strip():
        raise InvalidArgument("the task's prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgument(
            f"the prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}"
        )
    schedule.zone(tz)
    if not TARGET.match(deliver_to):
        raise InvalidArgument(
            f"invalid delivery target {deliver_to!r}: "
            "use none, tui or <channel>:<id> (e.g. telegram:12345)"
        )


class TaskBook:
    """Reads and writes task versions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _current(self) -> dict[str, Row]:
        return {str(r["name"]): r for r in await self.store.latest_by("tasks", "name")}

    async def get(self, name: str) -> Row:
        """The current version of ``name``.

        Raises:
            NotFound: no such task (or it was removed).
        """
        row = (await self._current()).get(name)
        if row is None or row["deleted"]:
            raise NotFound(f"no task named {name!r} (see: pulsectl tasks list)")
        return row

    async def add(
        self,
        name: str,
        spec: str,
        prompt: str,
        tz: str = "",
        deliver_to: str = "",
        enabled: bool = True,
    ) -> Row:
        """Define a new task.

        Raises:
            InvalidArgument: see ``validate``. AlreadyExists: the name is taken.
        """
        deliver_to = deliver_to or "none"
        validate(name, spec, prompt, tz, deliver_to)
        prev = (await self._current()).get(name)
        if prev is not None and not prev["deleted"]:
            raise AlreadyExists(
                f"a task named {name!r} exists already (edit it with: pulsectl tasks edit {name})"
            )
        version = int(prev["version"]) + 1 if prev is not None else 1
        return await self._write(
            {
                "name": name,
                "version": version,
                "schedule": " ".join(spec.split()),
                "prompt": prompt,
                "timezone": tz,
                "enabled": enabled,
                "deliver_to": deliver_to,
                "deleted": False,
            }
        )

    async def update(self, name: str, **changes: Any) -> Row:
        """Write a new version of ``name`` with ``changes`` (schedule, prompt, timezone,
        deliver_to, enabled) applied.

        Raises:
            NotFound, InvalidArgument.
        """
        cur = await self.get(name)
        values = {
            k: cur[k] for k in ("name", "schedule", "prompt", "timezone", "enabled", "deliver_to")
        }
        values.update({k: v for k, v in changes.items() if v is not None})
        validate(
            name, values["schedule"], values["prompt"], values["timezone"], values["deliver_to"]
        )
        values["schedule"] = " ".join(str(values["schedule"]).split())
        values.update(version=int(cur["version"]) + 1, deleted=False)
        return await self._write(values)

    async def remove(self, name: str) -> Row:
        """Write a version that removes ``name``.

        Raises:
            NotFound.
        """
        cur = await self.get(name)
        values = {
            k: cur[k] for k in ("name", "schedule", "prompt", "timezone", "enabled", "deliver_to")
        }
        values.update(version=int(cur["version"]) + 1, deleted=True, enabled=False)
        return await self._write(values)

    async def _write(self, values: dict[str, Any]) -> Row:
        return (await self.store.append("tasks", [values], durable=True))[0]

    async def list_tasks(self, now: datetime | None = None) -> list[TaskView]:
        """Every current task with its next run and last run, sorted by name."""
        now = now or datetime.now(UTC)
        out = []
        for _name, row in sorted((await self._current()).items()):
            if row["deleted"]:
                continue
            out.append(await self.view(row, now))
        return out

    async def view(self, row: Row, now: datetime | None = None) -> TaskView:
        """``row`` (a current version) as a TaskView."""
        now = now or datetime.now(UTC)
        name = str(row["name"])
        first = await self.store.query(
            "tasks", make_filters(TASKS, [("name", "eq", name)]), order="asc", limit=1
        )
        tz = schedule.zone(str(row["timezone"]))
        v = TaskView(
            name=name,
            schedule=str(row["schedule"]),
            prompt=str(row["prompt"]),
            timezone=str(row["timezone"]),
            enabled=bool(row["enabled"]),
            deliver_to=str(row["deliver_to"]),
            version=int(row["version"]),
            created_at=str(first[0]["timestamp"]) if first else str(row["timestamp"]),
            updated_at=str(row["timestamp"]),
        )
        runs = await self.history(name, limit=1)
        if runs:
            v.last_run, v.last_status = runs[0]["fired_at"], runs[0]["status"]
        if v.enabled:
            sched = schedule.parse(v.schedule)
            anchor = parse_iso(v.updated_at)
            after = max(now, parse_iso(v.last_run)) if v.last_run and sched.one_shot else now
            if sched.one_shot and v.last_run and parse_iso(v.last_run) >= anchor:
                nxt = None
            else:
                nxt = sched.next_after(after, tz, defined_at=anchor)
            v.next_run = nxt.isoformat(timespec="seconds") if nxt else ""
        return v

    async def history(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """Runs of ``name``, newest first: fired_at, status (ok | error | running),
        duration_ms, answer, cost_usd, message_id."""
        sess = session_of(name)
        rows = await self.store.query(
            "messages",
            make_filters(MESSAGES, [("session_id", "eq", sess)]),
            order="desc",
            limit=max(1, limit) * 8,
        )
        answers = {
            str(r["reply_to"]): r
            for r in rows
            if r["message_type"] in ("agent_response", "error") and r["reply_to"]
        }
        costs: dict[str, float] = {}
        for r in await self.store.query(
            "llm_logs",
            make_filters(LLM_LOGS, [("session_id", "eq", sess)]),
            order="desc",
            limit=10000,
        ):
            costs[str(r["turn_id"])] = costs.get(str(r["turn_id"]), 0.0) + float(
                r["estimated_cost_usd"]
            )
        runs = []
        for r in rows:
            if r["message_type"] != "scheduled_task":
                continue
            ans = answers.get(str(r["id"]))
            fired = parse_iso(str(r["timestamp"]))
            run = {
                "message_id": str(r["id"]),
                "fired_at": str(r["timestamp"]),
                "status": "running",
                "duration_ms": 0.0,
                "answer": "",
                "cost_usd": costs.get(str(r["id"]), 0.0),
            }
            if ans is not None:
                content = ans["content"] if isinstance(ans["content"], dict) else {}
                run["status"] = "ok" if ans["message_type"] == "agent_response" else "error"
                run["answer"] = str(content.get("text", ""))
                run["duration_ms"] = (
                    parse_iso(str(ans["timestamp"])) - fired
                ).total_seconds() * 1000
            runs.append(run)
            if len(runs) >= limit:
                break
        return runs

    async def fire(self, name: str, trigger: str = "manual") -> Row:
        """Append a scheduled_task message for ``name`` (the caller submits the turn).

        Raises:
            NotFound.
        """
        cur = await self.get(name)
        return (
            await self.store.append(
                "messages",
                [
                    {
                        "source": "scheduler",
                        "target": "agent",
                        "session_id": session_of(name),
                        "message_type": "scheduled_task",
                        "content": {
                            "text": cur["prompt"],
                            "task": name,
                            "trigger": trigger,
                            "version": cur["version"],
                        },
                        "user_id": "scheduler",
                        "channel_metadata": {"deliver_to": cur["deliver_to"]},
                    }
                ],
                durable=True,
            )
        )[0]
