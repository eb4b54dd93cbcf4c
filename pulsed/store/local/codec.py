"""Rows of the local store: Python values <-> what SQLite holds, per stream.

A ``Codec`` is derived once per stream from ``pulsed.store.schema``: the INSERT and
SELECT text (identifiers quoted by ``quote``, names from the schema only) and one value
encoder and decoder per column. Stored forms: string and datetime as TEXT (datetimes as
schema text, ``2026-11-21T09:00:00.000Z``), int as INTEGER, bool as INTEGER 0/1, float as
REAL, json and array columns as compact JSON TEXT.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pulsed.errors import StoreError
from pulsed.store.base import Row, bad_value, now_iso, parse_iso, prepare_row, to_iso
from pulsed.store.schema import Column, Stream

JSON_TYPES = ("json", "array(string)", "array(float)")
"""Schema types stored as JSON text."""
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_UUID_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_MUTABLE = object()
"""Default marker of json and array columns: a fresh default value per row."""


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (names come from the schema module only)."""
    return '"' + name.replace('"', '""') + '"'


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (how json columns are stored).

    Raises:
        TypeError, ValueError: ``value`` is not JSON-serialisable.
    """
    if not value and type(value) in (dict, list, tuple):
        return "{}" if type(value) is dict else "[]"
    return _JSON.encode(value)


def encoder(stream: str, col: Column) -> Callable[[Any], Any]:
    """A function turning a row value of ``col`` into what SQLite stores.

    The function raises InvalidArgument when the value does not fit the column's type
    (bools are not ints; ints are floats; datetimes are ISO 8601 text or ``datetime``).
    """
    t = col.type

    if t == "string":

        def enc(v: Any) -> Any:
            if type(v) is str:
                return v
            raise bad_value(stream, col, v)

    elif t == "int":

        def enc(v: Any) -> Any:
            if type(v) is int:
                return v
            if isinstance(v, int) and not isinstance(v, bool):
                return int(v)
            raise bad_value(stream, col, v)

    elif t == "float":

        def enc(v: Any) -> Any:
            if type(v) is float:
                return v
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
            raise bad_value(stream, col, v)

    elif t == "bool":

        def enc(v: Any) -> Any:
            if isinstance(v, bool):
                return int(v)
            raise bad_value(stream, col, v)

    elif t == "datetime":

        def enc(v: Any) -> Any:
            if type(v) is str:
                if _ISO_RE.fullmatch(v) or v == "":
                    return v
                return to_iso(parse_iso(v))
            if isinstance(v, datetime):
                return to_iso(v)
            raise bad_value(stream, col, v)

    elif t == "json":

        def enc(v: Any) -> Any:
            try:
                return dumps(v)
            except (TypeError, ValueError):
                raise bad_value(stream, col, v) from None

    elif t in ("array(string)", "array(float)"):
        want = str if t == "array(string)" else (int, float)

        def enc(v: Any) -> Any:
            if isinstance(v, list | tuple) and all(
                isinstance(x, want) and not isinstance(x, bool) for x in v
            ):
                return dumps(list(v))
            raise bad_value(stream, col, v)

    else:  # pragma: no cover - schema.TYPES is closed
        raise StoreError(f"column {stream}.{col.name} has unknown type {t!r}")
    return enc


def decoder(col: Column) -> Callable[[Any], Any] | None:
    """A function turning a stored value back into the Python value (None = as stored)."""
    default = col.default_value()
    if col.type in JSON_TYPES:
        return lambda v: default if v is None else json.loads(v)
    if col.type == "bool":
        return lambda v: default if v is None else bool(v)
    return None


def as_stored(col: Column, value: Any) -> Any:
    """A Python row value as SQLite holds it (for matching live rows like SQL does)."""
    if col.type in JSON_TYPES:
        return dumps(value)
    if col.type == "bool":
        return int(bool(value))
    return value


class Fresh:
    """Per-batch source of default ids and timestamps (cheaper than one call per row)."""

    __slots__ = ("_now", "_hex", "_next")

    def __init__(self) -> None:
        self._now = ""
        self._hex = ""
        self._next = 0

    def now(self) -> str:
        """The batch's timestamp (schema datetime text), taken at the first call."""
        if not self._now:
            self._now = now_iso()
        return self._now

    def new_id(self) -> str:
        """A random UUID4 text, from one urandom call per 64 ids."""
        if self._next >= len(self._hex):
            self._hex = os.urandom(16 * 64).hex()
            self._next = 0
        h = self._hex[self._next : self._next + 32]
        self._next += 32
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class _NoFastPath:
    """A type no value has: columns whose values always go through their encoder."""


class Codec:
    """One stream's SQL text and value conversion, derived from the schema.

    Attributes:
        table: the quoted table name.
        names: the column names in schema order.
        insert_sql: ``INSERT`` of one row, a ``?`` per column in ``names`` order.
        select_cols: ``seq`` and every column, the select list ``decode`` reads.
    """

    def __init__(self, s: Stream) -> None:
        self.stream = s
        self.name = s.name
        self.table = quote(s.name)
        self.names = s.column_names
        self.name_set = frozenset(self.names)
        self.decoders = [decoder(c) for c in s.columns]
        fast: dict[str, type] = {"string": str, "int": int, "float": float}
        self.spec: list[tuple[str, type, Callable[[Any], Any], Any, Column, bool]] = []
        for c in s.columns:
            if c.name in ("id", "timestamp"):
                default: Any = None
            elif c.type in JSON_TYPES:
                default = _MUTABLE
            else:
                default = c.default_value()
            self.spec.append(
                (
                    c.name,
                    fast.get(c.type, _NoFastPath),
                    encoder(s.name, c),
                    default,
                    c,
                    c.type == "datetime",
                )
            )
        cols = ", ".join(quote(n) for n in self.names)
        marks = ", ".join("?" for _ in self.names)
        self.insert_sql = f"INSERT INTO {self.table} ({cols}) VALUES ({marks})"
        self.select_cols = "seq, " + cols

    def prepare(
        self, raw: Mapping[str, Any], fresh: Fresh
    ) -> tuple[dict[str, Any], tuple[Any, ...]]:
        """A row's Python values and stored values: ``base.prepare_row`` plus type checks.

        Unknown columns are refused, omitted ones get defaults (``id`` a new UUID,
        ``timestamp`` now), datetimes are normalised to schema text.

        Raises:
            InvalidArgument: an unknown column, or a value that does not fit its column.
        """
        if not self.name_set.issuperset(raw):
            prepare_row(self.stream, raw)  # raises, naming the column
        values: dict[str, Any] = {}
        params: list[Any] = []
        for name, fast, enc, default, col, is_dt in self.spec:
            v = raw.get(name)
            if default is None:
                if not v:
                    v = fresh.new_id() if name == "id" else fresh.now()
            elif v is None:
                v = col.default_value() if default is _MUTABLE else default
            if type(v) is fast:
                values[name] = v
                params.append(v)
                continue
            stored = enc(v)
            values[name] = stored if is_dt else v
            params.append(stored)
        return values, tuple(params)

    def decode(self, rec: Sequence[Any]) -> Row:
        """A Row from a record read with ``select_cols`` (seq first)."""
        values = {
            n: dec(v) if dec else v
            for n, dec, v in zip(self.names, self.decoders, rec[1:], strict=True)
        }
        return Row(self.name, rec[0], values)
