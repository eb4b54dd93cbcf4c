"""Next-run computation across daylight saving changes, as Vixie cron users expect
(cron(8): fixed-time jobs run once, wildcard jobs follow the wall clock), plus ``every``
as real elapsed time, ``at`` in a skipped or repeated hour, and the local zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulsed import timeutil
from pulsed.scheduling.spec import parse

PARIS = ZoneInfo("Europe/Paris")  # 2026-03-29 02:00 → 03:00; 2026-10-25 03:00 → 02:00
NEW_YORK = ZoneInfo("America/New_York")  # 2026-03-08 02:00 → 03:00; 2026-11-01 02:00 → 01:00


def runs(spec: str, start: datetime, tz: ZoneInfo, n: int) -> list[str]:
    s = parse(spec)
    out, t = [], start
    for _ in range(n):
        nxt = s.next_after(t, tz)
        assert nxt is not None
        out.append(nxt.isoformat())
        t = nxt
    return out


def test_fixed_time_in_the_skipped_hour_runs_once_when_the_clocks_jump() -> None:
    assert runs("30 2 * * *", datetime(2026, 3, 28, 12, tzinfo=PARIS), PARIS, 3) == [
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: run at the jump
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_fixed_time_in_the_repeated_hour_runs_once() -> None:
    assert runs("30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=PARIS), PARIS, 3) == [
        "2026-10-25T02:30:00+02:00",  # first pass only, not again at 02:30+01:00
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    # Asked during the second pass, it does not fire again that night.
    second_pass = datetime(2026, 10, 25, 2, 10, tzinfo=PARIS).replace(fold=1)
    nxt = parse("30 2 * * *").next_after(second_pass, PARIS)
    assert nxt is not None and nxt.isoformat() == "2026-10-26T02:30:00+01:00"


def test_wildcard_jobs_follow_the_wall_clock() -> None:
    # Hourly: no 02:00 on the spring day; both 01:00s on the autumn day (New York).
    assert runs("0 * * * *", datetime(2026, 3, 8, 0, 30, tzinfo=NEW_YORK), NEW_YORK, 3) == [
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-08T04:00:00-04:00",
    ]
    assert runs("0 * * * *", datetime(2026, 11, 1, 0, 30, tzinfo=NEW_YORK), NEW_YORK, 3) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]
    # Every 20 minutes through the repeated hour: both passes, strictly increasing.
    got = runs("*/20 * * * *", datetime(2026, 10, 25, 1, 50, tzinfo=PARIS), PARIS, 7)
    assert got == [
        "2026-10-25T02:00:00+02:00",
        "2026-10-25T02:20:00+02:00",
        "2026-10-25T02:40:00+02:00",
        "2026-10-25T02:00:00+01:00",
        "2026-10-25T02:20:00+01:00",
        "2026-10-25T02:40:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ]
    instants = [datetime.fromisoformat(t) for t in got]
    assert all(b - a == timedelta(minutes=20) for a, b in zip(instants, instants[1:], strict=False))


def test_wildcard_asked_just_before_the_repeat_sees_the_second_pass() -> None:
    # 02:50 CEST; the next */20 slot is 02:00 CET (10 minutes later), not 03:00 CET.
    after = datetime(2026, 10, 25, 2, 50, tzinfo=PARIS)
    nxt = parse("*/20 * * * *").next_after(after, PARIS)
    assert nxt is not None and nxt.isoformat() == "2026-10-25T02:00:00+01:00"
    assert nxt.astimezone(UTC) - after.astimezone(UTC) == timedelta(minutes=10)


def test_cron_far_from_a_change_and_impossible_dates() -> None:
    assert runs("0 9 * * 1-5", datetime(2026, 11, 20, 10, tzinfo=PARIS), PARIS, 2) == [
        "2026-11-23T09:00:00+01:00",  # Friday 10:00 → Monday
        "2026-11-24T09:00:00+01:00",
    ]
    assert parse("0 0 31 2 *").next_after(datetime(2026, 1, 1, tzinfo=UTC), PARIS) is None


def test_every_is_real_elapsed_time_across_a_change() -> None:
    s = parse("every 1d")
    defined = datetime(2026, 3, 28, 9, tzinfo=PARIS)
    nxt = s.next_after(defined, PARIS, defined_at=defined)
    assert nxt is not None
    assert nxt.astimezone(UTC) - defined.astimezone(UTC) == timedelta(hours=24)
    assert nxt.isoformat() == "2026-03-29T10:00:00+02:00"  # 24 h later, 10:00 on the wall
    hourly = parse("every 1h")
    anchor = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    slots = []
    t = anchor
    for _ in range(3):
        n = hourly.next_after(t, PARIS, defined_at=anchor)
        assert n is not None
        slots.append(n)
        t = n
    utc = [anchor, *(x.astimezone(UTC) for x in slots)]
    assert [b - a for a, b in zip(utc, utc[1:], strict=False)] == [timedelta(hours=1)] * 3
    assert [x.isoformat() for x in slots] == [
        "2026-10-25T02:30:00+01:00",  # the repeated 02:30 is one real hour later
        "2026-10-25T03:30:00+01:00",
        "2026-10-25T04:30:00+01:00",
    ]


def test_every_keeps_its_anchor_after_a_long_pause() -> None:
    s = parse("every 45m")
    anchor = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    nxt = s.next_after(anchor + timedelta(days=3, minutes=1), UTC, defined_at=anchor)
    assert nxt is not None and (nxt - anchor) % timedelta(minutes=45) == timedelta(0)
    assert timedelta(0) < nxt - (anchor + timedelta(days=3, minutes=1)) <= timedelta(minutes=45)


def test_at_in_the_skipped_hour_runs_at_the_jump_and_repeated_at_first_pass() -> None:
    gap = parse("at 2026-03-29T02:30")
    assert gap.when(PARIS).astimezone(PARIS).isoformat() == "2026-03-29T03:00:00+02:00"
    fold = parse("at 2026-10-25T02:30")
    assert fold.when(PARIS).astimezone(PARIS).isoformat() == "2026-10-25T02:30:00+02:00"
    explicit = parse("at 2026-10-25T02:30+01:00")
    assert explicit.when(PARIS).astimezone(PARIS).isoformat() == "2026-10-25T02:30:00+01:00"


def test_in_counts_from_when_it_was_set() -> None:
    s = parse("in 90m")
    defined = datetime(2026, 3, 29, 0, 45, tzinfo=UTC)  # 01:45 CET, across the jump
    assert s.once_at(PARIS, defined) - defined == timedelta(minutes=90)
    assert s.next_after(defined + timedelta(hours=2), PARIS, defined) is None


def test_min_gap() -> None:
    tz = ZoneInfo("UTC")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse("*/5 * * * *").min_gap(tz, start) == timedelta(minutes=5)
    assert parse("every 2h").min_gap(tz, start) == timedelta(hours=2)
    assert parse("0 9,10 * * *").min_gap(tz, start) == timedelta(hours=1)
    assert parse("in 5m").min_gap(tz, start) is None


def test_local_zone_follows_tz_with_its_dst_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Paris")
    tz = timeutil.zone("")
    assert datetime(2026, 1, 15, 12, tzinfo=tz).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 7, 15, 12, tzinfo=tz).utcoffset() == timedelta(hours=2)
    monkeypatch.setenv("TZ", "Nowhere/Atlantis")
    fallback = timeutil.zone("")  # /etc/localtime or the current offset; never raises
    assert datetime(2026, 1, 15, tzinfo=fallback).utcoffset() is not None


def test_system_clock_wakes_early_on_request() -> None:
    import asyncio

    async def main() -> float:
        clock = timeutil.SystemClock()
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.01, wake.set)
        started = loop.time()
        await clock.sleep_until(clock.now() + timedelta(hours=1), wake)
        return loop.time() - started

    assert asyncio.run(main()) < 5
