"""How pulsectl shows tasks: the task list, one task in full, its runs, and schedule
previews (pure functions returning text; ``pulsectl.output`` writes it).

Times of a task are in the task's own zone (``task_time``), with seconds when the
schedule has sub-minute precision (``every 20s``) or the time has seconds; task names
are never cut: other columns give way (``pulsectl.output.table``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pulsectl.output import key_values, local_time, milliseconds, money, one_line, parse_time, table

if TYPE_CHECKING:
    from pulse.v1 import tasks_pb2

_SECONDS = re.compile(r"(\d+)\s*s\b", re.IGNORECASE)


def sub_minute(schedule: str) -> bool:
    """Whether a schedule's times fall on seconds other than :00 by its own definition:
    an ``every`` or ``in`` duration with seconds that are not whole minutes (``every
    20s``, ``in 1m30s``). Cron has minute precision; ``at`` shows its own seconds."""
    head, _, rest = " ".join(schedule.split()).partition(" ")
    if head.lower() not in ("every", "in"):
        return False
    return sum(int(n) for n in _SECONDS.findall(rest)) % 60 != 0


def task_time(iso: str, tz_name: str, seconds: bool = False) -> str:
    """A task's time in the task's own zone, ``YYYY-MM-DD HH:MM ZONE`` (e.g. ``CET``;
    with seconds when ``seconds`` or when they are not zero). A task without a zone runs
    in the daemon's, whose offset the ISO text carries: shown as that wall time, without
    a zone. "-" when empty."""
    if not iso:
        return "-"
    moment = parse_time(iso)
    if moment is None:
        return iso
    clock = "%H:%M:%S" if seconds or moment.second else "%H:%M"
    if tz_name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zoned = moment.astimezone(ZoneInfo(tz_name))
        except (ZoneInfoNotFoundError, ValueError):
            return moment.strftime(f"%Y-%m-%d {clock} %z")
        return zoned.strftime(f"%Y-%m-%d {clock} %Z")
    return moment.strftime(f"%Y-%m-%d {clock}")


def next_run(t: tasks_pb2.Task) -> str:
    """A task's next run as ``task_time`` shows it (seconds per ``sub_minute``)."""
    return task_time(t.next_run, t.timezone, sub_minute(t.schedule))


def task_state(t: tasks_pb2.Task) -> str:
    """yes | no | done (a one-shot task that ran) | running."""
    if t.retired_at:
        return "done"
    if t.running:
        return "running"
    return "yes" if t.enabled else "no"


def render_tasks(tasks: Sequence[tasks_pb2.Task], width: int) -> str:
    """Tasks with their schedule, state, next run (in the task's zone) and last run (the
    zone column only when a task has its own zone).

    Names and times are never cut: the schedule shrinks first, then the zone, last run
    and status columns are left out, in that order, until the table fits ``width``.
    """
    headers = ["name", "schedule", "tz", "on", "next run", "last run", "status"]
    rows = [
        [
            t.name,
            t.schedule,
            t.timezone or "local",
            task_state(t),
            next_run(t) if t.enabled else "-",
            local_time(t.last_run),
            t.last_status or "-",
        ]
        for t in tasks
    ]
    if not any(t.timezone for t in tasks):
        del headers[2]
        for row in rows:
            del row[2]
    col = {h: i for i, h in enumerate(headers)}
    return table(
        headers,
        rows,
        width=width,
        min_widths={col["schedule"]: 9, col["status"]: 5},
        keep={col["name"], col["next run"], col["last run"]},
        drop=[col[h] for h in ("tz", "last run", "status") if h in col],
    )


def render_task(t: tasks_pb2.Task) -> str:
    """One task in full."""
    pairs = [
        ("name", t.name),
        ("schedule", t.schedule),
        ("timezone", t.timezone or "local"),
        ("enabled", task_state(t)),
        ("deliver to", t.deliver_to or "none"),
        ("next run", next_run(t)),
        ("last run", local_time(t.last_run) + (f" ({t.last_status})" if t.last_status else "")),
        (
            "catch up",
            ("yes" if t.catch_up else "no") if t.HasField("catch_up") else "default",
        ),
        ("timeout", f"{t.timeout_s:g}s" if t.timeout_s else "default"),
        ("budget", f"${t.budget_usd:g} per run" if t.budget_usd else "none per run"),
    ]
    if t.preset:
        pairs.append(("preset", t.preset))
    if t.created_by and t.created_by != "user":
        pairs.append(("created by", t.created_by))
    if t.retired_at:
        pairs.append(("retired", local_time(t.retired_at)))
    if t.HasField("trigger"):
        pairs += trigger_pairs(t)
    if t.failures:
        until = f", backed off until {local_time(t.backoff_until)}" if t.backoff_until else ""
        pairs.append(("failures", f"{t.failures} in a row{until}"))
    pairs += [("version", str(t.version)), ("prompt", one_line(t.prompt))]
    return key_values(pairs)


def trigger_pairs(t: tasks_pb2.Task) -> list[tuple[str, str]]:
    """A stream trigger's fields for ``render_task``."""
    trig = t.trigger
    sym = {"eq": "=", "ne": "!=", "contains": "~", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    where = " ".join(f"{f.column}{sym.get(f.op or 'eq', '=')}{f.value}" for f in trig.where)
    limit = f"{trig.max_runs_per_hour}/h ({trig.overflow or 'queue'})"
    source = [("sql", trig.sql)] if trig.sql else [("on", trig.on), ("where", where or "every row")]
    return [
        *source,
        ("batch", f"{trig.batch_s:g}s" if trig.batch_s else "none"),
        ("rate limit", limit if trig.max_runs_per_hour else "none"),
        ("last fired", local_time(t.last_fired) if t.last_fired else "never"),
        ("rows waiting", str(t.rows_waiting)),
    ]


def render_preview(schedule: str, timezone: str, next_runs: Sequence[str]) -> str:
    """A schedule's next runs, one per line, in ``timezone`` (seconds per
    ``sub_minute``)."""
    seconds = sub_minute(schedule)
    return "\n".join(task_time(iso, timezone, seconds) for iso in next_runs)


def render_task_runs(runs: Sequence[tasks_pb2.TaskRun], width: int) -> str:
    """A task's runs: when, outcome, what started it, duration, cost, where the answer
    went and the start of the answer."""
    return table(
        ["fired at", "status", "trigger", "took", "cost", "to", "answer"],
        [
            [
                local_time(r.fired_at),
                r.status,
                r.trigger or "-",
                milliseconds(r.duration_ms) if r.duration_ms else "-",
                money(r.cost_usd),
                r.delivered_to or "-",
                r.answer,
            ]
            for r in runs
        ],
        width=width,
        right={3, 4},
        min_widths={0: 19, 6: 10},
    )
