"""Cron specs are checked field by field before croniter sees them, so an invalid one
says which field is wrong, its value and the allowed range (pure logic)."""

from __future__ import annotations

import pytest

from pulsed.errors import InvalidArgument
from pulsed.scheduling.spec import cron_problem, parse


def problem_of(spec: str) -> str:
    with pytest.raises(InvalidArgument) as err:
        parse(spec)
    message = err.value.message
    assert message.startswith(f"invalid schedule {spec!r}: ")
    assert "Valid examples:" in message
    return message.removeprefix(f"invalid schedule {spec!r}: ").split(". Valid examples:")[0]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("61 * * * *", "minute 61 out of range 0–59"),
        ("0 24 * * *", "hour 24 out of range 0–23"),
        ("0 9 0 * *", "day of month 0 out of range 1–31"),
        ("0 9 32 * *", "day of month 32 out of range 1–31"),
        ("0 9 * 13 *", "month 13 out of range 1–12"),
        ("0 9 * * 8", "day of week 8 out of range 0–7"),
        ("0-70 * * * *", "minute 70 out of range 0–59"),
        ("0 9,25 * * *", "hour 25 out of range 0–23"),
        ("*/0 * * * *", 'minute: step 0 in "*/0" must be a whole number of at least 1'),
        ("0 */x * * *", 'hour: step x in "*/x" must be a whole number of at least 1'),
        ("0 9 * FOO *", "month: unknown name FOO (use 1–12 or JAN–DEC)"),
        ("0 9 * * foo", "day of week: unknown name FOO (use 0–7 or SUN–SAT)"),
        ("0 9 * * monday", "day of week: unknown name MONDAY (use 0–7 or SUN–SAT)"),
        ("x 9 * * *", 'minute: "x" is not a number (use 0–59)'),
        ("1,,2 * * * *", 'minute: empty item in "1,,2"'),
        ("/5 * * * *", 'minute: "/5" needs * or a value before the /'),
        ("1/2/3 * * * *", 'minute: "1/2/3" has more than one step (/)'),
        (
            "0 9 * *",
            "a cron spec has 5 fields (minute hour day-of-month month day-of-week), this has 4",
        ),
        (
            "0 9 * * * *",
            "a cron spec has 5 fields (minute hour day-of-month month day-of-week), this has 6",
        ),
    ],
)
def test_an_invalid_field_is_named_with_its_value_and_range(spec: str, why: str) -> None:
    assert problem_of(spec) == why


@pytest.mark.parametrize(
    "spec",
    [
        "0 9 * * *",
        "*/15 * * * *",
        "0-59/5 0-23 1-31 1-12 0-7",
        "30 7 * * 1-5",
        "0 9 * jan-mar/2 mon-fri",
        "0 9 * * SUN,7",
        "0 0 L * *",
        "0 0 15W * *",
        "0 0 * * 5#3",
        "0 0 ? * *",
        "5-1 * * * *",
        "*/60 * * * *",
        "0 0 31 2 *",
    ],
)
def test_forms_croniter_accepts_still_parse(spec: str) -> None:
    assert parse(spec).kind == "cron"
    assert cron_problem(spec.split()) == "" or "L" in spec or "W" in spec


def test_an_extension_croniter_refuses_gets_the_general_message() -> None:
    assert problem_of("0 0 * * 5#6") == "not a valid cron expression"
