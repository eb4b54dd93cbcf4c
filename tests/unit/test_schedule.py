"""Schedule specs: parsing, errors with examples, next-run computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulsed import timeutil
from pulsed.errors import InvalidArgument
from pulsed.scheduling.spec import parse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("7d", 604800), ("1w", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert timeutil.parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5x", "-5m", "five minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidArgument):
        timeutil.parse_duration(text)


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("0 9 * * *", "cron"),
        ("*/5 * * * 1-5", "cron"),
        ("every 30m", "every"),
        ("in 2h", "in"),
        ("at 2026-12-01T09:00", "at"),
        ("  every   10s ", "every"),
    ],
)
def test_valid_specs(spec: str, kind: str) -> None:
    assert parse(spec).kind == kind


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "empty"),
        ("every 5s", "shortest interval"),
        ("every", "needs a duration"),
        ("every soon", "not a duration"),
        ("at tomorrow", "not an ISO 8601"),
        ("0 9 * *", "5 fields"),
        ("61 9 * * *", "minute 61 out of range 0–59"),
        ("'; DROP TABLE tasks; --", "minute: "),
    ],
)
def test_invalid_specs_explain_and_show_examples(spec: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        parse(spec)
    assert why in ei.value.message
    assert "every 30m" in ei.value.message  # shows valid examples


def test_cron_next_in_zone() -> None:
    tz = ZoneInfo("Europe/Paris")
    after = datetime(2026, 11, 21, 10, 0, tzinfo=tz)
    nxt = parse("0 9 * * *").next_after(after, tz)
    assert nxt == datetime(2026, 11, 22, 9, 0, tzinfo=tz)


def test_every_anchored_on_definition() -> None:
    tz = ZoneInfo("UTC")
    defined = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    s = parse("every 30m")
    assert s.next_after(defined + timedelta(minutes=45), tz, defined) == defined + timedelta(
        minutes=60
    )


def test_one_shots() -> None:
    tz = ZoneInfo("UTC")
    defined = datetime(2026, 1, 1, tzinfo=UTC)
    s = parse("in 2h")
    assert s.one_shot
    assert s.next_after(defined, tz, defined) == defined + timedelta(hours=2)
    assert s.next_after(defined + timedelta(hours=3), tz, defined) is None
    at = parse("at 2026-12-01T09:00")
    assert at.next_after(defined, tz) == datetime(2026, 12, 1, 9, 0, tzinfo=tz)


def test_zone() -> None:
    assert str(timeutil.zone("Europe/Paris")) == "Europe/Paris"
    with pytest.raises(InvalidArgument, match="unknown time zone"):
        timeutil.zone("Mars/Olympus")
