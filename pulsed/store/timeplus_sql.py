"""SQL for the Timeplus backend, generated from ``pulsed.store.schema``, and value mapping.

Rules this module keeps (and tests/timeplus/test_timeplus_sql.py checks):

- Identifiers come only from the schema module and the validated ``[store.timeplus]``
  ``database`` and ``stream_prefix``; they are backtick-quoted.
- Every value compared with data is bound as a server-side parameter ``{pN:type}``; the
  driver sends it as the URL argument ``param_pN``, so no value is ever part of the SQL
  text. Two kinds of number are written into the text because Timeplus cannot bind them:
  DDL numbers (retention, TTL days, from the typed config) and LIMIT counts (Proton, forked
  from ClickHouse 22, refuses parameters in LIMIT). Both go through ``int_literal``, which
  accepts a Python ``int`` in range and nothing else.
- Rows travel as JSONEachRow (inserts and results), never as SQL literals.

Type mapping (schema type → Timeplus type): string → string, int → int64, float →
float64, bool → bool, datetime → datetime64(3, 'UTC'), json → string (compact JSON text,
as the local store keeps it), array(string) → array(string), array(float) →
array(float64). Every stream also gets ``seq int64``: Pulse's per-row sequence number,
assigned by the daemon (see ``pulsed.store.timeplus``); Timeplus' own ``_tp_sn`` numbers
insert batches and serves as the resume cursor of streaming reads.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pulsed.errors import ConfigError, InvalidArgument, StoreError
from pulsed.store import schema
from pulsed.store.base import OPS, Filter, convert_value, parse_iso, prepare_row, to_iso
from pulsed.store.schema import Column, Stream

SEQ = "seq"
"""The column holding Pulse's per-row sequence number in every Timeplus stream."""
TP_SN = "_tp_sn"
"""Timeplus' sequence number of the insert batch a row came in (a hidden column)."""
META = "pulse_schema"
"""Stream recording applied schema versions (append-only; the highest wins)."""
ROLLUP = "llm_logs_hourly"
"""Stream the hourly cost view writes into."""
ROLLUP_VIEW = "llm_logs_hourly_mv"
"""The materialized view (hourly tumble over llm_logs)."""

for _name in (META, ROLLUP, ROLLUP_VIEW):
    assert _name not in schema.STREAMS, f"{_name!r} clashes with a stream of the schema"
for _s in schema.STREAMS.values():
    assert SEQ not in _s.column_names, f"stream {_s.name} has a column named {SEQ!r}"

TYPES = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "bool",
    "datetime": "datetime64(3, 'UTC')",
    "json": "string",
    "array(string)": "array(string)",
    "array(float)": "array(float64)",
}
DT_TYPE = TYPES["datetime"]
MAX_LIMIT = 10_000
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_]*")
_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def check_database(name: str, key: str = "store.timeplus.database") -> str:
    """``name`` if it is a plain identifier (letters, digits, underscore).

    Raises:
        ConfigError: anything else (names are quoted, but only plain ones are accepted).
    """
    if not _NAME_RE.fullmatch(name or ""):
        raise ConfigError(f"{key}: {name!r} is not a plain name (letters, digits and _)")
    return name


def check_prefix(prefix: str, key: str = "store.timeplus.stream_prefix") -> str:
    """``prefix`` if it is empty or letters, digits and underscores.

    Raises:
        ConfigError: anything else.
    """
    if not _PREFIX_RE.fullmatch(prefix):
        raise ConfigError(f"{key}: {prefix!r} may hold only letters, digits and _")
    return prefix


def ident(name: str) -> str:
    """``name`` as a backtick-quoted identifier (names come from the schema or config).

    Raises:
        StoreError: not a plain identifier (a bug: names are checked where they enter).
    """
    if not _NAME_RE.fullmatch(name):
        raise StoreError(f"refusing to use {name!r} as a Timeplus identifier")
    return f"`{name}`"


def int_literal(value: int, lo: int = 0, hi: int = 2**62) -> str:
    """A Python ``int`` in ``[lo, hi]`` as SQL text (for DDL numbers and LIMIT only).

    Raises:
        StoreError: not an int (bools refused) or out of range.
    """
    if type(value) is not int or not lo <= value <= hi:
        raise StoreError(f"refusing to write {value!r} into SQL (expected an int in [{lo}, {hi}])")
    return str(value)


@dataclass(frozen=True)
class Names:
    """Fully qualified names of Pulse's streams in one database, with a name prefix."""

    database: str = "default"
    prefix: str = ""

    def __post_init__(self) -> None:
        check_database(self.database)
        check_prefix(self.prefix)

    def bare(self, name: str) -> str:
        """The stream's name without database (what ``pulsectl sql`` users type)."""
        return self.prefix + name

    def of(self, name: str) -> str:
        """```db`.`prefix+name``` for a schema stream or one of the internal streams."""
        if name not in schema.STREAMS and name not in (META, ROLLUP, ROLLUP_VIEW):
            raise StoreError(f"{name!r} is not a Pulse stream")
        return f"{ident(self.database)}.{ident(self.prefix + name)}"


class Params:
    """Bound parameters of one statement: ``add`` returns the ``{pN:type}`` placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, type_: str) -> str:
        name = f"p{len(self.values)}"
        if isinstance(value, bool):
            value = "true" if value else "false"
        self.values[name] = value
        return "{" + name + ":" + type_ + "}"


# -- values: Python <-> Timeplus -----------------------------------------------------------


def tp_datetime(iso: str) -> str:
    """Schema datetime text (ISO 8601, Z) as Timeplus datetime64(3) text.

    ``2026-11-21T09:00:00.123Z`` → ``2026-11-21 09:00:00.123``; '' → the epoch.
    """
    if not iso:
        return "1970-01-01 00:00:00.000"
    return iso[:10] + " " + iso[11:23]


def iso_datetime(text: str) -> str:
    """Timeplus datetime64 text (``2026-11-21 09:00:00.123``) as schema datetime text."""
    if len(text) >= 19 and text[10] == " ":
        frac = (text[20:23] if len(text) > 19 else "").ljust(3, "0")
        return f"{text[:10]}T{text[11:19]}.{frac}Z"
    return to_iso(parse_iso(text))


def dumps(value: Any) -> str:
    """Compact JSON text (how json columns are stored)."""
    return _JSON.encode(value)


def _bad(stream: str, col: Column, value: Any) -> InvalidArgument:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgument(
        f"{stream}.{col.name} is {col.type}: {type(value).__name__} {shown} does not fit"
    )


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
            raise _bad(stream, col, v) from None
        return v
    elif t in ("array(string)", "array(float)"):
        want: Any = str if t == "array(string)" else (int, float)
        if isinstance(v, list | tuple) and all(
            isinstance(x, want) and not isinstance(x, bool) for x in v
        ):
            return [float(x) for x in v] if t == "array(float)" else list(v)
    raise _bad(stream, col, v)


def prepare(stream: Stream, raw: Mapping[str, Any], now: str, new_id: Any) -> dict[str, Any]:
    """A complete, type-checked row: unknown columns refused, defaults filled in.

    Raises:
        InvalidArgument: an unknown column or a value that does not fit.
    """
    if not isinstance(raw, Mapping):
        raise InvalidArgument(f"a row must be a mapping of columns, not {type(raw).__name__}")
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


# -- filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A filter checked against its stream, with the value converted to the column's type."""

    col: Column
    op: str
    value: Any


def checks(stream: Stream, filters: Sequence[Filter]) -> list[Check]:
    """Checked filters.

    Raises:
        InvalidArgument: unknown column or operator, or a value that does not fit.
    """
    out = []
    for f in filters:
        if f.op not in OPS:
            raise InvalidArgument(f"unknown filter operator {f.op!r} (operators: {', '.join(OPS)})")
        col = stream.column(f.column)
        value = convert_value(col, f.value, f.op)
        if col.type.startswith("array(") and f.op in ("eq", "ne"):
            try:
                parsed = json.loads(value)
                value = check_value(stream.name, col, parsed)
            except (ValueError, InvalidArgument):
                raise InvalidArgument(
                    f"column {col.name} ({col.type}) compares with a JSON array such as "
                    '["a", "b"], not ' + repr(value)
                ) from None
        out.append(Check(col, f.op, value))
    return out


def _text_sql(col: Column) -> str:
    """SQL giving ``col`` as the text ``contains`` searches."""
    name = ident(col.name)
    if col.type in ("string", "json"):
        return name
    return f"to_string({name})"


def _float_text(v: float) -> str:
    """A float as Timeplus' to_string writes it (shortest form, no trailing .0)."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    mantissa, e, exp = text.partition("e")
    if e:
        sign = "-" if exp.startswith("-") else ""
        return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return text


def value_text(col: Column, v: Any) -> str:
    """A Python row value as the text ``contains`` searches (mirrors ``_text_sql``)."""
    t = col.type
    if t == "string":
        return str(v)
    if t == "json":
        return dumps(v)
    if t == "bool":
        return "true" if v else "false"
    if t == "float":
        return _float_text(float(v))
    if t == "datetime":
        return tp_datetime(v)
    if t.startswith("array("):
        if t == "array(string)":
            items = ["'" + x.replace("\\", "\\\\").replace("'", "\\'") + "'" for x in v]
        else:
            items = [_float_text(float(x)) for x in v]
        return "[" + ",".join(items) + "]"
    return str(v)


def where_sql(cs: Sequence[Check], params: Params) -> list[str]:
    """SQL predicates for ``cs`` with their values bound in ``params``."""
    parts = []
    for c in cs:
        t = c.col.type
        if c.op == "contains":
            parts.append(f"position({_text_sql(c.col)}, {params.add(str(c.value), 'string')}) > 0")
            continue
        name = ident(c.col.name)
        op = _SQL_OPS[c.op]
        if t == "json":
            parts.append(f"{name} {op} {params.add(str(c.value), 'string')}")
        elif t == "datetime":
            parts.append(f"{name} {op} {params.add(tp_datetime(c.value), DT_TYPE)}")
        else:
            parts.append(f"{name} {op} {params.add(c.value, TYPES[t])}")
    return parts


def matches(values: Mapping[str, Any], cs: Sequence[Check]) -> bool:
    """Whether a row's Python values satisfy every check, as the SQL of ``where_sql`` does."""
    for c in cs:
        v = values[c.col.name]
        t = c.col.type
        want = c.value
        if c.op == "contains":
            if str(want) not in value_text(c.col, v):
                return False
            continue
        if t == "json":
            v = dumps(v)
        try:
            ok = {
                "eq": lambda a, b: a == b,
                "ne": lambda a, b: a != b,
                "gt": lambda a, b: a > b,
                "ge": lambda a, b: a >= b,
                "lt": lambda a, b: a < b,
                "le": lambda a, b: a <= b,
            }[c.op](v, want)
        except TypeError:
            return False
        if not ok:
            return False
    return True


# -- DDL -----------------------------------------------------------------------------------


def _literal(col: Column, value: Any) -> str:
    """A schema default (a Python constant from the schema module) as a SQL literal."""
    t = col.type
    if t == "bool":
        return "true" if value else "false"
    if t == "int":
        return int_literal(int(value), -(2**63), 2**63 - 1)
    if t == "float":
        return repr(float(value))
    if t in ("string", "json", "datetime"):
        text = dumps(value) if t == "json" else str(value)
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise StoreError(f"column {col.name}: a {t} default cannot be written in DDL")


def column_sql(col: Column) -> str:
    """``name type [DEFAULT literal]`` for one schema column (rows written before the
    column existed read as its default)."""
    text = f"{ident(col.name)} {TYPES[col.type]}"
    if col.default is not None:
        text += f" DEFAULT {_literal(col, col.default)}"
    return text


@dataclass(frozen=True)
class Retention:
    """How long rows are kept: the streaming log (ms) and the historical store (days)."""

    logstore_ms: int = 86_400_000
    ttl_days: int = 0
    """0 keeps history forever (no TTL clause)."""


def create_stream(names: Names, s: Stream, keep: Retention) -> str:
    """``CREATE STREAM IF NOT EXISTS`` for a schema stream, plus the ``seq`` column."""
    cols = ",\n  ".join([*(column_sql(c) for c in s.columns), f"{ident(SEQ)} int64"])
    ttl = ""
    if keep.ttl_days:
        days = int_literal(keep.ttl_days, 1, 100_000)
        ttl = f"\nTTL to_datetime({ident('timestamp')}) + INTERVAL {days} DAY"
    retention = int_literal(keep.logstore_ms, 1, 2**53)
    return (
        f"CREATE STREAM IF NOT EXISTS {names.of(s.name)} (\n  {cols}\n){ttl}\n"
        f"SETTINGS event_time_column = 'timestamp', shards = 1, "
        f"logstore_retention_ms = {retention}"
    )


def add_column(names: Names, s: Stream, col: Column) -> str:
    """``ALTER STREAM ... ADD COLUMN IF NOT EXISTS`` for a column added in a later version."""
    return f"ALTER STREAM {names.of(s.name)} ADD COLUMN IF NOT EXISTS {column_sql(col)}"


def create_meta(names: Names) -> str:
    """The stream of applied schema versions."""
    return (
        f"CREATE STREAM IF NOT EXISTS {names.of(META)} (\n"
        f"  {ident('version')} int32,\n  {ident('pulse_version')} string,\n"
        f"  {ident('timestamp')} {DT_TYPE}\n)\n"
        "SETTINGS event_time_column = 'timestamp', shards = 1"
    )


ROLLUP_KEYS = ("model", "provider", "origin", "session_id")
ROLLUP_SUMS = (
    ("input_tokens", "int64"),
    ("output_tokens", "int64"),
    ("cache_read_tokens", "int64"),
    ("cache_write_tokens", "int64"),
)


def create_rollup(names: Names, keep: Retention) -> str:
    """The stream the hourly cost view writes into."""
    cols = [f"{ident('hour')} {DT_TYPE}"]
    cols += [f"{ident(k)} string" for k in ROLLUP_KEYS]
    cols += [f"{ident('requests')} int64", f"{ident('errors')} int64"]
    cols += [f"{ident(k)} {t}" for k, t in ROLLUP_SUMS]
    cols += [f"{ident('cost_usd')} float64", f"{ident('latency_ms_sum')} float64"]
    ttl = ""
    if keep.ttl_days:
        days = int_literal(keep.ttl_days, 1, 100_000)
        ttl = f"\nTTL to_datetime({ident('hour')}) + INTERVAL {days} DAY"
    return (
        f"CREATE STREAM IF NOT EXISTS {names.of(ROLLUP)} (\n  " + ",\n  ".join(cols) + f"\n){ttl}\n"
        "SETTINGS event_time_column = 'hour', shards = 1"
    )


def create_rollup_view(names: Names) -> str:
    """The materialized view: llm_logs summed per model/provider/origin/session and hour.

    A tumble window emits when a later event moves the watermark past its end, so the
    view is for dashboards and streaming SQL; Pulse's own summaries aggregate
    ``table(llm_logs)`` (exact, late rows included).
    """
    keys = ", ".join(ident(k) for k in ROLLUP_KEYS)
    sums = ", ".join(f"sum({ident(k)}) AS {ident(k)}" for k, _ in ROLLUP_SUMS)
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {names.of(ROLLUP_VIEW)} "
        f"INTO {names.of(ROLLUP)} AS\n"
        f"SELECT window_start AS {ident('hour')}, {keys}, count() AS {ident('requests')}, "
        f"count_if({ident('status')} != 'success') AS {ident('errors')}, {sums}, "
        f"sum({ident('estimated_cost_usd')}) AS {ident('cost_usd')}, "
        f"sum({ident('latency_ms')}) AS {ident('latency_ms_sum')}\n"
        f"FROM tumble({names.of('llm_logs')}, {ident('timestamp')}, 1h)\n"
        f"GROUP BY window_start, {keys}"
    )


def ddl(names: Names, keep: Retention) -> list[str]:
    """Every statement ``init`` runs, in order (each is idempotent)."""
    out = [create_meta(names)]
    out += [create_stream(names, s, keep) for s in schema.STREAMS.values()]
    out += [create_rollup(names, keep), create_rollup_view(names)]
    return out


def migrations(names: Names, recorded: int) -> list[str]:
    """``ALTER STREAM ... ADD COLUMN`` for columns added after version ``recorded``."""
    return [
        add_column(names, s, c)
        for s in schema.STREAMS.values()
        for c in s.columns
        if c.since_version > max(recorded, 1)
    ]


# -- queries -------------------------------------------------------------------------------


@dataclass
class Statement:
    """SQL text and its bound parameters."""

    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def _cols(s: Stream) -> str:
    return ", ".join([*(ident(c) for c in s.column_names), ident(SEQ)])


def select_rows(
    names: Names,
    s: Stream,
    cs: Sequence[Check],
    *,
    upto_seq: int | None = None,
    after_seq: int | None = None,
    since: str | None = None,
    until: str | None = None,
    order: str = "desc",
    limit: int = 100,
) -> Statement:
    """Historical rows of ``s`` (``table()``), ordered by seq, at most ``limit``."""
    p = Params()
    parts = where_sql(cs, p)
    if upto_seq is not None:
        parts.append(f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}")
    if after_seq is not None:
        parts.append(f"{ident(SEQ)} > {p.add(after_seq, 'int64')}")
    if since is not None:
        parts.append(f"{ident('timestamp')} >= {p.add(tp_datetime(since), DT_TYPE)}")
    if until is not None:
        parts.append(f"{ident('timestamp')} < {p.add(tp_datetime(until), DT_TYPE)}")
    where = f" WHERE {' AND '.join(parts)}" if parts else ""
    direction = "ASC" if order == "asc" else "DESC"
    sql = (
        f"SELECT {_cols(s)} FROM table({names.of(s.name)}){where} "
        f"ORDER BY {ident(SEQ)} {direction} LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def log_position(names: Names, s: Stream) -> Statement:
    """Rows and the highest ``_tp_sn`` the historical store holds (where a tail's
    streaming read takes over from its historical read)."""
    return Statement(f"SELECT count() AS n, max({TP_SN}) AS sn FROM table({names.of(s.name)})")


def catch_up(
    names: Names, s: Stream, cs: Sequence[Check], after_seq: int, upto_sn: int, limit: int
) -> Statement:
    """A page of historical rows after ``after_seq`` up to insert batch ``upto_sn``."""
    p = Params()
    parts = [
        f"{ident(SEQ)} > {p.add(after_seq, 'int64')}",
        f"{TP_SN} <= {p.add(upto_sn, 'int64')}",
        *where_sql(cs, p),
    ]
    sql = (
        f"SELECT {_cols(s)} FROM table({names.of(s.name)}) WHERE {' AND '.join(parts)} "
        f"ORDER BY {ident(SEQ)} LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def tail_sql(
    names: Names, s: Stream, cs: Sequence[Check], after_sn: int | None, after_seq: int
) -> Statement:
    """An unbounded streaming read of ``s``: rows of insert batches after ``after_sn``
    (the predicate makes Timeplus seek its log there; None = only new rows) with a seq
    above ``after_seq``."""
    p = Params()
    parts = []
    if after_sn is not None:
        parts.append(f"{TP_SN} > {p.add(after_sn, 'int64')}")
    parts.append(f"{ident(SEQ)} > {p.add(after_seq, 'int64')}")
    parts += where_sql(cs, p)
    sql = f"SELECT {_cols(s)}, {TP_SN} FROM {names.of(s.name)} WHERE {' AND '.join(parts)}"
    return Statement(sql, p.values)


def count_rows(names: Names, s: Stream, upto_seq: int) -> Statement:
    p = Params()
    return Statement(
        f"SELECT count() AS n FROM table({names.of(s.name)}) "
        f"WHERE {ident(SEQ)} <= {p.add(upto_seq, 'int64')}",
        p.values,
    )


def max_seq(names: Names, s: Stream) -> Statement:
    return Statement(f"SELECT max({ident(SEQ)}) AS seq FROM table({names.of(s.name)})")


def schema_version(names: Names) -> Statement:
    return Statement(f"SELECT max({ident('version')}) AS v FROM table({names.of(META)})")


def ids_present(names: Names, s: Stream, ids: Sequence[str]) -> Statement:
    """Which of ``ids`` the historical store holds (to keep replays idempotent)."""
    p = Params()
    return Statement(
        f"SELECT DISTINCT {ident('id')} AS id FROM table({names.of(s.name)}) "
        f"WHERE {ident('id')} IN {p.add(list(ids), 'array(string)')}",
        p.values,
    )


COST_KEYS = {
    "": None,
    "model": "model",
    "provider": "provider",
    "origin": "origin",
    "session": "session_id",
    "hour": "hour",
    "day": "day",
}


def cost_summary(
    names: Names, by: str, since: str | None, until: str | None, upto_seq: int
) -> Statement:
    """llm_logs summed over ``since <= timestamp < until`` (and seq <= ``upto_seq``),
    grouped by ``by`` (hour and day as UTC starts)."""
    p = Params()
    ts = ident("timestamp")
    if by == "hour":
        key = f"to_start_of_hour({ts})"
    elif by == "day":
        key = f"to_start_of_day({ts})"
    elif by:
        key = ident(COST_KEYS[by] or by)
    else:
        key = "''"
    parts = [f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}"]
    if since is not None:
        parts.append(f"{ts} >= {p.add(tp_datetime(since), DT_TYPE)}")
    if until is not None:
        parts.append(f"{ts} < {p.add(tp_datetime(until), DT_TYPE)}")
    ok = p.add("success", "string")
    group = " GROUP BY k" if by else ""
    sql = (
        f"SELECT {key} AS k, count() AS requests, count_if({ident('status')} != {ok}) AS errors, "
        f"sum({ident('input_tokens')}) AS input_tokens, "
        f"sum({ident('output_tokens')}) AS output_tokens, "
        f"sum({ident('cache_read_tokens')}) AS cache_read_tokens, "
        f"sum({ident('cache_write_tokens')}) AS cache_write_tokens, "
        f"sum({ident('estimated_cost_usd')}) AS cost_usd, "
        f"sum({ident('latency_ms')}) AS latency_ms_sum "
        f"FROM table({names.of('llm_logs')}) WHERE {' AND '.join(parts)}{group}"
    )
    return Statement(sql, p.values)


def sessions_top(names: Names, upto_seq: int, limit: int) -> Statement:
    """The most recently active sessions (historical part): id, count, first, last."""
    p = Params()
    sid = ident("session_id")
    ts = ident("timestamp")
    sql = (
        f"SELECT {sid} AS session_id, count() AS n, min({ts}) AS first_ts, max({ts}) AS last_ts, "
        f"max({ident(SEQ)}) AS last_seq FROM table({names.of('messages')}) "
        f"WHERE {sid} != {p.add('', 'string')} AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} "
        f"GROUP BY {sid} ORDER BY last_ts DESC, last_seq DESC "
        f"LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def sessions_by_id(names: Names, ids: Sequence[str], upto_seq: int) -> Statement:
    """The same figures for the named sessions."""
    p = Params()
    sid = ident("session_id")
    ts = ident("timestamp")
    sql = (
        f"SELECT {sid} AS session_id, count() AS n, min({ts}) AS first_ts, max({ts}) AS last_ts, "
        f"max({ident(SEQ)}) AS last_seq FROM table({names.of('messages')}) "
        f"WHERE {sid} IN {p.add(list(ids), 'array(string)')} "
        f"AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} GROUP BY {sid}"
    )
    return Statement(sql, p.values)


def session_titles(names: Names, ids: Sequence[str], upto_seq: int) -> Statement:
    """Content of each named session's first user_input message (by seq)."""
    p = Params()
    sid = ident("session_id")
    sql = (
        f"SELECT {sid} AS session_id, arg_min({ident('content')}, {ident(SEQ)}) AS content "
        f"FROM table({names.of('messages')}) "
        f"WHERE {sid} IN {p.add(list(ids), 'array(string)')} "
        f"AND {ident('message_type')} = {p.add('user_input', 'string')} "
        f"AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} GROUP BY {sid}"
    )
    return Statement(sql, p.values)


INPUT_TYPES = ("user_input", "scheduled_task")
ANSWER_TYPES = ("agent_response", "error")


def unanswered(names: Names, since: str | None, upto_seq: int) -> Statement:
    """Inputs (historical part, seq <= ``upto_seq``) no stored answer replies to."""
    p = Params()
    msgs = names.of("messages")
    mt = ident("message_type")
    parts = [
        f"{mt} IN {p.add(list(INPUT_TYPES), 'array(string)')}",
        f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}",
    ]
    if since is not None:
        parts.append(f"{ident('timestamp')} >= {p.add(tp_datetime(since), DT_TYPE)}")
    parts.append(
        f"{ident('id')} NOT IN (SELECT {ident('reply_to')} FROM table({msgs}) "
        f"WHERE {mt} IN {p.add(list(ANSWER_TYPES), 'array(string)')} "
        f"AND {ident('reply_to')} != {p.add('', 'string')})"
    )
    sql = (
        f"SELECT {_cols(schema.MESSAGES)} FROM table({msgs}) WHERE {' AND '.join(parts)} "
        f"ORDER BY {ident(SEQ)}"
    )
    return Statement(sql, p.values)


def latest_by(names: Names, s: Stream, key: str, upto_seq: int) -> Statement:
    """The newest version (highest seq) per value of ``key``, with ``arg_max``."""
    col = s.column(key)
    p = Params()
    picks = [
        f"arg_max({ident(c)}, {ident(SEQ)}) AS {ident('v_' + c)}"
        for c in s.column_names
        if c != col.name
    ]
    sql = (
        f"SELECT {ident(col.name)} AS {ident('v_' + col.name)}, {', '.join(picks)}, "
        f"max({ident(SEQ)}) AS {ident('v_' + SEQ)} FROM table({names.of(s.name)}) "
        f"WHERE {ident(SEQ)} <= {p.add(upto_seq, 'int64')} "
        f"GROUP BY {ident(col.name)} ORDER BY {ident(col.name)}"
    )
    return Statement(sql, p.values)


def unprefix(obj: Mapping[str, Any], prefix: str = "v_") -> dict[str, Any]:
    """A ``latest_by`` result row with its column aliases turned back into names."""
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in obj.items()}


def kill_query(query_id: str) -> Statement:
    """``KILL QUERY`` for one query id (ends a streaming read on the server at once)."""
    p = Params()
    return Statement(f"KILL QUERY WHERE query_id = {p.add(query_id, 'string')} ASYNC", p.values)


# -- read-only SQL for `pulsectl sql` ------------------------------------------------------

READ_ONLY_FIRST = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")
_TOKEN_RE = re.compile(
    r"""
    (?P<skip>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<quoted>'(?:[^'\\]|\\.|'')*'|`(?:[^`\\]|\\.|``)*`|"(?:[^"\\]|\\.|"")*")
  | (?P<semi>;)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_FORBIDDEN_WORDS = {"INTO", "OUTFILE", "FORMAT"}


def read_only(sql: str) -> str:
    """``sql`` if it is one read-only statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN),
    with trailing semicolons removed.

    The server also runs it with ``readonly=2``, so a statement that slips through
    cannot write; this check gives the clear message first.

    Raises:
        InvalidArgument: empty, more than one statement, an unterminated string or
            comment, another kind of statement, or ``INTO OUTFILE``/``FORMAT`` (results
            come back as rows).
    """
    words: list[str] = []
    ended = False
    pos = 0
    while pos < len(sql):
        m = _TOKEN_RE.match(sql, pos)
        assert m is not None  # "other" matches any character
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "skip":
            continue
        if kind == "semi":
            ended = True
            continue
        if ended:
            raise InvalidArgument("send one statement at a time (there is SQL after a semicolon)")
        if kind == "other" and (text in "'`\"" or sql.startswith("/*", pos - 1)):
            raise InvalidArgument("the SQL has an unterminated string, identifier or comment")
        if kind == "word":
            words.append(text.upper())
    if not words:
        raise InvalidArgument("no SQL given: pass a SELECT, e.g. 'SELECT count() FROM messages'")
    if words[0] not in READ_ONLY_FIRST:
        raise InvalidArgument(
            f"only read-only SQL runs here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN), not {words[0]}"
        )
    bad = _FORBIDDEN_WORDS.intersection(words)
    if bad:
        raise InvalidArgument(
            f"{' and '.join(sorted(bad))} is not allowed here: results come back as rows "
            "(use --json for JSON)"
        )
    return sql.rstrip().rstrip(";").rstrip()


def rows_to_json(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as a JSONEachRow insert body."""
    return b"".join(_JSON.encode(r).encode() + b"\n" for r in rows)


def now_tp() -> str:
    """The current UTC time as Timeplus datetime64(3) text."""
    return tp_datetime(to_iso(datetime.now(UTC)))
