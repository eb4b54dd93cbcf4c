"""Rows of the local store: Python values <-> what SQLite holds, per stream.

A ``Codec`` is derived once per stream from ``pulsed.store.schema``: the INSERT and
SELECT text (identifiers quoted by ``quote``, names from the schema only), one value
encoder and decoder per column, and ``prepare``, a function generated for the stream
that checks and encodes a row in straight-line code (one branch per column, no loop),
since appends of large batches spend most of their time there; batches of plain dicts
go a column at a time instead (``columns.ColumnPrep``), with this as the reference and
the fallback. ``chunks`` splits a batch into multi-row INSERTs. Stored forms: string and
datetime as TEXT (datetimes as schema text, ``2026-11-21T09:00:00.000Z``), int as
INTEGER, bool as INTEGER 0/1, float as REAL, json and array columns as compact JSON TEXT.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import chain
from json.encoder import encode_basestring
from typing import Any

from pulsed.errors import StoreError
from pulsed.store.base import Row, bad_value, not_a_row, now_iso, parse_iso, prepare_row, to_iso
from pulsed.store.local.columns import ColumnPrep
from pulsed.store.schema import Column, Stream

JSON_TYPES = ("json", "array(string)", "array(float)")
"""Schema types stored as JSON text."""
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_quote_str = encode_basestring
"""A str as a JSON string, UTF-8 kept: the function ``_JSON`` quotes strings with."""
_UUID_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_UUID_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
"""Byte 6 of a UUID4: its high nibble the version, 4."""
_UUID_VARIANT_RFC = bytes((b & 0x3F) | 0x80 for b in range(256))
"""Byte 8 of a UUID4: its two high bits the variant, 10."""
_UUID_GROUPS = re.compile(r"(.{8})(.{4})(.{4})(.{4})(.{12})")
"""A UUID's 32 hex digits in its 8-4-4-4-12 groups."""
INSERT_CHUNK = 128
"""Rows per multi-row INSERT at most (a power of two: a batch is inserted in chunks of
128, 64, ..., 1 rows, so each stream has eight statement texts, all in the statement
cache). One statement per chunk opens the table's and indexes' cursors once per chunk,
not once per row, and SQLite then inserts the whole chunk without holding the GIL."""


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

    elif t == "array(string)":

        def enc(v: Any) -> Any:
            if type(v) is list or type(v) is tuple:
                if not v:
                    return "[]"
                try:  # what _JSON.encode gives, in C; TypeError: an element not a str
                    return "[" + ",".join(map(_quote_str, v)) + "]"
                except TypeError:
                    raise bad_value(stream, col, v) from None
            raise bad_value(stream, col, v)

    elif t == "array(float)":
        want = (int, float)

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

    def new_ids(self, k: int) -> list[str]:
        """``k`` random UUID4 texts (RFC 9562: version nibble 4, variant bits 10), from
        one urandom call, with the bits set and the text cut by C loops."""
        raw = bytearray(os.urandom(16 * k))
        raw[6::16] = raw[6::16].translate(_UUID_VERSION_4)
        raw[8::16] = raw[8::16].translate(_UUID_VARIANT_RFC)
        return list(map("-".join, _UUID_GROUPS.findall(raw.hex())))


def _prepare_source(s: Stream) -> str:
    """Python source of ``prepare(raw, fresh) -> (values, params)`` for stream ``s``:
    per column, take the value or its default, keep it when it has the column's plain
    type, else encode it (``e<i>``, which raises for a value that does not fit).
    Column names are written as string literals (``repr``); they come from the schema."""
    body = ["def prepare(raw, fresh):", "    get = raw.get"]
    py: list[str] = []
    stored: list[str] = []
    for i, c in enumerate(s.columns):
        v, name = f"v{i}", repr(c.name)
        body.append(f"    {v} = get({name})")
        if c.name == "id":
            body += [f"    if not {v}:", f"        {v} = fresh.new_id()"]
            body += [f"    elif type({v}) is not str:", f"        {v} = e{i}({v})"]
            py.append(v)
            stored.append(v)
        elif c.name == "timestamp":
            body += [f"    if not {v}:", f"        {v} = fresh.now()"]
            body += [f"    elif type({v}) is not str or not _iso({v}):", f"        {v} = e{i}({v})"]
            py.append(v)
            stored.append(v)
        elif c.type in ("string", "int", "float"):
            plain = {"string": "str", "int": "int", "float": "float"}[c.type]
            body += [f"    if type({v}) is not {plain}:"]
            body += [f"        {v} = d{i} if {v} is None else e{i}({v})"]
            py.append(v)
            stored.append(v)
        elif c.type == "datetime":
            body += [f"    if {v} is None:", f"        {v} = d{i}"]
            body += [f"    elif type({v}) is not str or ({v} and not _iso({v})):"]
            body += [f"        {v} = e{i}({v})"]
            py.append(v)
            stored.append(v)
        elif c.type == "bool":
            body += [f"    if {v} is None:", f"        {v} = d{i}"]
            body += [f"    s{i} = e{i}({v})"]
            py.append(v)
            stored.append(f"s{i}")
        elif c.default is not None:  # json or array with a default of its own
            body += [f"    if {v} is None:", f"        {v} = _copy(d{i})"]
            body += [f"    s{i} = e{i}({v})"]
            py.append(v)
            stored.append(f"s{i}")
        else:  # json and arrays: a fresh empty default per row; stored as JSON text
            empty = "{}" if c.type == "json" else "[]"
            body += [f"    if {v} is None:", f"        {v} = {empty}", f"        s{i} = {empty!r}"]
            body += ["    else:", f"        s{i} = e{i}({v})"]
            py.append(v)
            stored.append(f"s{i}")
    pairs = ", ".join(f"{c.name!r}: {v}" for c, v in zip(s.columns, py, strict=True))
    body.append(f"    return {{{pairs}}}, ({', '.join(stored)},)")
    return "\n".join(body) + "\n"


Prepare = Callable[[Mapping[str, Any], "Fresh"], tuple[dict[str, Any], tuple[Any, ...]]]
"""A stream's generated row preparation: (a row, its batch's Fresh) -> (values, params)."""


def _compile_prepare(s: Stream) -> Prepare:
    """The generated ``prepare`` of stream ``s`` (see ``_prepare_source``)."""
    env: dict[str, Any] = {"_iso": _ISO_RE.fullmatch, "_copy": copy.deepcopy}
    for i, c in enumerate(s.columns):
        env[f"e{i}"] = encoder(s.name, c)
        env[f"d{i}"] = c.default_value()
    exec(compile(_prepare_source(s), f"<prepare {s.name}>", "exec"), env)  # noqa: S102
    fn: Prepare = env["prepare"]
    return fn


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
        self._prepare = _compile_prepare(s)
        self._columns = ColumnPrep(s, [encoder(s.name, c) for c in s.columns], _ISO_RE.fullmatch)
        cols = ", ".join(quote(n) for n in self.names)
        marks = ", ".join("?" for _ in self.names)
        self.insert_sql = f"INSERT INTO {self.table} ({cols}) VALUES ({marks})"
        self.select_cols = "seq, " + cols
        group = f"({marks})"
        self._insert_rows = {
            k: f"INSERT INTO {self.table} ({cols}) VALUES " + ", ".join([group] * k)
            for k in (2**i for i in range(INSERT_CHUNK.bit_length()))
        }

    def chunks(
        self, params: Sequence[tuple[Any, ...]], max_vars: int = 999
    ) -> Iterator[tuple[str, list[Any]]]:
        """The INSERTs of a batch's ``params`` in order: (SQL of k rows, their k * columns
        values), k = 128 while that many are left, then the powers of two below; k never
        binds more than ``max_vars`` values (the connection's ``SQLITE_LIMIT_VARIABLE_
        NUMBER``; 999 in SQLite before 3.32) unless one row alone does."""
        n, i, k = len(params), 0, INSERT_CHUNK
        while k > 1 and k * len(self.names) > max_vars:
            k //= 2
        while i < n:
            while n - i < k:
                k //= 2
            yield self._insert_rows[k], list(chain.from_iterable(params[i : i + k]))
            i += k

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
        return self._prepare(raw, fresh)

    def prepare_all(
        self, rows: Sequence[Mapping[str, Any]], fresh: Fresh
    ) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
        """``prepare`` of every row of a batch: (values, params) lists. Done a column at
        a time when ``columns.ColumnPrep`` takes the batch (same result), else row by row.

        Raises:
            InvalidArgument: a row that is not a mapping, an unknown column, or a value
                that does not fit (nothing is prepared).
        """
        fast = self._columns.prepare(rows, fresh)
        if fast is not None:
            return fast
        names, prep = self.name_set, self._prepare
        values: list[dict[str, Any]] = []
        params: list[tuple[Any, ...]] = []
        add_v, add_p = values.append, params.append
        for raw in rows:
            if not isinstance(raw, Mapping):
                raise not_a_row(raw)
            if not names.issuperset(raw):
                prepare_row(self.stream, raw)  # raises, naming the column
            v, p = prep(raw, fresh)
            add_v(v)
            add_p(p)
        return values, params

    def decode(self, rec: Sequence[Any]) -> Row:
        """A Row from a record read with ``select_cols`` (seq first)."""
        values = {
            n: dec(v) if dec else v
            for n, dec, v in zip(self.names, self.decoders, rec[1:], strict=True)
        }
        return Row(self.name, rec[0], values)
