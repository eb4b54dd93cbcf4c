"""The pure parsing behind issue 17 item 5: out-of-range values are InvalidArgument naming
the value and the range, and the values at the very ends of the ranges still work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulsed import timeutil
from pulsed.errors import InvalidArgument
from pulsed.scheduling.spec import parse, preview
from pulsed.store import schema
from pulsed.store.base import TailStart, check_tail, norm_time
from pulsed.store.local.rollup import END_OF_TIME, ceil_hour
from pulsed.store.timeplus.codec import tp_bound
from pulsed.store.values import INT64_MAX, INT64_MIN, convert_value, parse_iso, to_iso

LLM = schema.stream("llm_logs")
TOKENS = LLM.column("input_tokens")
COST = LLM.column("estimated_cost_usd")
TS = LLM.column("timestamp")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [str(INT64_MAX + 1), str(INT64_MIN - 1), "9" * 20, pytest.param("9" * 5000, id="5000-digits")],
)
def test_int_filter_out_of_range(text: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        convert_value(TOKENS, text, "gt")
    assert "input_tokens" in ei.value.message
    assert text[:20] in ei.value.message and len(ei.value.message) < 200


def test_int_filter_ends() -> None:
    assert convert_value(TOKENS, str(INT64_MAX), "le") == INT64_MAX
    assert convert_value(TOKENS, str(INT64_MIN), "ge") == INT64_MIN


def test_float_filter_nan_refused_inf_kept() -> None:
    with pytest.raises(InvalidArgument, match="estimated_cost_usd.*'nan'"):
        convert_value(COST, "nan", "gt")
    assert convert_value(COST, "1e999", "lt") == float("inf")


@pytest.mark.parametrize(
    "text", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:30-00:31"]
)
def test_datetime_out_of_range(text: str) -> None:
    for call in (
        lambda: convert_value(TS, text, "gt"),
        lambda: parse_iso(text),
        lambda: norm_time(text, "since"),
    ):
        with pytest.raises(InvalidArgument) as ei:
            call()
        assert text in ei.value.message and "9999-12-31" in ei.value.message


def test_datetime_ends() -> None:
    assert convert_value(TS, "9999-12-31T23:59:59.999Z", "lt") == "9999-12-31T23:59:59.999Z"
    assert convert_value(TS, "0001-01-01T00:00:00+00:00", "gt") == "0001-01-01T00:00:00.000Z"
    assert convert_value(TS, "9999-12-31T10:00:00-13:59", "gt") == "9999-12-31T23:59:00.000Z"
    with pytest.raises(InvalidArgument, match="out of range"):
        to_iso(datetime(9999, 12, 31, 23, tzinfo=timeutil.zone("Etc/GMT+12")))


def test_tail_seq_range() -> None:
    assert check_tail(TailStart.after(INT64_MAX), 1).seq == INT64_MAX
    with pytest.raises(InvalidArgument, match=str(INT64_MAX + 1)):
        check_tail(TailStart.after(INT64_MAX + 1), 1)


def test_rollup_last_hour() -> None:
    assert ceil_hour("9999-12-31T23:59:59.000Z") == END_OF_TIME
    assert ceil_hour("9999-12-31T22:10:00.000Z") == "9999-12-31T23:00:00.000Z"
    assert END_OF_TIME > "9999-12-31T23:59:59.999Z"


def test_timeplus_bounds_clamped() -> None:
    assert tp_bound("9999-12-31T23:59:59.000Z") == "2299-12-31 23:59:59.999"
    assert tp_bound("0001-01-01T00:00:00.000Z") == "1900-01-01 00:00:00.000"
    assert tp_bound("2026-01-02T03:04:05.678Z") == "2026-01-02 03:04:05.678"


@pytest.mark.parametrize(
    "text",
    [
        "99999999999999999d",
        "9999999999999999999w",
        "36526d",
        pytest.param("9" * 5000 + "s", id="5000-digits"),
    ],
)
def test_duration_too_long(text: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        timeutil.parse_duration(text)
    assert "too long" in ei.value.message and "36525d" in ei.value.message
    assert text[:20] in ei.value.message and len(ei.value.message) < 200


def test_duration_longest() -> None:
    assert timeutil.parse_duration("36525d") == timedelta(days=36525)
    assert timeutil.parse_duration("90s", longest=timedelta(seconds=90)).total_seconds() == 90
    with pytest.raises(InvalidArgument, match="at most 60s"):
        timeutil.parse_duration("61s", longest=timedelta(seconds=60))


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("in 99999999999999999d", "99999999999999999d"),
        ("every 9999999999999999999w", "9999999999999999999w"),
        ("at 9999-12-31T23:59:59", "9999-12-31T23:59:59"),
        ("at 9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"),
        ("at 0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+14:00"),
        ("at 0001-01-01T12:00", "0001-01-01T12:00"),
    ],
)
def test_schedule_out_of_range(spec: str, needle: str) -> None:
    with pytest.raises(InvalidArgument) as ei:
        parse(spec)
    assert needle in ei.value.message and "Valid examples" in ei.value.message


@pytest.mark.parametrize("tz", ["Etc/GMT+12", "Etc/GMT-14", "UTC", "Pacific/Kiritimati"])
def test_schedule_ends_work_in_every_zone(tz: str) -> None:
    late = preview("at 9999-12-30T23:59:59", tz, now=NOW)
    assert [r.replace(tzinfo=None) for r in late] == [datetime(9999, 12, 30, 23, 59, 59)]
    assert preview("at 9999-12-30T23:59:59+00:00", tz, now=NOW)
    assert preview("at 0001-01-02T00:00", tz, now=NOW) == []  # in the past
    runs = preview("every 36525d", tz, count=50, now=NOW)
    assert len(runs) == 50 and runs[-1].year == 2026 + 5000
    assert preview("in 36525d", tz, now=NOW)[0].year == 2126


def test_timeplus_filter_binds_clamped_datetime() -> None:
    from pulsed.store.base import Filter, check_filters
    from pulsed.store.timeplus.filters import where_sql
    from pulsed.store.timeplus.sqlparts import Params

    checks = check_filters(LLM, [Filter("timestamp", "gt", "9999-12-31T23:59:59Z")])
    params = Params()
    assert where_sql(checks, params) == ["`timestamp` > {p0:datetime64(3, 'UTC')}"]
    assert params.values == {"p0": "2299-12-31 23:59:59.999"}
