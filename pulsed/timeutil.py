"""Time helpers every layer may use: the clock the daemon goes by, zones, local midnight
and durations. Depends on nothing in pulsed but ``errors``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pulsed.errors import InvalidArgument

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


class Clock(Protocol):
    """The time the scheduler goes by; tests drive a manual one."""

    def now(self) -> datetime:
        """The current time, aware (UTC)."""
        ...

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        """Return at ``when`` (None: no deadline), when ``wake`` is set, or earlier; the
        caller re-checks the time, so returning early is always allowed."""
        ...


class SystemClock:
    """The wall clock. Sleeps last at most ``max_nap_s`` so a clock step (NTP, suspend)
    is noticed within that time."""

    max_nap_s = 30.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime | None, wake: asyncio.Event) -> None:
        nap = self.max_nap_s
        if when is not None:
            nap = min(nap, max(0.0, (when - self.now()).total_seconds()) + 0.002)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), nap)


MAX_DURATION = timedelta(days=36525)
"""The longest duration ``parse_duration`` accepts: 100 years (36525d)."""


def parse_duration(text: str, longest: timedelta = MAX_DURATION) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"7d"`` → timedelta, at most ``longest``.

    Raises:
        InvalidArgument: not a duration, or longer than ``longest`` (the message names
            the value and the limit).
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or not re.fullmatch(r"(\d+[smhdw])+", compact):
        raise InvalidArgument(f"{_cut(text)} is not a duration (e.g. 90s, 15m, 2h, 1h30m, 7d)")
    limit = int(longest.total_seconds())
    try:
        seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(compact))
    except ValueError:  # more digits than int() converts
        seconds = limit + 1
    if seconds > limit:
        raise InvalidArgument(
            f"{_cut(text)} is too long: a duration is at most {limit // 86400}d "
            f"({limit // 86400 // 365} years)"
            if limit % 86400 == 0
            else f"{_cut(text)} is too long: a duration is at most {limit}s"
        )
    return timedelta(seconds=seconds)


def _cut(text: str) -> str:
    """``repr(text)`` cut to 60 characters, for error messages."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def local_zone() -> tzinfo:
    """The machine's zone with its DST rules: ``$TZ``, else ``/etc/localtime`` (by its IANA
    name when it links into a zoneinfo tree), else the current fixed UTC offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    path = Path("/etc/localtime")
    try:
        target = str(path.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    try:
        with open(path, "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ValueError):
        pass
    local = datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``, or the machine's local zone (``local_zone``) when empty.

    Raises:
        InvalidArgument: unknown zone.
    """
    if not name.strip():
        return local_zone()
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Paris or UTC)"
        ) from None


def local_midnight(now: datetime | None = None) -> datetime:
    """Start of the local calendar day containing ``now`` (default: now), as an aware
    datetime in the machine's current UTC offset."""
    now = (now or datetime.now()).astimezone()
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
