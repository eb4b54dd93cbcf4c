"""Task times in the task's own zone, with the zone's abbreviation: the one convention
of the Tasks view, its run history and the task form's previews (``12-04 09:00 CET``).

A task's zone is its IANA ``timezone``; empty means the daemon's local zone, which is
this machine's (the console reaches the daemon over a Unix socket). Pure functions.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pulsetui import format


def zone_of(name: str) -> tzinfo | None:
    """The zone named ``name`` (IANA), or None for the local zone ('' or a name this
    machine does not know: the daemon says what is wrong with it, not this)."""
    name = name.strip()
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_zone(
    text: str,
    zone: str,
    *,
    weekday: bool = False,
    seconds: bool | None = None,
    now: datetime | None = None,
) -> str:
    """ISO 8601 ``text`` shown in ``zone`` with its abbreviation: ``12-04 09:00 CET``
    (``2025-12-04 09:00 CET`` outside the current year; ``Thu 12-04 09:00 CET`` with
    ``weekday``; ``12-04 09:00:20 CET`` with ``seconds``, which by default (None) are
    shown when they are not 0). '-' when ``text`` is empty; unreadable text is returned
    as it is.

    The current year is the console's (``format.local_now``, so tests can pin it).
    """
    dt = format.parse_time(text)
    if dt is None:
        return text or "-"
    tz = zone_of(zone)
    shown = dt.astimezone(tz) if tz is not None else dt.astimezone()
    year = (now or format.local_now()).year
    pattern = "%m-%d %H:%M" if shown.year == year else "%Y-%m-%d %H:%M"
    if seconds or (seconds is None and shown.second):
        pattern += ":%S"
    if weekday:
        pattern = "%a " + pattern
    return f"{shown.strftime(pattern)} {abbreviation(shown)}"


def any_seconds(texts: list[str]) -> bool:
    """Whether any of these ISO 8601 times has seconds (so a list of them, such as the
    next runs of ``every 20s``, shows seconds on all)."""
    return any((dt := format.parse_time(t)) is not None and dt.second for t in texts)


def abbreviation(dt: datetime) -> str:
    """The zone abbreviation of an aware ``dt`` (``CET``, ``EST``); where the zone has
    none (``%Z`` gives ``+03``), its offset as ``UTC+03:00``."""
    name = dt.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = dt.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
