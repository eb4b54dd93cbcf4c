"""The scheduler: runs every enabled task at its time, in the daemon itself, so every store
backend behaves the same.

It keeps each enabled task's next run, sleeps until the earliest (``TaskBook`` listeners
wake it when a task changes), and fires a run by appending the task's scheduled_task row
(``TaskBook.run_input``) and starting it as a turn (``TurnManager.start``); the answer row's
``target`` is the task's ``deliver_to``. Around that:

- **no overlap**: a run whose previous run (or any turn of session ``task:<name>``) is
  still going is skipped and recorded as a ``task_skipped`` event;
- **timeout**: a run longer than the task's ``timeout_s`` (else ``[scheduler]
  run_timeout_s``) is cancelled and ends as an error row with code ``timeout``;
- **back-off**: after ``[scheduler] max_failures_before_backoff`` consecutive failures a
  task waits ``backoff_initial_s`` (doubling per further failure, at most
  ``backoff_max_s``) before its next slot, and a ``task_failing`` event (warning) says
  so; the first success writes ``task_recovered``;
- **catch-up**: at start, a task whose time passed while the daemon was down runs once
  (not once per missed slot) when its ``catch_up`` option (default ``[scheduler]
  catch_up``) allows; otherwise a ``task_missed`` event records it;
- **one-shot** tasks (``at``, ``in``) are retired after they fire (``TaskBook.retire``);
- the ``cost-alert`` preset runs without the LLM (``pulsed.scheduling.presets``).

Time comes from an injectable ``Clock`` (``pulsed.timeutil``), so tests drive it. Rows
are built by ``pulsed.store.rows``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pulsed.agent.events import Failed, Final
from pulsed.agent.intake import TurnHandle, TurnInput
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.errors import FailedPrecondition
from pulsed.scheduling import presets
from pulsed.scheduling.book import (
    SKIPPED,
    TaskBook,
    is_retired,
    next_run,
    options_of,
    schedule_set_at,
    session_of,
    trigger_of,
)
from pulsed.scheduling.spec import parse as parse_spec
from pulsed.scheduling.task_views import TaskView
from pulsed.store import rows
from pulsed.store.base import Row, Store, make_filters, new_id, parse_iso, to_iso
from pulsed.store.schema import EVENTS
from pulsed.timeutil import Clock, local_midnight, zone

log = logging.getLogger("pulsed.scheduler")

SETTLE_S = 5.0
"""How long a timed-out run may take to write its error row after it is cancelled."""
ONE_SHOT_RETRY = timedelta(seconds=30)
"""A one-shot task due while a run of it is going on fires this much later instead."""


@dataclass
class Plan:
    """An enabled task as the scheduler sees it: its version and when it runs next
    (``trigger`` says why: schedule or catch_up)."""

    row: Row
    next: datetime | None
    trigger: str = "schedule"

    @property
    def name(self) -> str:
        """The task's name."""
        return str(self.row["name"])


@dataclass
class Health:
    """A task's run record in memory: consecutive failures and the back-off they cause."""

    failures: int = 0
    backoff_until: datetime | None = None
    last_error: str = ""


@dataclass
class Run:
    """A run going on: its input row's id, when it started (monotonic), its watcher."""

    message_id: str
    started: float
    watcher: asyncio.Task[None] | None = None


@dataclass
class _State:
    plans: dict[str, Plan] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)


class Scheduler:
    """Runs tasks on their schedules. ``await start()`` after recovery, ``await stop()``
    before the turns shut down; ``notify(name)`` (a TaskBook listener) reloads a task."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        book: TaskBook,
        turns: TurnManager,
        clock: Clock | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.book = book
        self.turns = turns
        self.clock: Clock = clock or book.clock
        self._s = _State()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._started = False
        self.run_listeners: list[Callable[[str], None]] = []
        """Called with a task's name when one of its runs ends (stream triggers wait
        for it: runs never overlap)."""
        book.listeners.append(self.notify)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Load the tasks, fire what was missed while the daemon was down (catch-up),
        and start the loop (unless ``[scheduler] enabled`` is false)."""
        if self._started:
            return
        self._started = True
        if not self.cfg.scheduler.enabled:
            log.info("scheduler disabled ([scheduler] enabled = false); tasks run only on demand")
            return
        now = self.clock.now()
        for name, row in sorted((await self.book.current()).items()):
            try:
                await self._load(name, row, now, startup=True)
            except Exception:
                log.exception("task %s: cannot be scheduled", name)
        self._loop_task = asyncio.create_task(self._loop(), name="scheduler")
        log.info("scheduler: %d task(s) scheduled", len(self._s.plans))

    async def stop(self) -> None:
        """Stop firing runs. Runs going on are left to the turn manager's shutdown."""
        tasks = [t for t in [self._loop_task] if t is not None]
        tasks += [r.watcher for r in self._s.runs.values() if r.watcher is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        self._loop_task = None

    def notify(self, name: str) -> None:
        """A task's definition changed: reload it at the loop's next turn."""
        self._s.dirty.add(name)
        self._wake.set()

    # -- queries ---------------------------------------------------------------------

    def running(self, name: str) -> bool:
        """Whether a run of ``name`` (or another turn of its session) is going on."""
        return name in self._s.runs or self.turns.session_busy(session_of(name))

    def backoff_until(self, name: str) -> datetime | None:
        """Until when ``name`` is backed off after repeated failures (None: it is not)."""
        health = self._s.health.get(name)
        if health is None or health.backoff_until is None:
            return None
        return health.backoff_until if health.backoff_until > self.clock.now() else None

    def annotate(self, view: TaskView) -> TaskView:
        """Add what only the scheduler knows to ``view``: the planned next run (with
        catch-up and back-off), failures, back-off, whether a run is going on. A plan
        made from another version than ``view``'s (a change not yet reloaded, or being
        reloaded) is not used: ``view`` keeps the next run computed from its own version."""
        plan = self._s.plans.get(view.name)
        current = plan is not None and int(plan.row["version"]) == view.version
        if plan is not None and current and view.enabled and view.name not in self._s.dirty:
            if plan.next is None:
                view.next_run = ""
            else:
                tz = zone(view.timezone)
                view.next_run = plan.next.astimezone(tz).isoformat(timespec="seconds")
        health = self._s.health.get(view.name)
        if health is not None:
            view.failures = health.failures
            if health.backoff_until is not None:
                view.backoff_until = to_iso(health.backoff_until)
        view.running = self.running(view.name)
        return view

    # -- the loop --------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._reload_dirty()
                now = self.clock.now()
                due = sorted(
                    (p for p in self._s.plans.values() if p.next is not None and p.next <= now),
                    key=lambda p: (p.next, p.name),
                )
                for plan in due:
                    await self._due(plan, now)
            except asyncio.CancelledError:
                raise
            except Exception:  # the store failed: log, and try again shortly
                log.exception("scheduler iteration failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            upcoming = [p.next for p in self._s.plans.values() if p.next is not None]
            await self.clock.sleep_until(min(upcoming) if upcoming else None, self._wake)

    async def _reload_dirty(self) -> None:
        while self._s.dirty:
            name = self._s.dirty.pop()
            try:
                row = await self.book.get(name)
            except Exception:  # removed (NotFound) or unreadable: stop planning it
                self._s.plans.pop(name, None)
                continue
            await self._load(name, row, self.clock.now(), startup=False)

    async def _load(self, name: str, row: Row, now: datetime, startup: bool) -> None:
        """(Re)plan ``name`` from its current version ``row``."""
        old = self._s.plans.get(name)
        if trigger_of(row) is not None:  # rows start its runs (triggers.py), not times
            self._s.plans.pop(name, None)
            if startup and name not in self._s.health:
                self._s.health[name] = await self._past_health(name)
            return
        if not row["enabled"] or is_retired(row):
            self._s.plans.pop(name, None)
            if not row["enabled"]:
                self._s.health.pop(name, None)
            return
        if old is not None and not startup and _same_schedule(old.row, row):
            old.row = row  # prompt, delivery, options: keep the planned time
            return
        sched = parse_spec(str(row["schedule"]))
        anchor = schedule_set_at(row)
        last = await self.book.last_scheduled_slot(name)
        catch_up = self._catch_up(row)
        if startup and name not in self._s.health:
            self._s.health[name] = await self._past_health(name)
        if sched.one_shot:
            if last is not None and last >= anchor:
                await self.book.retire(name, "fired")  # fired, then stopped before retiring
                return
            when = next_run(row, now)
            if when is not None and when <= now and startup and not catch_up:
                await self._missed(row, when, now)
                await self.book.retire(name, "missed")
                return
            trigger = "catch_up" if when is not None and when <= now and startup else "schedule"
            self._s.plans[name] = Plan(row, when, trigger)
            return
        tz = zone(str(row["timezone"]))
        ref = max(last or anchor, anchor, parse_iso(str(row["timestamp"])))
        first = sched.next_after(ref, tz, defined_at=anchor) if startup else None
        if first is not None and first <= now:
            if catch_up:
                self._s.plans[name] = Plan(row, now, "catch_up")
                return
            await self._missed(row, first, now)
        health = self._s.health.get(name)
        nb = health.backoff_until if health else None
        # After a change, plan from the moment of the change: a slot that passed while
        # the change was on its way here is still due.
        since = now if startup else min(now, parse_iso(str(row["timestamp"])))
        self._s.plans[name] = Plan(row, next_run(row, since, not_before=nb))

    def _catch_up(self, row: Row) -> bool:
        value = options_of(row).get("catch_up")
        return value if isinstance(value, bool) else self.cfg.scheduler.catch_up

    def _timeout(self, row: Row) -> float:
        value = options_of(row).get("timeout_s")
        if isinstance(value, int | float) and value > 0:
            return float(value)
        return self.cfg.scheduler.run_timeout_s

    async def _past_health(self, name: str) -> Health:
        """Consecutive failures of the newest runs, so a back-off survives a restart."""
        health = Health()
        limit = self.cfg.scheduler.max_failures_before_backoff + 1
        for run in await self.book.history(name, limit=limit, include_skipped=False):
            if run.status in ("error", "timeout"):
                health.failures += 1
                health.last_error = health.last_error or run.answer
            elif run.status == "ok":
                break
        return health

    async def _due(self, plan: Plan, now: datetime) -> None:
        """Fire ``plan`` (or skip it when its previous run is going on), then plan the
        next run."""
        name, slot, trigger = plan.name, plan.next, plan.trigger
        assert slot is not None
        sched = parse_spec(str(plan.row["schedule"]))
        if self.running(name):
            if sched.one_shot:  # never lose a reminder: try again when the run is over
                plan.next = now + ONE_SHOT_RETRY
                return
            await self._skip(plan, slot, trigger)
        else:
            try:
                await self._fire(plan.row, trigger, slot)
            except Exception:
                log.exception("task %s: run could not start", name)
                await self._failed(name, "the run could not start (see the pulsed log)")
        if sched.one_shot:
            plan.next = None
            if self._s.plans.get(name) is plan:
                del self._s.plans[name]
            with contextlib.suppress(Exception):
                await self.book.retire(name, "fired")
            return
        health = self._s.health.get(name)
        nb = health.backoff_until if health is not None else None
        plan.next = next_run(plan.row, max(now, slot), not_before=nb)
        plan.trigger = "schedule"

    async def _skip(self, plan: Plan, slot: datetime, trigger: str) -> None:
        run = self._s.runs.get(plan.name)
        reason = "the previous run is still going"
        if run is not None:
            reason += f" (for {time.monotonic() - run.started:.0f} s)"
        log.warning("task %s: run at %s skipped: %s", plan.name, to_iso(slot), reason)
        await self._event(
            SKIPPED,
            "warning",
            {
                "task": plan.name,
                "slot": to_iso(slot),
                "trigger": trigger,
                "reason": reason,
                "running_message_id": run.message_id if run else "",
            },
        )

    async def _missed(self, row: Row, when: datetime, now: datetime) -> None:
        await self._event(
            "task_missed",
            "info",
            {
                "task": row["name"],
                "first_missed": to_iso(when),
                "at": to_iso(now),
                "reason": "the daemon was down at the task's time and catch_up is off",
            },
        )

    # -- runs ------------------------------------------------------------------------

    async def run_now(self, name: str) -> Row:
        """Start a run of ``name`` outside its schedule (trigger manual).

        Raises:
            NotFound: no such task. FailedPrecondition: a run of it is going on.
        """
        row = await self.book.get(name)
        if self.running(name):
            raise FailedPrecondition(
                f"task {name!r} is running already; runs never overlap "
                f"(see: pulsectl tasks history {name})"
            )
        return await self._fire(row, "manual", self.clock.now())

    async def _fire(self, row: Row, trigger: str, slot: datetime) -> Row:
        name = str(row["name"])
        preset = str(options_of(row).get("preset") or "")
        if preset == presets.COST_ALERT:
            msg = await self._cost_alert(row, trigger, slot)
            await self._succeeded(name)
            return msg
        return await self.start_run(row, self.book.run_input(row, trigger, slot))

    async def start_run(self, row: Row, turn_input: TurnInput) -> Row:
        """Start a run of version ``row`` from ``turn_input`` (appended durably by the
        intake) under the scheduler's rules: watched for its timeout, counted for
        back-off, and known to ``running`` until it ends. Returns its input row.

        Raises:
            StoreError: the input could not be appended (nothing started).
        """
        name = str(row["name"])
        handle = await self.turns.start(turn_input)
        msg = handle.row
        run = Run(str(msg["id"]), time.monotonic())
        self._s.runs[name] = run
        run.watcher = asyncio.create_task(
            self._watch(name, run, handle, self._timeout(row)), name=f"task-run:{name}"
        )
        log.info("task %s: run %s started (%s)", name, msg["id"], turn_input.message_type)
        return msg

    async def _watch(self, name: str, run: Run, handle: TurnHandle, timeout_s: float) -> None:
        """Wait for the run's end; cancel it when it outlasts ``timeout_s``."""
        ev: Final | Failed | None = None
        try:
            async with handle.events() as events:
                try:
                    ev = await asyncio.wait_for(events.end(), timeout_s)
                except TimeoutError:
                    log.warning(
                        "task %s: run %s timed out after %g s", name, run.message_id, timeout_s
                    )
                    await self.turns.cancel(
                        handle.id,
                        code="timeout",
                        message=f"the run took longer than its {timeout_s:g} s timeout and was "
                        f"stopped (change it with: pulsectl tasks edit {name} --timeout SECONDS)",
                    )
                    with contextlib.suppress(TimeoutError, StopAsyncIteration):
                        ev = await asyncio.wait_for(events.end(), SETTLE_S)
        finally:
            if self._s.runs.get(name) is run:
                del self._s.runs[name]
        try:
            match ev:
                case Final():
                    await self._succeeded(name)
                case Failed(code="shutdown"):
                    return  # not a failure: the run resumes when the daemon starts again
                case Failed():
                    await self._failed(name, ev.message)
                case None:
                    await self._failed(name, "no answer")
        finally:
            for listener in list(self.run_listeners):
                listener(name)
        self._wake.set()

    async def _succeeded(self, name: str) -> None:
        health = self._s.health.get(name) or Health()
        self._s.health[name] = Health()
        if health.failures >= self.cfg.scheduler.max_failures_before_backoff:
            await self._event(
                "task_recovered", "info", {"task": name, "after_failures": health.failures}
            )

    async def _failed(self, name: str, message: str) -> None:
        cfg = self.cfg.scheduler
        health = self._s.health.setdefault(name, Health())
        health.failures += 1
        health.last_error = message
        delay = backoff_delay(
            health.failures,
            cfg.max_failures_before_backoff,
            cfg.backoff_initial_s,
            cfg.backoff_max_s,
        )
        if not delay:
            return
        health.backoff_until = self.clock.now() + delay
        plan = self._s.plans.get(name)
        if plan is not None and plan.next is not None:
            plan.next = next_run(plan.row, self.clock.now(), not_before=health.backoff_until)
        log.warning(
            "task %s: %d failures in a row; backed off for %.0f s",
            name,
            health.failures,
            delay.total_seconds(),
        )
        await self._event(
            "task_failing",
            "warning",
            {
                "task": name,
                "failures": health.failures,
                "last_error": message[:500],
                "backoff_s": delay.total_seconds(),
                "backoff_until": to_iso(health.backoff_until),
                "next_run": to_iso(plan.next) if plan is not None and plan.next else "",
            },
        )

    # -- cost alert (no LLM) ---------------------------------------------------------

    async def _cost_alert(self, row: Row, trigger: str, slot: datetime) -> Row:
        """Sum llm_logs for the last hour and the task's calendar day; over a threshold,
        write a cost_alert event and deliver a notification. The run's input and answer
        rows are appended together, so no unanswered input is left for recovery."""
        cfg = self.cfg.scheduler
        now = self.clock.now()
        tz = zone(str(row["timezone"]))
        midnight = local_midnight(now.astimezone(tz))
        hour = (await self.store.cost_summary(since=to_iso(now - timedelta(hours=1)))).total
        day = (await self.store.cost_summary(since=to_iso(midnight))).total
        over: list[str] = []
        if cfg.cost_alert_hourly_usd > 0 and hour.cost_usd > cfg.cost_alert_hourly_usd:
            over.append("hour")
        if (
            cfg.cost_alert_daily_usd > 0
            and day.cost_usd > cfg.cost_alert_daily_usd
            and not await self._alerted_since(midnight, "day")
        ):
            over.append("day")
        text = (
            f"LLM spend: ${hour.cost_usd:.4f} in the last hour ({hour.requests} calls; "
            f"alert above ${cfg.cost_alert_hourly_usd:.2f}), ${day.cost_usd:.4f} today "
            f"({day.requests} calls; alert above ${cfg.cost_alert_daily_usd:.2f})."
        )
        if over:
            text = "Cost alert: " + text
        details: dict[str, Any] = {
            "hour_usd": round(hour.cost_usd, 6),
            "day_usd": round(day.cost_usd, 6),
            "hourly_threshold_usd": cfg.cost_alert_hourly_usd,
            "daily_threshold_usd": cfg.cost_alert_daily_usd,
            "over": over,
        }
        msg_id = new_id()
        start = self.book.run_input(row, trigger, slot, msg_id=msg_id).values()
        answer = rows.agent_response(
            source="scheduler",
            target=str(row["deliver_to"]) if over else "none",
            session_id=start["session_id"],
            content={"text": text, "cost_alert": details},
            user_id="scheduler",
            reply_to=msg_id,
            priority=1 if over else 0,
        )
        written = await self.store.append("messages", [start, answer], durable=True)
        if over:
            await self._event(
                "cost_alert",
                "warning",
                {"task": row["name"], **details, "day_start": to_iso(midnight)},
                tags=["cost", "llm"],
            )
        return written[0]

    async def _alerted_since(self, since: datetime, window: str) -> bool:
        for r in await self.store.query(
            "events",
            make_filters(EVENTS, [("event_type", "eq", "cost_alert")]),
            since=to_iso(since),
            limit=1000,
        ):
            payload = r["payload"] if isinstance(r["payload"], dict) else {}
            if window in (payload.get("over") or []):
                return True
        return False

    # -- events ----------------------------------------------------------------------

    async def _event(
        self, kind: str, severity: str, payload: dict[str, Any], tags: list[str] | None = None
    ) -> None:
        """Append a ``kind`` event of the scheduler (tags default to ``scheduler``)."""
        await self.store.append(
            "events",
            [
                rows.event(
                    kind,
                    source="scheduler",
                    payload=payload,
                    severity=severity,
                    tags=tags or ["scheduler"],
                )
            ],
        )


def _same_schedule(a: Row, b: Row) -> bool:
    """Whether two versions plan the same runs (schedule, zone and its anchor alike)."""
    return (
        a["schedule"] == b["schedule"]
        and a["timezone"] == b["timezone"]
        and options_of(a).get("schedule_set_at") == options_of(b).get("schedule_set_at")
    )


def backoff_delay(failures: int, threshold: int, initial_s: float, max_s: float) -> timedelta:
    """The pause after ``failures`` consecutive failures: none below ``threshold``, then
    ``initial_s`` doubling per further failure, at most ``max_s``."""
    if failures < threshold:
        return timedelta(0)
    return timedelta(seconds=min(max_s, initial_s * 2 ** min(failures - threshold, 30)))
