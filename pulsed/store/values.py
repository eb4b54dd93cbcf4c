"""Values of the store contract as people type them: schema datetime text and filter
values converted to a column's type, refused with InvalidArgument (naming the value and
the range) when they cannot be stored or compared, before any backend binds them.

The ranges every backend accepts: int columns hold signed 64-bit integers
(``INT64_MIN``..``INT64_MAX``), floats are compared as IEEE doubles (NaN is refused: it
equals nothing, not even itself), datetimes are instants that exist in UTC from
0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z (Python's datetime range; an offset
that moves a time across either end is refused), and sequence numbers are
0..``INT64_MAX``. ``pulsed.store.base`` re-exports these names.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from pulsed.errors import InvalidArgument
from pulsed.store.schema import Column

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""The range of int columns (SQLite INTEGER, Timeplus int64) and of sequence numbers."""
TIME_RANGE = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
"""The instants a datetime may name, as error messages state them."""
_SHOWN = 60
"""Most characters of a bad value an error message repeats."""


def shown(value: Any) -> str:
    """``repr(value)`` cut to 60 characters, for error messages."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def to_iso(dt: datetime) -> str:
    """``dt`` as schema datetime text (naive datetimes are taken as UTC).

    Raises:
        InvalidArgument: ``dt`` with its offset lies outside the UTC range
            (``TIME_RANGE``), e.g. 9999-12-31T23:59:59-14:00.
    """
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except OverflowError:
        raise InvalidArgument(
            f"{dt.isoformat()} is out of range: times must lie within {TIME_RANGE}"
        ) from None
    # Not strftime: its %Y writes year 1 as "1", and schema text must sort as it reads.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:"
        f"{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 text to an aware datetime (no zone = UTC) that exists in UTC.

    Raises:
        InvalidArgument: not an ISO 8601 datetime, or one whose offset moves it outside
            ``TIME_RANGE`` (``9999-12-31T23:59:59-14:00``, ``0001-01-01T00:00:00+14:00``).
    """
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"{shown(text)} is not an ISO 8601 datetime (e.g. 2026-11-21T09:00:00Z)"
        ) from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        dt.astimezone(UTC)
    except OverflowError:
        raise InvalidArgument(
            f"{shown(text)} is out of range: in UTC it falls outside {TIME_RANGE}"
        ) from None
    return dt


def check_int(what: str, value: int) -> int:
    """``value`` if it is within ``INT64_MIN``..``INT64_MAX``.

    ``what`` names the value in the message (a column, ``after seq``).

    Raises:
        InvalidArgument: it is not.
    """
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidArgument(f"{what}: {shown(value)} is out of range ({INT64_MIN}..{INT64_MAX})")
    return value


def convert_value(col: Column, text: Any, op: str) -> Any:
    """Convert a filter value (usually text from a client) to ``col``'s Python type.

    Raises:
        InvalidArgument: the value does not fit the column's type or its range (ints
            beyond 64 bits, NaN, datetimes outside ``TIME_RANGE``), or the operator
            does not apply to it. The message names the column and the value.
    """
    if op == "contains":
        return str(text)
    t = col.type
    if t in ("json", "array(string)", "array(float)") and op not in ("eq", "ne"):
        raise InvalidArgument(f"column {col.name} ({t}) only supports eq, ne and contains")
    try:
        if t == "int":
            return check_int(f"column {col.name} is int", int(text))
        if t == "float":
            v = float(text)
            if math.isnan(v):
                raise InvalidArgument(
                    f"column {col.name} is float: {shown(text)} is not a number "
                    "(NaN compares with nothing)"
                )
            return v
        if t == "bool":
            if isinstance(text, bool):
                return text
            low = str(text).lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if t == "datetime":
            dt = parse_iso(str(text))
            return to_iso(dt)
    except InvalidArgument as e:
        if e.message.startswith("column "):
            raise
        raise InvalidArgument(f"column {col.name} is {t}: {e.message}") from None
    except (ValueError, TypeError, OverflowError):
        raise InvalidArgument(f"column {col.name} is {t}: {shown(text)} does not fit") from None
    return str(text) if not isinstance(text, str) else text
