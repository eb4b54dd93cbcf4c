"""The scheduler on real parts (SQLite store in a temp dir, TurnManager, the agent loop
talking to the loopback fake LLM through the real OpenAI SDK), with a manual clock: time
moves only when a test says so, so nothing waits for minutes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.budget import Budget
from pulsed.agent.loop import AgentDeps
from pulsed.agent.turns import TurnManager
from pulsed.config import (
    AgentConfig,
    Config,
    ProviderConfig,
    SchedulerConfig,
    ServerConfig,
    ToolsConfig,
)
from pulsed.errors import FailedPrecondition, InvalidArgument
from pulsed.providers.pool import ProviderPool
from pulsed.scheduling.book import TaskBook
from pulsed.scheduling.reminders import BookReminders
from pulsed.scheduling.runner import Scheduler
from pulsed.scheduling.task_views import TaskRun
from pulsed.store.base import make_filters
from pulsed.store.local import LocalStore
from pulsed.store.schema import EVENTS, LLM_LOGS, MESSAGES
from pulsed.tools.builtin import builtin_tools
from tests.fakes.llm import Fail, FakeLLM, Hang

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only on ``advance``/``set``; sleepers wake when it moves."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._sleepers: set[asyncio.Event] = set()

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when
        for ev in list(self._sleepers):
            ev.set()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        if when is not None and self._now >= when:
            return
        self._sleepers.add(wake)
        try:
            await wake.wait()
        finally:
            self._sleepers.discard(wake)


async def eventually(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll an async (or plain) check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


@dataclass
class World:
    """One daemon's worth of scheduling parts, in process."""

    cfg: Config
    store: LocalStore
    book: TaskBook
    turns: TurnManager
    scheduler: Scheduler
    providers: ProviderPool
    clock: ManualClock

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.turns.shutdown(0.0)
        await self.providers.aclose()
        await self.store.close()

    async def starts(self, name: str) -> list[Any]:
        return await self.store.query(
            "messages",
            make_filters(
                MESSAGES,
                [("session_id", "eq", f"task:{name}"), ("message_type", "eq", "scheduled_task")],
            ),
            order="asc",
        )

    async def events(self, kind: str) -> list[Any]:
        return await self.store.query(
            "events", make_filters(EVENTS, [("event_type", "eq", kind)]), order="asc"
        )

    async def finished(self, name: str, n: int = 1) -> list[TaskRun]:
        """Wait until ``name`` has ``n`` finished runs; returns the history (newest first)."""

        async def check() -> list[TaskRun]:
            runs = await self.book.history(name, include_skipped=False)
            done = [r for r in runs if r.status != "running"]
            return runs if len(done) >= n else []

        return await eventually(check, what=f"{n} finished run(s) of {name}")  # type: ignore[no-any-return]

    async def idle(self) -> None:
        """Let the scheduler loop act on the clock's latest move."""
        for _ in range(20):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)


def make_config(data: Path, llm_url: str, **scheduler: Any) -> Config:
    return Config(
        agent=AgentConfig(provider="openai-compatible", model="fake-model"),
        providers={
            "openai-compatible": ProviderConfig(
                base_url=llm_url, api_key="test-key", max_retries=0, timeout_s=10
            )
        },
        server=ServerConfig(data_dir=str(data)),
        tools=ToolsConfig(workspace=str(data / "ws")),
        scheduler=SchedulerConfig(**scheduler),
    )


async def open_world(cfg: Config, clock: ManualClock) -> World:
    store = LocalStore(cfg.data_path)
    await store.open()
    book = TaskBook(store, clock)
    providers = ProviderPool(cfg)
    deps = AgentDeps(
        cfg=cfg,
        store=store,
        tools=builtin_tools(cfg, BookReminders(book)),
        providers=providers,
        budget=Budget(store, 0),
        approvals=ApprovalBroker(),
    )
    turns = TurnManager(deps)
    await turns.recover()
    scheduler = Scheduler(cfg, store, book, turns, clock)
    await scheduler.start()
    return World(cfg, store, book, turns, scheduler, providers, clock)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


WorldFactory = Callable[..., Any]


@pytest.fixture
async def make_world(
    tmp_path: Path, fake_llm: FakeLLM, clock: ManualClock
) -> AsyncIterator[WorldFactory]:
    """``await make_world(**scheduler_options)``: a world on this test's data dir; every
    world made is closed at the end (closing one twice is harmless)."""
    made: list[World] = []

    async def make(**options: Any) -> World:
        w = await open_world(make_config(tmp_path / "data", fake_llm.url, **options), clock)
        made.append(w)
        return w

    try:
        yield make
    finally:
        for w in made:
            if w.store._open:
                await w.close()


@pytest.fixture
async def world(make_world: WorldFactory) -> World:
    return await make_world()  # type: ignore[no-any-return]


async def test_a_run_fires_at_its_slot_and_its_answer_is_in_history(
    world: World, fake_llm: FakeLLM
) -> None:
    await world.book.add("news", "every 1h", "what's new?", "UTC", "tui")
    fake_llm.script("nothing new today")
    await world.idle()
    assert await world.starts("news") == []  # not before its time
    world.clock.advance(timedelta(minutes=59))
    await world.idle()
    assert await world.starts("news") == []
    world.clock.advance(timedelta(minutes=1))
    [run] = await world.finished("news")
    assert (run.status, run.answer, run.trigger) == ("ok", "nothing new today", "schedule")
    assert run.delivered_to == "tui"  # the answer row's target is the task's deliver_to
    [start] = await world.starts("news")
    assert start["source"] == "scheduler" and start["content"]["slot"] == "2026-11-20T09:00:00.000Z"
    logs = await world.store.query(
        "llm_logs", make_filters(LLM_LOGS, [("turn_id", "eq", start["id"])])
    )
    assert [r["origin"] for r in logs] == ["task"]
    [view] = await world.book.list_tasks()
    view = world.scheduler.annotate(view)
    assert view.next_run == "2026-11-20T10:00:00+00:00" and view.last_status == "ok"


async def test_cron_slot_fires_once_and_next_run_is_in_the_tasks_zone(world: World) -> None:
    await world.book.add("brief", "0 9 * * *", "brief me", "Europe/Paris", "none")
    await world.idle()
    [view] = await world.book.list_tasks()
    assert world.scheduler.annotate(view).next_run == "2026-11-21T09:00:00+01:00"
    world.clock.set(datetime(2026, 11, 21, 8, 0, tzinfo=UTC))  # 09:00 in Paris
    await world.finished("brief")
    world.clock.advance(timedelta(minutes=30))
    await world.idle()
    assert len(await world.starts("brief")) == 1


async def test_catch_up_runs_once_after_downtime(
    tmp_path: Path, fake_llm: FakeLLM, clock: ManualClock
) -> None:
    cfg = make_config(tmp_path / "data", fake_llm.url)
    w = await open_world(cfg, clock)
    await w.book.add("poll", "every 10m", "check", "UTC")
    await w.book.add("quiet", "every 10m", "check", "UTC", catch_up=False)
    await w.close()
    clock.advance(timedelta(hours=2, minutes=5))  # twelve slots missed while down
    w = await open_world(cfg, clock)
    try:
        [run] = await w.finished("poll")
        assert run.trigger == "catch_up"
        await w.idle()
        assert len(await w.starts("poll")) == 1  # once, not once per missed slot
        assert await w.starts("quiet") == []
        [missed] = await w.events("task_missed")
        assert missed["payload"]["task"] == "quiet"
        views = {v.name: w.scheduler.annotate(v) for v in await w.book.list_tasks()}
        assert views["poll"].next_run == "2026-11-20T10:10:00+00:00"  # the anchor's grid
        assert views["quiet"].next_run == "2026-11-20T10:10:00+00:00"
    finally:
        await w.close()


async def test_no_catch_up_when_nothing_was_missed(
    tmp_path: Path, fake_llm: FakeLLM, clock: ManualClock
) -> None:
    cfg = make_config(tmp_path / "data", fake_llm.url)
    w = await open_world(cfg, clock)
    await w.book.add("poll", "every 1h", "check", "UTC")
    await w.close()
    clock.advance(timedelta(minutes=30))
    w = await open_world(cfg, clock)
    try:
        await w.idle()
        assert await w.starts("poll") == []
        [view] = await w.book.list_tasks()
        assert w.scheduler.annotate(view).next_run == "2026-11-20T09:00:00+00:00"
    finally:
        await w.close()


async def test_one_shot_fires_once_and_is_retired(world: World) -> None:
    await world.book.add("call", "in 30m", "remind me to call the bank", "UTC", "tui")
    world.clock.advance(timedelta(minutes=30))
    [run] = await world.finished("call")
    assert run.status == "ok"
    row = await eventually(lambda: _retired(world, "call"), what="retirement")
    assert row["enabled"] is False and row["options"]["retired_reason"] == "fired"
    [view] = await world.book.list_tasks()
    assert view.retired_at and not view.enabled and view.next_run == ""
    world.clock.advance(timedelta(days=1))
    await world.idle()
    assert len(await world.starts("call")) == 1
    with pytest.raises(FailedPrecondition, match="ran once already"):
        await world.book.update("call", enabled=True)
    # A new time (even the same "in 30m" again) brings it back, counting from now.
    await world.book.update("call", schedule="in 30m")
    world.clock.advance(timedelta(minutes=29))
    await world.idle()
    assert len(await world.starts("call")) == 1
    world.clock.advance(timedelta(minutes=1))
    await world.finished("call", 2)


async def _retired(world: World, name: str) -> Any:
    row = await world.book.get(name)
    return row if row["options"].get("retired_at") else None


async def test_missed_one_shot_catches_up_or_is_retired(
    tmp_path: Path, fake_llm: FakeLLM, clock: ManualClock
) -> None:
    cfg = make_config(tmp_path / "data", fake_llm.url)
    w = await open_world(cfg, clock)
    await w.book.add("late", "at 2026-11-20T09:00", "hello", "UTC")
    await w.book.add("gone", "at 2026-11-20T09:00", "hello", "UTC", catch_up=False)
    await w.close()
    clock.set(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    w = await open_world(cfg, clock)
    try:
        [run] = await w.finished("late")
        assert run.trigger == "catch_up"
        await eventually(lambda: _retired(w, "late"))
        gone = await _retired(w, "gone")
        assert gone is not None and gone["options"]["retired_reason"] == "missed"
        assert await w.starts("gone") == []
    finally:
        await w.close()


async def test_a_one_shot_in_the_past_is_refused(world: World) -> None:
    with pytest.raises(InvalidArgument, match="in the past"):
        await world.book.add("old", "at 2026-11-20T07:00", "hello", "UTC")


async def test_runs_never_overlap(world: World, fake_llm: FakeLLM) -> None:
    fake_llm.script(Hang(20))
    await world.book.add("slow", "every 10s", "take your time", "UTC")
    world.clock.advance(timedelta(seconds=10))
    await eventually(lambda: world.scheduler.running("slow"), what="the first run")
    world.clock.advance(timedelta(seconds=10))
    [skipped] = await eventually(lambda: world.events("task_skipped"), what="a skip")
    assert skipped["payload"]["task"] == "slow" and skipped["severity"] == "warning"
    assert len(await world.starts("slow")) == 1
    runs = await world.book.history("slow")
    assert [r.status for r in runs] == ["skipped", "running"]
    with pytest.raises(FailedPrecondition, match="running already"):
        await world.scheduler.run_now("slow")


async def test_a_run_past_its_timeout_is_cancelled_with_an_error_row(
    world: World, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Hang(20))
    await world.book.add("stuck", "every 1h", "hang", "UTC", timeout_s=0.3)
    world.clock.advance(timedelta(hours=1))
    [run] = await world.finished("stuck")
    assert (run.status, run.error_code) == ("timeout", "timeout")
    assert "0.3 s timeout" in run.answer
    [view] = await world.book.list_tasks()
    view = world.scheduler.annotate(view)
    assert view.failures == 1 and not view.running


async def test_repeated_failures_back_off_and_are_reported(
    make_world: WorldFactory, fake_llm: FakeLLM
) -> None:
    world = await make_world(max_failures_before_backoff=2, backoff_initial_s=3600)
    fake_llm.script(Fail(400, times=2), "fine again")
    await world.book.add("flaky", "every 10m", "try", "UTC")
    world.clock.advance(timedelta(minutes=10))
    await world.finished("flaky", 1)
    assert await world.events("task_failing") == []
    world.clock.advance(timedelta(minutes=10))
    await world.finished("flaky", 2)
    [failing] = await eventually(lambda: world.events("task_failing"))
    assert failing["payload"]["failures"] == 2 and failing["payload"]["backoff_s"] == 3600
    [view] = await world.book.list_tasks()
    view = world.scheduler.annotate(view)
    assert view.backoff_until == "2026-11-20T09:20:00.000Z"
    assert view.next_run == "2026-11-20T09:20:00+00:00"  # first slot after the pause
    world.clock.advance(timedelta(minutes=30))  # 08:50: slots at 08:30 and 08:40 pass
    await world.idle()
    assert len(await world.starts("flaky")) == 2
    world.clock.set(datetime(2026, 11, 20, 9, 20, tzinfo=UTC))
    runs = await world.finished("flaky", 3)
    assert runs[0].status == "ok"
    await eventually(lambda: world.events("task_recovered"))


async def test_restart_keeps_tasks_and_their_times(
    tmp_path: Path, fake_llm: FakeLLM, clock: ManualClock
) -> None:
    cfg = make_config(tmp_path / "data", fake_llm.url)
    w = await open_world(cfg, clock)
    await w.book.add("brief", "0 9 * * *", "brief me", "Europe/Paris", "tui")
    await w.book.add("nudge", "in 2h", "stretch", "UTC", "tui", timeout_s=120, catch_up=False)
    before = [w.scheduler.annotate(v) for v in await w.book.list_tasks()]
    await w.close()
    clock.advance(timedelta(minutes=10))
    w = await open_world(cfg, clock)
    try:
        after = [w.scheduler.annotate(v) for v in await w.book.list_tasks()]
        assert [(v.name, v.next_run, v.timeout_s, v.catch_up) for v in after] == [
            (v.name, v.next_run, v.timeout_s, v.catch_up) for v in before
        ]
        assert after[1].next_run == "2026-11-20T10:00:00+00:00"
        clock.advance(timedelta(hours=2))
        [run] = await w.finished("nudge")
        assert run.trigger == "schedule"
    finally:
        await w.close()


async def test_edits_wake_the_scheduler(world: World) -> None:
    await world.book.add("t", "every 1h", "x", "UTC")
    await world.idle()
    await world.book.update("t", schedule="every 10s")
    world.clock.advance(timedelta(seconds=10))
    await world.finished("t")
    await world.book.update("t", enabled=False)
    world.clock.advance(timedelta(hours=2))
    await world.idle()
    assert len(await world.starts("t")) == 1
    await world.book.update("t", enabled=True, schedule="every 10s")
    await world.book.remove("t")
    world.clock.advance(timedelta(hours=2))
    await world.idle()
    assert len(await world.starts("t")) == 1


async def test_heartbeat_is_light_and_ok_is_not_delivered(world: World, fake_llm: FakeLLM) -> None:
    await world.book.add("", "", "", "UTC", preset="heartbeat")
    fake_llm.script("HEARTBEAT_OK", "**Your 10:00 call is in 5 minutes.**")
    world.clock.advance(timedelta(minutes=30))
    [quiet] = await world.finished("heartbeat")
    assert quiet.delivered_to == "none" and quiet.answer == "HEARTBEAT_OK"
    world.clock.advance(timedelta(minutes=30))
    runs = await world.finished("heartbeat", 2)
    assert runs[0].delivered_to == "tui"
    logs = await world.store.query(
        "llm_logs", make_filters(LLM_LOGS, [("session_id", "eq", "task:heartbeat")])
    )
    assert {r["origin"] for r in logs} == {"heartbeat"}
    second = fake_llm.requests[-1].body
    system = [m for m in second["messages"] if m["role"] == "system"]
    users = [m for m in second["messages"] if m["role"] == "user"]
    assert "periodic background check" in system[0]["content"] and len(system[0]["content"]) < 600
    assert len(users) == 1  # no history, although the first run is in the session
    assert second["max_tokens"] <= 512 or second.get("max_completion_tokens", 0) <= 512


async def test_cost_alert_without_an_llm_call(make_world: WorldFactory, fake_llm: FakeLLM) -> None:
    world = await make_world(cost_alert_hourly_usd=1.0, cost_alert_daily_usd=3.0)
    await world.book.add("", "", "", "UTC", preset="cost-alert")
    world.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    [quiet] = await world.finished("cost-alert")
    assert quiet.status == "ok" and quiet.delivered_to == "none"
    assert await world.events("cost_alert") == []
    now = world.clock.now()
    await world.store.append(
        "llm_logs",
        [
            {"timestamp": now + timedelta(minutes=m), "estimated_cost_usd": 0.9, "origin": "chat"}
            for m in (10, 20, 30, 40)
        ],
    )
    world.clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    runs = await world.finished("cost-alert", 2)
    assert runs[0].delivered_to == "tui" and runs[0].answer.startswith("Cost alert:")
    [alert] = await eventually(lambda: world.events("cost_alert"))
    assert alert["severity"] == "warning" and alert["payload"]["over"] == ["hour", "day"]
    assert fake_llm.requests == []  # no LLM call at all
    world.clock.set(datetime(2026, 11, 20, 11, 0, tzinfo=UTC))  # hour quiet; day alerted
    runs = await world.finished("cost-alert", 3)
    assert runs[0].delivered_to == "none"
    assert len(await world.events("cost_alert")) == 1


async def test_run_now_is_manual_and_does_not_retire_a_one_shot(world: World) -> None:
    await world.book.add("later", "in 2h", "hello", "UTC")
    row = await world.scheduler.run_now("later")
    assert row["content"]["trigger"] == "manual"
    [run] = await world.finished("later")
    assert run.trigger == "manual"
    row = await world.book.get("later")
    assert row["enabled"] and not row["options"].get("retired_at")
    world.clock.advance(timedelta(hours=2))
    await world.finished("later", 2)
    await eventually(lambda: _retired(world, "later"))


async def test_scheduler_off_runs_tasks_only_on_demand(make_world: WorldFactory) -> None:
    world = await make_world(enabled=False)
    await world.book.add("t", "every 10s", "x", "UTC", "none")
    world.clock.advance(timedelta(minutes=5))
    await world.idle()
    assert await world.starts("t") == []
    await world.scheduler.run_now("t")
    [run] = await world.finished("t")
    assert run.trigger == "manual" and run.delivered_to == "none"


def test_scheduler_config_is_typed_and_validated(tmp_path: Path) -> None:
    from pulsed import config
    from pulsed.errors import ConfigError

    path = tmp_path / "config.toml"
    path.write_text("[scheduler]\nrun_timeout_s = 30\ncatch_up = false\n")
    cfg = config.load(path, env={"PULSE_SCHEDULER__AGENT_MAX_TASKS": "3"})
    assert (cfg.scheduler.run_timeout_s, cfg.scheduler.catch_up) == (30.0, False)
    assert cfg.scheduler.agent_max_tasks == 3
    path.write_text("[scheduler]\nrun_timeout_s = 0\n")
    with pytest.raises(ConfigError, match="scheduler.run_timeout_s: must be above 0"):
        config.load(path, env={})
    path.write_text("[scheduler]\nrun_timout_s = 5\n")
    with pytest.raises(ConfigError, match="did you mean run_timeout_s"):
        config.load(path, env={})
