"""Row values of the Timeplus backend: Python <-> Timeplus (JSONEachRow).

Type mapping (schema type → Timeplus type): string → string, int → int64, float →
float64, bool → bool, datetime → datetime64(3, 'UTC') (sent and read as
``2026-11-21 09:00:00.123``, held in rows as schema text ``2026-11-21T09:00:00.123Z``),
json → string (compact JSON text, as the local store keeps it), array(string) →
array(string), array(float) → array(float64). Rows also carry ``seq`` (``SEQ``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pulsed.errors import StoreError
from pulsed.store.base import bad_value, not_a_row, parse_iso, prepare_row, to_iso
from pulsed.store.schema import Column, Stream
from pulsed.store.timeplus.sqlparts import SEQ

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def tp_datetime(iso: str) -> str:
    """Schema datetime text (ISO 8601, Z) as Timeplus datetime64(3) text.

    ``2026-11-21T09:00:00.123Z`` → ``2026-11-21 09:00:00.123``; '' → the epoch.
    """
    if not iso:
        return "1970-01-01 00:00:00.000"
    return iso[:10] + " " + iso[11:23]


TP_EARLIEST = "1900-01-01T00:00:00.000Z"
TP_LATEST = "2299-12-31T23:59:59.999Z"
"""The range of Timeplus' datetime64(3) (schema datetime text)."""


def tp_bound(iso: str) -> str:
    """A datetime to compare with (a filter value or a time bound; schema text, which the
    contract allows from year 1 to 9999) as Timeplus datetime64(3) text, clamped to the
    type's range (1900 to 2299), which holds every value Timeplus stores: comparisons
    keep their result (but for a row stored at the very edge of the range) and Timeplus
    is never sent a value it cannot parse."""
    if iso and iso < TP_EARLIEST:
        iso = TP_EARLIEST
    elif iso > TP_LATEST:
        iso = TP_LATEST
    return tp_datetime(iso)


def iso_datetime(text: str) -> str:
    """Timeplus datetime64 text (``2026-11-21 09:00:00.123``) as schema datetime text."""
    if len(text) >= 19 and text[10] == " ":
        frac = (text[20:23] if len(text) > 19 else "").ljust(3, "0")
        return f"{text[:10]}T{text[11:19]}.{frac}Z"
    return to_iso(parse_iso(text))


def dumps(value: Any) -> str:
    """Compact JSON text (how json columns are stored)."""
    return _JSON.encode(value)


def check_value(stream: str, col: Column, v: Any) -> Any:
    """``v`` checked against ``col``'s type, as the Python value a Row holds.

    Raises:
        InvalidArgument: it does not fit.
    """
    t = col.type
    if t == "string":
        if isinstance(v, str):
            return v
    elif t == "int":
        if isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63:
            return int(v)
    elif t == "float":
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    elif t == "bool":
        if isinstance(v, bool):
            return v
    elif t == "datetime":
        if isinstance(v, datetime):
            return to_iso(v)
        if isinstance(v, str):
            return to_iso(parse_iso(v)) if v else v
    elif t == "json":
        try:
            _JSON.encode(v)
        except (TypeError, ValueError):
            raise bad_value(stream, col, v) from None
        return v
    elif t in ("array(string)", "array(float)"):
        want: Any = str if t == "array(string)" else (int, float)
        if isinstance(v, list | tuple) and all(
            isinstance(x, want) and not isinstance(x, bool) for x in v
        ):
            return [float(x) for x in v] if t == "array(float)" else list(v)
    raise bad_value(stream, col, v)


def prepare(
    stream: Stream, raw: Mapping[str, Any], now: str, new_id: Callable[[], str]
) -> dict[str, Any]:
    """A complete, type-checked row: unknown columns refused, defaults filled in (``id``
    from ``new_id()``, ``timestamp`` ``now``, schema datetime text).

    Raises:
        InvalidArgument: not a mapping, an unknown column or a value that does not fit.
    """
    if not isinstance(raw, Mapping):
        raise not_a_row(raw)
    names = stream.column_names
    for k in raw:
        if k not in names:
            prepare_row(stream, raw)  # raises, naming the column
    out: dict[str, Any] = {}
    for col in stream.columns:
        v = raw.get(col.name)
        if v is None or (col.name in ("id", "timestamp") and v == ""):
            if col.name == "id":
                v = new_id()
            elif col.name == "timestamp":
                v = now
            else:
                v = col.default_value()
        out[col.name] = check_value(stream.name, col, v)
    return out


def encode_row(stream: Stream, values: Mapping[str, Any], seq: int) -> dict[str, Any]:
    """A row's Python values as a JSONEachRow object for Timeplus."""
    out: dict[str, Any] = {}
    for col in stream.columns:
        v = values[col.name]
        if col.type == "json":
            v = dumps(v)
        elif col.type == "datetime":
            v = tp_datetime(v)
        elif col.type == "float" and (math.isnan(v) or math.isinf(v)):
            v = None  # JSON has no NaN; Timeplus reads null as the type's default
        out[col.name] = v
    out[SEQ] = seq
    return out


def decode_row(stream: Stream, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A JSONEachRow object from Timeplus as the row's Python values.

    Raises:
        StoreError: a column is missing or cannot be read.
    """
    out: dict[str, Any] = {}
    try:
        for col in stream.columns:
            v = obj.get(col.name)
            t = col.type
            if v is None:
                v = col.default_value()
            elif t == "int":
                v = int(v)  # 64-bit integers arrive quoted
            elif t == "float":
                v = float(v)
            elif t == "bool":
                v = v if isinstance(v, bool) else str(v).lower() in ("true", "1")
            elif t == "datetime":
                v = iso_datetime(str(v))
            elif t == "json":
                v = json.loads(v) if isinstance(v, str) else v
            elif t == "array(float)":
                v = [float(x) for x in v]
            elif t == "array(string)":
                v = [str(x) for x in v]
            elif not isinstance(v, str):
                v = str(v)
            out[col.name] = v
    except (TypeError, ValueError) as e:
        raise StoreError(
            f"Timeplus returned a row of {stream.name} Pulse cannot read: {e}"
        ) from None
    return out


def seq_of(obj: Mapping[str, Any]) -> int:
    """The ``seq`` of a result row (64-bit integers arrive quoted)."""
    return int(obj.get(SEQ) or 0)


def rows_to_json(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as a JSONEachRow insert body."""
    return b"".join(_JSON.encode(r).encode() + b"\n" for r in rows)


def now_tp() -> str:
    """The current UTC time as Timeplus datetime64(3) text."""
    return tp_datetime(to_iso(datetime.now(UTC)))
