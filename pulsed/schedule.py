"""Schedule specs of tasks: parse, validate, and compute the next run.

Accepted forms (the error for anything else shows these):

- 5-field cron, e.g. ``0 9 * * *`` (via croniter), evaluated in the task's time zone;
- ``every <duration>``, e.g. ``every 30m``, ``every 2h``, ``every 1h30m`` (at least 10 s);
- ``at <ISO 8601 datetime>``, e.g. ``at 2026-12-01T09:00`` (no offset: the task's zone);
- ``in <duration>``, e.g. ``in 20m``: once, that long after the task was defined.

Durations are one or more ``<number><unit>`` with unit s, m, h, d or w.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pulsed.errors import InvalidArgument

MIN_INTERVAL_S = 10
EXAMPLES = '"0 9 * * *", "every 30m", "at 2026-12-01T09:00", "in 2h"'

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"7d"`` → timedelta.

    Raises:
        InvalidArgument: not a duration.
    """
    compact = text.strip().lower().replace(" ", "")
    if not compact or not re.fullmatch(r"(\d+[smhdw])+", compact):
        raise InvalidArgument(f"{text!r} is not a duration (e.g. 90s, 15m, 2h, 1h30m, 7d)")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(compact))
    return timedelta(seconds=seconds)


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``, or the machine's local zone when empty.

    Raises:
        InvalidArgument: unknown zone.
    """
    if not name:
        local = datetime.now().astimezone().tzinfo
        assert local is not None
        return local
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Paris or UTC)"
        ) from None


@dataclass(frozen=True)
class Schedule:
    """A parsed spec. ``kind`` is cron | every | at | in; ``one_shot`` for at and in."""

    spec: str
    kind: str
    interval: timedelta | None = None
    at: datetime | None = None
    cron: str = ""

    @property
    def one_shot(self) -> bool:
        return self.kind in ("at", "in")

    def next_after(
        self, after: datetime, tz: tzinfo, defined_at: datetime | None = None
    ) -> datetime | None:
        """The first run strictly after ``after`` (aware), in ``tz``; None when a one-shot
        schedule has no run left. ``defined_at`` anchors ``in`` and ``every`` specs."""
        after = after.astimezone(tz)
        if self.kind == "cron":
            from croniter import croniter

            nxt = croniter(self.cron, after).get_next(datetime)
            return nxt.astimezone(tz)
        if self.kind == "every":
            assert self.interval is not None
            anchor = (defined_at or after).astimezone(tz)
            if anchor > after:
                return anchor
            steps = int((after - anchor) / self.interval) + 1
            return anchor + steps * self.interval
        if self.kind == "in":
            assert self.interval is not None
            when = (defined_at or after) + self.interval
            return when.astimezone(tz) if when > after else None
        assert self.at is not None
        when = self.at if self.at.tzinfo else self.at.replace(tzinfo=tz)
        return when.astimezone(tz) if when > after else None


def _bad(spec: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid schedule {spec!r}: {why}. Valid examples: {EXAMPLES}")


def parse(spec: str) -> Schedule:
    """Parse and validate a schedule spec.

    Raises:
        InvalidArgument: the spec is malformed; the message says what is wrong and shows
            valid examples.
    """
    text = " ".join(spec.split())
    if not text:
        raise _bad(spec, "empty")
    head, _, rest = text.partition(" ")
    head = head.lower()
    if head in ("every", "in"):
        if not rest:
            raise _bad(spec, f'"{head}" needs a duration such as 30m')
        try:
            interval = parse_duration(rest)
        except InvalidArgument:
            raise _bad(
                spec, f"{rest!r} is not a duration (use e.g. 90s, 15m, 2h, 1h30m, 1d)"
            ) from None
        if head == "every" and interval.total_seconds() < MIN_INTERVAL_S:
            raise _bad(spec, f"the shortest interval is {MIN_INTERVAL_S}s")
        if interval.total_seconds() <= 0:
            raise _bad(spec, "the duration must be positive")
        return Schedule(text, head, interval=interval)
    if head == "at":
        try:
            when = datetime.fromisoformat(rest.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(
                spec, f"{rest!r} is not an ISO 8601 datetime such as 2026-12-01T09:00"
            ) from None
        return Schedule(text, "at", at=when)
    fields = text.split(" ")
    if len(fields) != 5:
        raise _bad(
            spec,
            f"a cron spec has 5 fields (minute hour day month weekday), this has {len(fields)}",
        )
    from croniter import croniter

    if not croniter.is_valid(text):
        raise _bad(spec, "not a valid cron expression")
    return Schedule(text, "cron", cron=text)
