"""Schedule specs of tasks: parse, validate, and compute the next run.

Accepted forms (the error for anything else shows these):

- 5-field cron, e.g. ``0 9 * * *`` (via croniter), evaluated in the task's time zone;
- ``every <duration>``, e.g. ``every 30m``, ``every 2h``, ``every 1h30m`` (at least 10 s);
- ``at <ISO 8601 datetime>``, e.g. ``at 2026-12-01T09:00`` (no offset: the task's zone);
- ``in <duration>``, e.g. ``in 20m``: once, that long after the schedule was set;
- ``sql <query>``: a SQL trigger (Timeplus backend), run when the streaming query
  yields rows (the query itself is checked with the trigger, ``where.TriggerDef``);
- ``on <stream>``, e.g. ``on ingest``: a stream trigger, run when rows arrive
  (``pulsed.scheduling.triggers``); it has no times of its own.

Durations are one or more ``<number><unit>`` with unit s, m, h, d or w, at most 100 years
(``timeutil.MAX_DURATION``); ``at`` times lie from 0001-01-02 to 9999-12-30
(``AT_EARLIEST``, ``AT_LATEST``). Anything out of range is refused with InvalidArgument;
an invalid cron spec says which field is wrong, its value and the range
(``minute 61 out of range 0–59``, ``cron_problem``).

Daylight saving time is handled as Vixie cron (the cron of most Linux systems) does, see
cron(8) "Special considerations exist when the clock is changed by less than 3 hours":

- a cron job at a fixed time (no ``*`` in its minute or hour field) whose time falls in
  the hour skipped in spring runs once, at the moment the clocks jump (``30 2 * * *``
  runs at 03:00); in the hour repeated in autumn it runs once, at the first pass;
- a job with ``*`` in its minute or hour field follows the wall clock: slots in the
  skipped hour do not exist, and slots in the repeated hour run on both passes;
- ``every`` is real elapsed time (``every 1d`` is 24 h apart, also across a change) and
  ``in`` is elapsed time since the schedule was set; ``at`` without an offset is a wall
  time in the task's zone (a skipped time runs when the clocks jump, a repeated one at
  its first pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from pulsed.errors import InvalidArgument
from pulsed.timeutil import parse_duration, zone

MIN_INTERVAL_S = 10
AT_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
AT_LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
"""The range of ``at`` times: a day inside Python's datetime range, so a time exists in
every zone (offsets are under a day) and its runs can be computed and shown."""
EXAMPLES = '"0 9 * * *", "every 30m", "at 2026-12-01T09:00", "in 2h"'

_MAX_SHIFT = timedelta(hours=3)
"""Largest clock change a DST transition makes (real ones are 30 min to 2 h)."""
_CRON_SCAN = 5000
"""Most cron candidates examined for one next-run computation."""


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _jump_instant(lo: datetime, hi: datetime, tz: tzinfo) -> datetime:
    """The instant in (lo, hi] (UTC) where the offset of ``tz`` changes, to the second."""
    after = hi.astimezone(tz).utcoffset()
    a, b = int(lo.timestamp()), int(hi.timestamp())
    while b - a > 1:
        mid = (a + b) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == after:
            b = mid
        else:
            a = mid
    return datetime.fromtimestamp(b, UTC)


def wall_instants(wall: datetime, tz: tzinfo, both_passes: bool = False) -> list[datetime]:
    """The instants (UTC) a naive wall time of ``tz`` stands for: one normally; for a
    time skipped by a DST jump, the jump itself; for a repeated time, the first pass, or
    both passes with ``both_passes``."""
    first = _utc(wall.replace(tzinfo=tz, fold=0))
    second = _utc(wall.replace(tzinfo=tz, fold=1))
    if first == second:
        return [first]
    if first.astimezone(tz).replace(tzinfo=None) != wall:  # skipped: fold=0 lands past the jump
        return [_jump_instant(min(first, second), max(first, second), tz)]
    return [first, second] if both_passes else [first]


@dataclass(frozen=True)
class Schedule:
    """A parsed spec (see ``parse``).

    Attributes:
        spec: the spec text, whitespace normalised.
        kind: cron | every | at | in | on | sql (``triggered``: on and sql).
        interval: the duration of an ``every`` or ``in`` spec.
        at: an ``at`` spec's datetime (naive: a wall time of the task's zone).
        cron: a cron spec's five fields.
    """

    spec: str
    kind: str
    interval: timedelta | None = None
    at: datetime | None = None
    cron: str = ""
    stream: str = ""
    """An ``on`` spec's stream."""

    @property
    def triggered(self) -> bool:
        """Whether rows start its runs, not times (``on`` and ``sql``)."""
        return self.kind in ("on", "sql")

    @property
    def one_shot(self) -> bool:
        """Whether the schedule runs once (``at`` and ``in``)."""
        return self.kind in ("at", "in")

    @property
    def wildcard(self) -> bool:
        """A cron spec with ``*`` in its minute or hour field (follows the wall clock
        through DST changes instead of running once at its fixed time)."""
        fields = self.cron.split()
        return bool(fields) and (fields[0].startswith("*") or fields[1].startswith("*"))

    def next_after(
        self, after: datetime, tz: tzinfo, defined_at: datetime | None = None
    ) -> datetime | None:
        """The first run strictly after ``after`` (aware), as an aware datetime in ``tz``;
        None when a one-shot schedule has no run left.

        ``defined_at`` is when the schedule was set: ``every`` runs at ``defined_at + k *
        interval`` (k >= 1) and ``in`` once at ``defined_at + interval``; without it they
        count from ``after``.
        """
        after = _utc(after)
        if self.triggered:
            return None
        if self.kind == "cron":
            nxt = self._cron_next(after, tz)
        elif self.kind == "every":
            assert self.interval is not None
            anchor = _utc(defined_at) if defined_at else after
            if anchor + self.interval > after:
                nxt = anchor + self.interval
            else:
                steps = (after - anchor) // self.interval + 1
                nxt = anchor + steps * self.interval
        elif self.kind == "in":
            assert self.interval is not None
            when = (_utc(defined_at) if defined_at else after) + self.interval
            nxt = when if when > after else None
        else:
            when = self.when(tz)
            nxt = when if when > after else None
        return nxt.astimezone(tz) if nxt is not None else None

    def once_at(self, tz: tzinfo, defined_at: datetime) -> datetime:
        """A one-shot schedule's run (aware, in ``tz``), past or not: ``at``'s instant,
        or ``defined_at`` + the ``in`` duration."""
        if self.kind == "in":
            assert self.interval is not None
            return (_utc(defined_at) + self.interval).astimezone(tz)
        return self.when(tz).astimezone(tz)

    def when(self, tz: tzinfo) -> datetime:
        """An ``at`` spec's instant (UTC): an offset in the spec wins, else a wall time of
        ``tz`` (a skipped time: the jump; a repeated one: its first pass)."""
        assert self.at is not None
        if self.at.tzinfo is not None:
            return _utc(self.at)
        return wall_instants(self.at, tz)[0]

    def _cron_next(self, after: datetime, tz: tzinfo) -> datetime | None:
        """Walk the cron's wall times and map each to its instants; the smallest instant
        after ``after`` wins. Within 3 h of a DST change the walk starts 3 h early (a
        repeated hour maps earlier wall times to later instants) and goes on until 3 h
        past the first hit."""
        from croniter import croniter

        def offset(t: datetime) -> timedelta | None:
            return t.astimezone(tz).utcoffset()

        wall = after.astimezone(tz).replace(tzinfo=None)
        near = offset(after - _MAX_SHIFT) != offset(after + _MAX_SHIFT)
        it = croniter(self.cron, wall - _MAX_SHIFT if near else wall)
        best: datetime | None = None
        for _ in range(_CRON_SCAN):
            try:
                cand: datetime = it.get_next(datetime)
            except Exception:  # croniter found no further date (e.g. "0 0 31 2 *")
                break
            for inst in wall_instants(cand, tz, both_passes=self.wildcard):
                if inst > after and (best is None or inst < best):
                    best = inst
            if best is not None and (
                offset(best - _MAX_SHIFT) == offset(best + _MAX_SHIFT)
                or cand > best.astimezone(tz).replace(tzinfo=None) + _MAX_SHIFT
            ):
                break
        return best

    def min_gap(self, tz: tzinfo, start: datetime, runs: int = 8) -> timedelta | None:
        """The shortest time between the next ``runs`` runs after ``start``; None for a
        one-shot schedule."""
        if self.one_shot or self.triggered:
            return None
        if self.kind == "every":
            return self.interval
        times: list[datetime] = []
        t: datetime | None = start
        for _ in range(runs):
            assert t is not None
            t = self.next_after(t, tz)
            if t is None:
                break
            times.append(t)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        return min(gaps) if gaps else None


def _cut(text: str) -> str:
    """``repr(text)`` cut to 60 characters, for error messages."""
    shown = repr(text)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _bad(spec: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid schedule {_cut(spec)}: {why}. Valid examples: {EXAMPLES}")


def check_at(spec: str, text: str, when: datetime) -> None:
    """Refuse an ``at`` time outside ``AT_EARLIEST``..``AT_LATEST``: its wall time when it
    has no offset (so it exists in every zone), else its instant in UTC (so it can be
    shown in every zone).

    Raises:
        InvalidArgument: out of range; the message names the time and the range.
    """
    if when.tzinfo is None:
        ok = AT_EARLIEST.replace(tzinfo=None) <= when <= AT_LATEST.replace(tzinfo=None)
    else:
        try:
            ok = AT_EARLIEST <= when.astimezone(UTC) <= AT_LATEST
        except OverflowError:  # beyond year 1..9999 in UTC
            ok = False
    if not ok:
        raise _bad(
            spec,
            f"{_cut(text)} is out of range: give a time from {AT_EARLIEST:%Y-%m-%dT%H:%M} to "
            f"{AT_LATEST:%Y-%m-%dT%H:%M} (UTC when it has an offset)",
        )


def parse(spec: str) -> Schedule:
    """Parse and validate a schedule spec.

    Raises:
        InvalidArgument: the spec is malformed or out of range (a duration over 100
            years, an ``at`` time outside ``AT_EARLIEST``..``AT_LATEST``); the message
            names the value, says what is wrong and shows valid examples.
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
        except InvalidArgument as e:
            why = (
                e.message
                if "too long" in e.message
                else (f"{_cut(rest)} is not a duration (use e.g. 90s, 15m, 2h, 1h30m, 1d)")
            )
            raise _bad(spec, why) from None
        if head == "every" and interval.total_seconds() < MIN_INTERVAL_S:
            raise _bad(spec, f"the shortest interval is {MIN_INTERVAL_S}s")
        if interval.total_seconds() <= 0:
            raise _bad(spec, "the duration must be positive")
        return Schedule(text, head, interval=interval)
    if head == "on":
        from pulsed.store.schema import STREAMS

        if rest not in STREAMS:
            raise _bad(spec, f"{_cut(rest)} is not a stream (streams: {', '.join(STREAMS)})")
        return Schedule(text, "on", stream=rest)
    if head == "sql":
        if not rest:
            raise _bad(spec, '"sql" needs a streaming query such as SELECT * FROM ingest')
        return Schedule(text, "sql")
    if head == "at":
        try:
            when = datetime.fromisoformat(rest.replace("Z", "+00:00"))
        except ValueError:
            raise _bad(
                spec, f"{_cut(rest)} is not an ISO 8601 datetime such as 2026-12-01T09:00"
            ) from None
        check_at(spec, rest, when)
        return Schedule(text, "at", at=when)
    fields = text.split(" ")
    if len(fields) != 5:
        raise _bad(
            spec,
            f"a cron spec has 5 fields (minute hour day-of-month month day-of-week), "
            f"this has {len(fields)}",
        )
    from croniter import croniter

    # The fields are checked first so a refusal names what is wrong; croniter has the
    # last word on validity, so every spec it accepts (and stored tasks use) still parses.
    problem = cron_problem(fields)
    if not croniter.is_valid(text):
        raise _bad(spec, problem or "not a valid cron expression")
    return Schedule(text, "cron", cron=text)


@dataclass(frozen=True)
class CronField:
    """One field of a 5-field cron spec: its name in messages, its range, and the
    names it accepts besides numbers (months, weekdays)."""

    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day of month", 1, 31),
    CronField("month", 1, 12, _MONTHS),
    CronField("day of week", 0, 7, _DAYS),
)
"""The fields in order, with their ranges as cron(5) gives them (0 and 7 are Sunday)."""
_EXTENSIONS = frozenset("LW#")
"""croniter's extensions (``L`` last, ``15W`` nearest weekday, ``5#3`` third Friday):
an item holding one is left to croniter."""


def cron_problem(fields: list[str]) -> str:
    """What is wrong with the five fields of a cron spec, naming the field, the value
    and the allowed range (``minute 61 out of range 0–59``); "" when nothing is found.

    Only the forms of cron(5) are checked: lists, ranges, steps, ``*``, month and
    weekday names; an item using one of croniter's extensions is left to croniter.
    """
    for text, f in zip(fields, CRON_FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, text, f)
            if problem:
                return problem
    return ""


def _item_problem(item: str, text: str, f: CronField) -> str:
    """What is wrong with one comma-separated item of field ``f`` ("" when nothing)."""
    if not item:
        return f'{f.name}: empty item in "{text}"'
    if _EXTENSIONS & set(item.upper()):
        return ""
    base, slash, step = item.partition("/")
    if slash:
        if "/" in step:
            return f'{f.name}: "{item}" has more than one step (/)'
        if not step.isdigit() or int(step) < 1:
            shown = step or "(none)"
            return f'{f.name}: step {shown} in "{item}" must be a whole number of at least 1'
        if not base:
            return f'{f.name}: "{item}" needs * or a value before the /'
    if base == "*" or (base == "?" and f.name.startswith("day")):
        return ""
    lo_text, dash, hi_text = base.partition("-")
    for value in (lo_text, hi_text) if dash else (base,):
        problem = _value_problem(value, f)
        if problem:
            return problem
    return ""


def _value_problem(value: str, f: CronField) -> str:
    """What is wrong with one value (a number or a name) of field ``f``."""
    allowed = f"{f.lo}–{f.hi}" + (f" or {f.names[0]}–{f.names[-1]}" if f.names else "")
    if value.isdigit():
        n = int(value)
        return "" if f.lo <= n <= f.hi else f"{f.name} {n} out of range {f.lo}–{f.hi}"
    if f.names and value.isalpha():
        if value.upper() in f.names:
            return ""
        return f"{f.name}: unknown name {value.upper()} (use {allowed})"
    shown = value if value else "(nothing)"
    return f'{f.name}: "{shown}" is not a number (use {allowed})'


def preview(spec: str, tz_name: str, count: int = 3, now: datetime | None = None) -> list[datetime]:
    """The next ``count`` runs of ``spec`` in zone ``tz_name`` after ``now`` (default: the
    current time), as if the task were defined now; fewer for a one-shot, none when its
    time has passed.

    Raises:
        InvalidArgument: bad spec or zone (the message says what is wrong).
    """
    sched = parse(spec)
    tz = zone(tz_name)
    if sched.triggered:
        return []
    start = now or datetime.now(UTC)
    runs: list[datetime] = []
    after = start
    while len(runs) < count:
        nxt = sched.next_after(after, tz, defined_at=start)
        if nxt is None or (sched.one_shot and runs):
            break
        runs.append(nxt)
        after = nxt
    return runs
