"""DDL of the Timeplus backend, generated from ``pulsed.store.schema``.

``ddl`` is every statement ``init`` runs (each ``IF NOT EXISTS``): the schema-version
stream, one stream per schema stream (its columns with their defaults, plus ``seq``;
``shards = 1`` so ``_tp_sn`` orders a stream's batches), and the hourly cost rollup with
its materialized view. ``migrations`` adds the columns of later schema versions
(Timeplus has no DROP COLUMN; versions only move forward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulsed.errors import StoreError
from pulsed.store import schema
from pulsed.store.schema import Column, Stream
from pulsed.store.timeplus.codec import dumps
from pulsed.store.timeplus.sqlparts import (
    DT_TYPE,
    META,
    ROLLUP,
    ROLLUP_VIEW,
    SEQ,
    TYPES,
    Names,
    ident,
    int_literal,
)


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
