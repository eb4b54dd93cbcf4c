"""Task definitions as an append-only log of versions in the tasks stream, and their runs.

The current definition of a task is its newest version (``Store.latest_by``); a version
with ``deleted`` true removes it. A version's ``options`` (JSON) holds:

- ``catch_up`` (bool; absent: ``[scheduler] catch_up``), ``timeout_s`` (seconds; absent:
  ``[scheduler] run_timeout_s``);
- ``preset`` (``pulsed.scheduling.presets``), ``created_by`` (user | agent) and, for agent-made
  tasks, ``session`` (where the agent was asked);
- ``schedule_set_at``: when the schedule was last set (``every`` and ``in`` count from it);
- ``retired_at`` and ``retired_reason`` (fired | missed): a one-shot task that is done;
- for a stream trigger (schedule ``on <stream>``): ``on``, ``where``, ``batch_s``,
  ``max_runs_per_hour``, ``overflow``, ``from_seq`` (``pulsed.scheduling.where``); a
  SQL trigger (schedule ``sql <query>``, Timeplus backend) has ``sql`` instead of
  ``on`` and ``where``.

Runs are not a stream of their own; each is derived from rows that already say it all:
a ``scheduled_task`` row (a trigger's run: a ``trigger`` row) in messages (session
``task:<name>``, source scheduler; content ``text``, ``task``, ``trigger``, ``slot``...),
answered by the ``agent_response`` or ``error`` row whose ``reply_to`` is its id (its
``target`` says where the answer went), costs in llm_logs by ``turn_id``, and skipped
runs as ``task_skipped`` events.

Rows are built by ``pulsed.store.rows`` (``task_version``, ``scheduled_run``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pulsed.agent.intake import TurnInput
from pulsed.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from pulsed.scheduling import presets
from pulsed.scheduling.spec import parse as parse_spec
from pulsed.scheduling.task_views import RunStatus, TaskRun, TaskView
from pulsed.scheduling.where import TriggerDef
from pulsed.store import rows
from pulsed.store.base import Row, Store, make_filters, parse_iso, to_iso
from pulsed.store.schema import DELIVERY_TARGET, EVENTS, LLM_LOGS, MESSAGES, TASKS
from pulsed.timeutil import Clock, SystemClock, zone

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_PROMPT_CHARS = 20_000
MAX_TIMEOUT_S = 86_400.0
SKIPPED = "task_skipped"
"""event_type of a run that did not start because the previous one was still going."""
RUN_TYPES = ("scheduled_task", "trigger")
"""messages types of a task's run rows."""
_TRIGGER_KEYS = (
    "on", "where", "batch_s", "max_runs_per_hour", "overflow", "from_seq", "sql", "sql_epoch"
)  # fmt: skip
NEEDS_TIMEPLUS = (
    'a SQL trigger (--sql) needs [store] backend = "timeplus" (Timeplus runs the streaming '
    "query); this daemon uses the local store: use --on STREAM --where ... instead"
)


def session_of(name: str) -> str:
    """The session a task's runs belong to."""
    return f"task:{name}"


def options_of(row: Row) -> dict[str, Any]:
    """A version's options (a copy; {} when absent)."""
    opts = row.get("options")
    return dict(opts) if isinstance(opts, dict) else {}


def schedule_set_at(row: Row) -> datetime:
    """When the version's schedule was set (``every`` and ``in`` count from it)."""
    text = options_of(row).get("schedule_set_at")
    return parse_iso(text) if isinstance(text, str) and text else parse_iso(str(row["timestamp"]))


def trigger_of(row: Row) -> TriggerDef | None:
    """The stream trigger a version defines (None: a scheduled task)."""
    if not str(row["schedule"]).startswith(("on ", "sql ")):
        return None
    return TriggerDef.of(options_of(row))


def is_retired(row: Row) -> bool:
    """Whether the version is a one-shot task that is done."""
    return bool(options_of(row).get("retired_at"))


def validate(name: str, spec: str, prompt: str, tz: str, deliver_to: str) -> None:
    """Check a definition.

    Raises:
        InvalidArgument: bad name, schedule, prompt, zone or delivery target.
    """
    if not NAME.match(name):
        raise InvalidArgument(
            f"invalid task name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-'"
        )
    parse_spec(spec)
    if not prompt.strip():
        raise InvalidArgument("the task's prompt is empty")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgument(
            f"the prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}"
        )
    zone(tz)
    if not DELIVERY_TARGET.match(deliver_to):
        raise InvalidArgument(
            f"invalid delivery target {deliver_to!r}: "
            "use none, tui or <channel>:<id> (e.g. telegram:12345)"
        )


def check_future(spec: str, tz: str, now: datetime) -> None:
    """Refuse an ``at`` schedule whose time has passed.

    Raises:
        InvalidArgument: the time is not in the future.
    """
    sched = parse_spec(spec)
    if sched.kind == "at":
        tzinfo = zone(tz)
        when = sched.when(tzinfo)
        if when <= now:
            raise InvalidArgument(
                f"{spec!r} is in the past (it is now "
                f"{now.astimezone(tzinfo).isoformat(timespec='minutes')}); give a future time, "
                'e.g. "in 2h" or "at 2026-12-01T09:00"'
            )


MAX_RUN_BUDGET_USD = 1000.0
"""Largest per-run budget accepted (a typo guard, not a cap of its own)."""


def run_budget(row: Row) -> dict[str, float]:
    """``{"budget_usd": X}`` for a run's content when the task sets a per-run budget
    (the agent holds each call of the run against it), else ``{}``."""
    value = options_of(row).get("budget_usd")
    return {"budget_usd": float(value)} if isinstance(value, int | float) and value > 0 else {}


def check_options(catch_up: Any, timeout_s: Any, budget_usd: Any = None) -> None:
    """Check the options ``catch_up`` (bool or None), ``timeout_s`` (seconds or None)
    and ``budget_usd`` (USD per run or None).

    Raises:
        InvalidArgument: a non-boolean catch_up, a timeout out of 0..86400 s, a budget
            out of 0..1000 USD.
    """
    if budget_usd is not None and not 0 <= float(budget_usd) <= MAX_RUN_BUDGET_USD:
        raise InvalidArgument(
            f"the budget must be between 0 (none) and {MAX_RUN_BUDGET_USD:.0f} USD per run"
        )
    if catch_up is not None and not isinstance(catch_up, bool):
        raise InvalidArgument("catch_up must be true or false")
    if timeout_s is not None and not 0 <= float(timeout_s) <= MAX_TIMEOUT_S:
        raise InvalidArgument(
            f"the timeout must be between 0 (the default) and {MAX_TIMEOUT_S:.0f} seconds"
        )


def next_run(row: Row, now: datetime, not_before: datetime | None = None) -> datetime | None:
    """When the current version ``row`` runs next after ``now`` (aware, in the task's
    zone), ignoring catch-up: None when disabled, retired or never again. A one-shot
    task's time is returned even when it has passed (it is due). ``not_before`` (a
    back-off) pushes a recurring task to its first slot at or after it."""
    if not row["enabled"] or row["deleted"] or is_retired(row):
        return None
    sched = parse_spec(str(row["schedule"]))
    tz = zone(str(row["timezone"]))
    anchor = schedule_set_at(row)
    if sched.one_shot:
        return sched.once_at(tz, anchor)
    after = max(now, not_before - timedelta(microseconds=1)) if not_before else now
    return sched.next_after(after, tz, defined_at=anchor)


class TaskBook:
    """Reads and writes task versions and the rows of their runs.

    ``listeners`` are called with a task's name after each version written, so the
    scheduler learns of every change whoever makes it (the API, the agent's tools).
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.listeners: list[Callable[[str], None]] = []

    async def current(self) -> dict[str, Row]:
        """Name → current version, removed tasks left out."""
        found = await self.store.latest_by("tasks", "name")
        return {str(r["name"]): r for r in found if not r["deleted"]}

    async def get(self, name: str) -> Row:
        """The current version of ``name``.

        Raises:
            NotFound: no such task (or it was removed).
        """
        found = await self.store.query(
            "tasks", make_filters(TASKS, [("name", "eq", name)]), order="desc", limit=1
        )
        if not found or found[0]["deleted"]:
            raise NotFound(f"no task named {name!r} (see: pulsectl tasks list)")
        return found[0]

    async def add(
        self,
        name: str,
        spec: str,
        prompt: str,
        tz: str = "",
        deliver_to: str = "",
        enabled: bool = True,
        *,
        catch_up: bool | None = None,
        timeout_s: float = 0.0,
        budget_usd: float = 0.0,
        preset: str = "",
        created_by: str = "user",
        session: str = "",
        trigger: TriggerDef | None = None,
    ) -> Row:
        """Define a new task. With ``preset``, what is left empty (name, spec, prompt,
        deliver_to) comes from that preset. With ``trigger`` (or a spec ``on <stream>``)
        it is a stream trigger, which fires on rows after the stream's current end.

        Raises:
            InvalidArgument: see ``validate``, ``check_future``, ``check_options``; an
                unknown preset. AlreadyExists: the name is taken.
        """
        if preset:
            p = presets.get(preset)
            name, spec, prompt = name or p.name, spec or p.schedule, prompt or p.prompt
            deliver_to = deliver_to or p.deliver_to
        deliver_to = deliver_to or "none"
        if trigger is not None:
            spec = trigger.schedule
        validate(name, spec, prompt, tz, deliver_to)
        sched = parse_spec(spec)
        if sched.triggered:
            trigger = trigger or TriggerDef(on=sched.stream, sql=spec.partition(" ")[2])
            trigger.check()
            self._check_backend(trigger)
        check_options(catch_up, timeout_s, budget_usd)
        now = self.clock.now()
        check_future(spec, tz, now)
        found = await self.store.query(
            "tasks", make_filters(TASKS, [("name", "eq", name)]), order="desc", limit=1
        )
        prev = found[0] if found else None
        if prev is not None and not prev["deleted"]:
            raise AlreadyExists(
                f"a task named {name!r} exists already (edit it with: pulsectl tasks edit {name})"
            )
        options: dict[str, Any] = {"created_by": created_by, "schedule_set_at": to_iso(now)}
        if catch_up is not None:
            options["catch_up"] = catch_up
        if timeout_s:
            options["timeout_s"] = float(timeout_s)
        if budget_usd:
            options["budget_usd"] = float(budget_usd)
        if preset:
            options["preset"] = preset
        if session:
            options["session"] = session
        if trigger is not None:
            start = await self.store.last_seq(trigger.on) if trigger.on else 0
            options.update(TriggerDef(**{**trigger.options(), "from_seq": start}).options())
        return await self._write(
            rows.task_version(
                name=name,
                version=int(prev["version"]) + 1 if prev is not None else 1,
                schedule=" ".join(spec.split()),
                prompt=prompt,
                timezone=tz,
                enabled=enabled,
                deliver_to=deliver_to,
                options=options,
                timestamp=to_iso(self.clock.now()),
            )
        )

    async def update(self, name: str, **changes: Any) -> Row:
        """Write a new version of ``name`` with ``changes`` applied: schedule, prompt,
        timezone, deliver_to, enabled, catch_up, timeout_s (0: the default); None leaves
        a field as it is. A new schedule starts counting afresh and brings a retired
        one-shot task back (enabled, unless ``enabled`` says otherwise).

        Raises:
            NotFound, InvalidArgument; FailedPrecondition: enabling a retired one-shot
                task without giving it a new schedule.
        """
        cur = await self.get(name)
        values = {k: cur[k] for k in ("schedule", "prompt", "timezone", "deliver_to", "enabled")}
        options = options_of(cur)
        changes = {k: v for k, v in changes.items() if v is not None}
        catch_up, timeout_s = changes.pop("catch_up", None), changes.pop("timeout_s", None)
        budget_usd = changes.pop("budget_usd", None)
        check_options(catch_up, timeout_s, budget_usd)
        trigger: TriggerDef | None = changes.pop("trigger", None)
        if trigger is not None:
            changes["schedule"] = trigger.schedule
        unknown = set(changes) - {"schedule", "prompt", "timezone", "deliver_to", "enabled"}
        if unknown:
            raise InvalidArgument(f"cannot change {', '.join(sorted(unknown))} of a task")
        values.update(changes)
        validate(
            name, values["schedule"], values["prompt"], values["timezone"], values["deliver_to"]
        )
        values["schedule"] = " ".join(str(values["schedule"]).split())
        now = self.clock.now()
        rescheduled = (
            values["schedule"] != cur["schedule"]
            or values["timezone"] != cur["timezone"]
            or ("schedule" in changes and is_retired(cur))  # the same "in 1h" again
        )
        if rescheduled:
            check_future(values["schedule"], values["timezone"], now)
            options["schedule_set_at"] = to_iso(now)
            if options.pop("retired_at", None):
                options.pop("retired_reason", None)
                values["enabled"] = changes.get("enabled", True)
        elif is_retired(cur) and changes.get("enabled") is True:
            raise FailedPrecondition(
                f"task {name!r} ran once already (a one-shot task, retired "
                f"{options['retired_at']}); give it a new time, e.g. "
                f'pulsectl tasks edit {name} --schedule "in 1h"'
            )
        await self._retrigger(cur, values["schedule"], trigger, options)
        if options.get("on") and values["enabled"] and not cur["enabled"]:
            # A trigger switched back on fires on rows from now on, not on those that
            # arrived while it was off.
            options["from_seq"] = await self.store.last_seq(str(options["on"]))
        if options.get("sql") and values["enabled"] and not cur["enabled"]:
            options["sql_epoch"] = int(cur["version"]) + 1  # its old position is not used
        if catch_up is not None:
            options["catch_up"] = catch_up
        if timeout_s is not None:
            if float(timeout_s) > 0:
                options["timeout_s"] = float(timeout_s)
            else:
                options.pop("timeout_s", None)
        if budget_usd is not None:
            if float(budget_usd) > 0:
                options["budget_usd"] = float(budget_usd)
            else:
                options.pop("budget_usd", None)
        return await self._write(
            rows.task_version(
                name=name,
                version=int(cur["version"]) + 1,
                schedule=values["schedule"],
                prompt=values["prompt"],
                timezone=values["timezone"],
                enabled=values["enabled"],
                deliver_to=values["deliver_to"],
                options=options,
                timestamp=to_iso(self.clock.now()),
            )
        )

    async def _retrigger(
        self, cur: Row, schedule: str, trigger: TriggerDef | None, options: dict[str, Any]
    ) -> None:
        """Bring a version's trigger options in line with its new ``schedule``: none for
        a time schedule; ``trigger`` (else the current one when the schedule names the
        same source, else a new one) for ``on <stream>`` or ``sql <query>``, counting
        from the current end of a stream it did not consume before."""
        sched = parse_spec(schedule)
        old = trigger_of(cur)
        if not sched.triggered:
            for key in _TRIGGER_KEYS:
                options.pop(key, None)
            return
        same = old if old is not None and old.schedule == schedule else None
        new = trigger or same or TriggerDef(on=sched.stream, sql=schedule.partition(" ")[2])
        new.check()
        self._check_backend(new)
        options.pop("sql", None)
        if old is not None and new.sql and old.sql == new.sql:
            new = TriggerDef(**{**new.options(), "sql_epoch": old.sql_epoch})
        start = old.from_seq if old is not None and old.on == new.on else None
        if start is None:
            start = await self.store.last_seq(new.on) if new.on else 0
        options.update(TriggerDef(**{**new.options(), "from_seq": start}).options())

    def _check_backend(self, trigger: TriggerDef) -> None:
        """Refuse a SQL trigger on a backend that cannot run it.

        Raises:
            FailedPrecondition: ``trigger`` is a SQL trigger and the store is not Timeplus.
        """
        if trigger.sql and self.store.backend != "timeplus":
            raise FailedPrecondition(NEEDS_TIMEPLUS)

    async def retire(self, name: str, reason: str) -> Row:
        """Write a version that marks the one-shot task ``name`` done (``reason``: fired
        or missed): disabled, with ``retired_at``.

        Raises:
            NotFound.
        """
        cur = await self.get(name)
        options = options_of(cur)
        options.update(retired_at=to_iso(self.clock.now()), retired_reason=reason)
        return await self._write(self._next_version(cur, enabled=False, options=options))

    async def remove(self, name: str) -> Row:
        """Write a version that removes ``name``.

        Raises:
            NotFound.
        """
        cur = await self.get(name)
        return await self._write(self._next_version(cur, enabled=False, deleted=True))

    def _next_version(
        self,
        cur: Row,
        *,
        enabled: bool,
        deleted: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> rows.Values:
        """The version after ``cur`` with the same definition, ``enabled`` and ``deleted``
        as given and ``options`` (default: cur's)."""
        return rows.task_version(
            name=str(cur["name"]),
            version=int(cur["version"]) + 1,
            schedule=str(cur["schedule"]),
            prompt=str(cur["prompt"]),
            timezone=str(cur["timezone"]),
            enabled=enabled,
            deliver_to=str(cur["deliver_to"]),
            deleted=deleted,
            options=options_of(cur) if options is None else options,
            timestamp=to_iso(self.clock.now()),
        )

    async def _write(self, values: rows.Values) -> Row:
        row = (await self.store.append("tasks", [values], durable=True))[0]
        for listener in list(self.listeners):
            listener(str(values["name"]))
        return row

    # -- runs ------------------------------------------------------------------------

    def run_input(
        self, row: Row, trigger: str, slot: datetime, msg_id: str | None = None
    ) -> TurnInput:
        """The input that starts a run of version ``row`` (a ``scheduled_task`` row);
        ``slot`` is the scheduled time it runs for."""
        preset = str(options_of(row).get("preset") or "")
        known = presets.PRESETS.get(preset)
        run = rows.scheduled_run(
            task=str(row["name"]),
            trigger=trigger,
            slot=to_iso(slot),
            version=int(row["version"]),
            preset=preset,
            light=known.light if known is not None else False,
        )
        run = {**run, **run_budget(row)}
        return TurnInput(
            source="scheduler",
            session_id=session_of(str(row["name"])),
            text=str(row["prompt"]),
            message_type="scheduled_task",
            user_id="scheduler",
            channel_metadata={"deliver_to": row["deliver_to"]},
            run=run,
            id=msg_id,
        )

    async def last_scheduled_slot(self, name: str) -> datetime | None:
        """The slot of the newest run of ``name`` that its schedule started (manual runs
        do not count), or None."""
        found = await self.store.query(
            "messages",
            make_filters(
                MESSAGES,
                [("session_id", "eq", session_of(name)), ("message_type", "eq", "scheduled_task")],
            ),
            order="desc",
            limit=50,
        )
        for r in found:
            content = r["content"] if isinstance(r["content"], dict) else {}
            if content.get("trigger") == "manual":
                continue
            slot = content.get("slot")
            return parse_iso(slot) if isinstance(slot, str) and slot else parse_iso(r["timestamp"])
        return None

    async def history(
        self, name: str, limit: int = 20, include_skipped: bool = True
    ) -> list[TaskRun]:
        """The newest ``limit`` (at least 1) runs of ``name``, newest first; skipped runs
        (``task_skipped`` events) among them unless ``include_skipped`` is false."""
        sess = session_of(name)
        limit = max(1, limit)
        starts = []
        for kind in RUN_TYPES:
            starts += await self.store.query(
                "messages",
                make_filters(MESSAGES, [("session_id", "eq", sess), ("message_type", "eq", kind)]),
                order="desc",
                limit=limit,
            )
        starts = sorted(starts, key=lambda r: r.seq, reverse=True)[:limit]
        if not starts:
            return []
        since = str(starts[-1]["timestamp"])
        answers: dict[str, Row] = {}
        for kind in ("agent_response", "error"):
            for r in await self.store.query(
                "messages",
                make_filters(MESSAGES, [("session_id", "eq", sess), ("message_type", "eq", kind)]),
                since=since,
                order="asc",
                limit=10_000,
            ):
                if r["reply_to"]:
                    answers.setdefault(str(r["reply_to"]), r)
        costs: dict[str, float] = {}
        for r in await self.store.query(
            "llm_logs",
            make_filters(LLM_LOGS, [("session_id", "eq", sess)]),
            since=since,
            order="asc",
            limit=10_000,
        ):
            key = str(r["turn_id"])
            costs[key] = costs.get(key, 0.0) + float(r["estimated_cost_usd"])
        runs = [self._run(r, answers.get(str(r["id"])), costs) for r in starts]
        if include_skipped:
            runs.extend(await self._skipped(name, since))
            runs.sort(key=lambda r: parse_iso(r.fired_at), reverse=True)
        return runs[:limit]

    @staticmethod
    def _run(start: Row, answer: Row | None, costs: dict[str, float]) -> TaskRun:
        """The run that input row ``start`` began, ended by ``answer`` (None: running)."""
        content = start["content"] if isinstance(start["content"], dict) else {}
        msg_id, fired_at = str(start["id"]), str(start["timestamp"])
        trigger, cost = str(content.get("trigger", "")), costs.get(msg_id, 0.0)
        if answer is None:
            return TaskRun(msg_id, fired_at, "running", trigger, cost_usd=cost)
        body = answer["content"] if isinstance(answer["content"], dict) else {}
        status: RunStatus = "ok"
        code = ""
        if answer["message_type"] == "error":
            code = str(body.get("code", ""))
            status = "timeout" if code == "timeout" else "error"
        took = parse_iso(str(answer["timestamp"])) - parse_iso(fired_at)
        return TaskRun(
            msg_id,
            fired_at,
            status,
            trigger,
            duration_ms=max(0.0, took.total_seconds() * 1000),
            answer=str(body.get("text", "")),
            cost_usd=cost,
            delivered_to=str(answer["target"]),
            error_code=code,
        )

    async def _skipped(self, name: str, since: str) -> list[TaskRun]:
        """The skipped runs of ``name`` recorded since ``since`` (schema datetime text)."""
        out = []
        for r in await self.store.query(
            "events",
            make_filters(EVENTS, [("event_type", "eq", SKIPPED)]),
            since=since,
            order="desc",
            limit=10_000,
        ):
            payload = r["payload"] if isinstance(r["payload"], dict) else {}
            if payload.get("task") != name:
                continue
            out.append(
                TaskRun(
                    "",
                    str(r["timestamp"]),
                    "skipped",
                    str(payload.get("trigger", "")),
                    answer=str(payload.get("reason", "")),
                )
            )
        return out

    # -- views -----------------------------------------------------------------------

    async def view(self, row: Row, now: datetime | None = None) -> TaskView:
        """``row`` (a current version) as a TaskView, its next run computed from the
        definition alone (the scheduler refines it with catch-up and back-off)."""
        now = now or self.clock.now()
        name = str(row["name"])
        first = await self.store.query(
            "tasks", make_filters(TASKS, [("name", "eq", name)]), order="asc", limit=1
        )
        opts = options_of(row)
        timeout = opts.get("timeout_s")
        budget = opts.get("budget_usd")
        catch_up = opts.get("catch_up")
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
            catch_up=catch_up if isinstance(catch_up, bool) else None,
            timeout_s=float(timeout) if isinstance(timeout, int | float) else 0.0,
            budget_usd=float(budget) if isinstance(budget, int | float) else 0.0,
            preset=str(opts.get("preset") or ""),
            created_by=str(opts.get("created_by") or "user"),
            retired_at=str(opts.get("retired_at") or ""),
            trigger=trigger_of(row),
        )
        runs = await self.history(name, limit=1, include_skipped=False)
        if runs:
            v.last_run, v.last_status = runs[0].fired_at, runs[0].status
            if runs[0].trigger == "stream":
                v.last_fired = runs[0].fired_at
        nxt = next_run(row, now)
        v.next_run = nxt.isoformat(timespec="seconds") if nxt else ""
        return v

    async def list_tasks(self, now: datetime | None = None) -> list[TaskView]:
        """Every current task with its next run and last run, sorted by name."""
        now = now or self.clock.now()
        return [await self.view(row, now) for _, row in sorted((await self.current()).items())]
