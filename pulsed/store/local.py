"""The embedded store: SQLite in WAL mode, one table per stream (the ``base.Store`` contract).

Threads: one writer thread owns the only writing connection (appends, migrations); reads
run on a small pool of read-only connections, so a long query never holds up a write and
nothing blocks the event loop. The daemon is the only writer, so after each commit the
writer hands the new rows to in-process tails (``loop.call_soon_threadsafe``): tails get
new rows without polling. A tail registers before it reads its backlog, so no row falls
between the two; when a slow tail's in-memory queue overflows it goes back to the database
from its last delivered row, so memory stays bounded and nothing is lost.

Costs: an hourly rollup of llm_logs (``llm_logs_hourly``) is kept in the same transaction
as the rows; a summary adds the rollup for the whole hours of the range to the raw rows of
the partial hours at its edges, so it is exact and fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import queue
import re
import shutil
import sqlite3
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pulsed.errors import InvalidArgument, PulseError, StoreError
from pulsed.store import schema
from pulsed.store.base import (
    OPS,
    CostBucket,
    CostSummary,
    Filter,
    Row,
    SessionInfo,
    Store,
    TailStart,
    check_grouping,
    convert_value,
    now_iso,
    parse_iso,
    prepare_row,
    to_iso,
)
from pulsed.store.schema import Column, Stream

T = TypeVar("T")

DB_NAME = "pulse.db"
META_TABLE = "meta"
ROLLUP_TABLE = "llm_logs_hourly"
ROLLUP_VERSION = "1"
"""Bumped when the rollup's layout or meaning changes; open() then rebuilds it."""
MAX_LIMIT = 10_000
READERS = 4
TAIL_QUEUE_ROWS = 10_000
"""Rows a tail may hold in memory before it falls back to reading the database."""
BUSY_TIMEOUT_MS = 10_000
LOW_DISK_BYTES = 100 * 1024 * 1024

_SQL_TYPES = {
    "string": "TEXT",
    "datetime": "TEXT",
    "json": "TEXT",
    "array(string)": "TEXT",
    "array(float)": "TEXT",
    "int": "INTEGER",
    "bool": "INTEGER",
    "float": "REAL",
}
_JSON_TYPES = ("json", "array(string)", "array(float)")
_SQL_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_HOUR_SUFFIX = ":00:00.000Z"
_DAY_SUFFIX = "T00:00:00.000Z"
_ROLLUP_KEYS = ("hour", "model", "provider", "origin", "session_id")
_ROLLUP_SUMS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms_sum",
)
_ANSWER_TYPES = ("agent_response", "error")
_FROM_LATEST = TailStart()
_INPUT_TYPES = ("user_input", "scheduled_task")

for _name in (META_TABLE, ROLLUP_TABLE):
    assert _name not in schema.STREAMS, f"stream name {_name!r} clashes with a store table"


def _q(name: str) -> str:
    """``name`` as a quoted SQL identifier (names come from the schema module only)."""
    return '"' + name.replace('"', '""') + '"'


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    """``value`` as compact JSON text (how json columns are stored)."""
    if not value and type(value) in (dict, list, tuple):
        return "{}" if type(value) is dict else "[]"
    return _JSON.encode(value)


def _sql_text(value: Any) -> str:
    """``value`` as SQLite renders it as text (what ``instr`` sees)."""
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return "Inf" if value > 0 else "-Inf" if value < 0 else ""
        text = format(value, ".15g")
        mantissa, e, exp = text.partition("e")
        if "." not in mantissa:
            mantissa += ".0"
        return mantissa + e + exp
    return str(value)


# -- values: Python <-> SQLite ------------------------------------------------------------


def _bad(stream: str, col: Column, value: Any) -> InvalidArgument:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return InvalidArgument(
        f"{stream}.{col.name} is {col.type}: {type(value).__name__} {shown} does not fit"
    )


def _encoder(stream: str, col: Column) -> Callable[[Any], Any]:
    """A function turning a row value of ``col`` into what SQLite stores (checks its type)."""
    t = col.type

    if t == "string":

        def enc(v: Any) -> Any:
            if type(v) is str:
                return v
            raise _bad(stream, col, v)

    elif t == "int":

        def enc(v: Any) -> Any:
            if type(v) is int:
                return v
            if isinstance(v, int) and not isinstance(v, bool):
                return int(v)
            raise _bad(stream, col, v)

    elif t == "float":

        def enc(v: Any) -> Any:
            if type(v) is float:
                return v
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
            raise _bad(stream, col, v)

    elif t == "bool":

        def enc(v: Any) -> Any:
            if isinstance(v, bool):
                return int(v)
            raise _bad(stream, col, v)

    elif t == "datetime":

        def enc(v: Any) -> Any:
            if type(v) is str:
                if _ISO_RE.fullmatch(v) or v == "":
                    return v
                return to_iso(parse_iso(v))
            if isinstance(v, datetime):
                return to_iso(v)
            raise _bad(stream, col, v)

    elif t == "json":

        def enc(v: Any) -> Any:
            try:
                return _dumps(v)
            except (TypeError, ValueError):
                raise _bad(stream, col, v) from None

    elif t in ("array(string)", "array(float)"):
        want = str if t == "array(string)" else (int, float)

        def enc(v: Any) -> Any:
            if isinstance(v, list | tuple) and all(
                isinstance(x, want) and not isinstance(x, bool) for x in v
            ):
                return _dumps(list(v))
            raise _bad(stream, col, v)

    else:  # pragma: no cover - schema.TYPES is closed
        raise StoreError(f"column {stream}.{col.name} has unknown type {t!r}")
    return enc


def _decoder(col: Column) -> Callable[[Any], Any] | None:
    """A function turning a stored value back into the Python value (None = as stored)."""
    default = col.default_value()
    if col.type in _JSON_TYPES:
        return lambda v: default if v is None else json.loads(v)
    if col.type == "bool":
        return lambda v: default if v is None else bool(v)
    return None


def _stored(col: Column, value: Any) -> Any:
    """A Python row value as SQLite holds it (for matching live rows like SQL does)."""
    if col.type in _JSON_TYPES:
        return _dumps(value)
    if col.type == "bool":
        return int(bool(value))
    return value


class _Fresh:
    """Per-batch source of default ids and timestamps (cheaper than one call per row)."""

    __slots__ = ("_now", "_hex", "_next")

    def __init__(self) -> None:
        self._now = ""
        self._hex = ""
        self._next = 0

    def now(self) -> str:
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


_UUID_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_MUTABLE = object()


class _NoFastPath:
    """A type no value has: columns whose values always go through their encoder."""


class _Codec:
    """Per-stream SQL text and value conversion, derived from the schema."""

    def __init__(self, s: Stream) -> None:
        self.stream = s
        self.name = s.name
        self.table = _q(s.name)
        self.names = s.column_names
        self.name_set = frozenset(self.names)
        self.decoders = [_decoder(c) for c in s.columns]
        fast = {"string": str, "int": int, "float": float}
        self.spec: list[tuple[str, type, Callable[[Any], Any], Any, Column, bool]] = []
        for c in s.columns:
            if c.name in ("id", "timestamp"):
                default: Any = None
            elif c.type in _JSON_TYPES:
                default = _MUTABLE
            else:
                default = c.default_value()
            self.spec.append(
                (
                    c.name,
                    fast.get(c.type, _NoFastPath),
                    _encoder(s.name, c),
                    default,
                    c,
                    c.type == "datetime",
                )
            )
        cols = ", ".join(_q(n) for n in self.names)
        marks = ", ".join("?" for _ in self.names)
        self.insert_sql = f"INSERT INTO {self.table} ({cols}) VALUES ({marks})"
        self.select_cols = "seq, " + cols

    def prepare(
        self, raw: Mapping[str, Any], fresh: _Fresh
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
        values = {
            n: dec(v) if dec else v
            for n, dec, v in zip(self.names, self.decoders, rec[1:], strict=True)
        }
        return Row(self.name, rec[0], values)


class _Check:
    """A filter checked against its stream: SQL and a Python predicate that agree."""

    __slots__ = ("col", "op", "value")

    def __init__(self, col: Column, op: str, value: Any) -> None:
        self.col = col
        self.op = op
        self.value = value

    def sql(self, alias: str = "") -> tuple[str, Any]:
        ident = alias + _q(self.col.name)
        if self.op == "contains":
            return f"instr({ident}, ?) > 0", str(self.value)
        value = int(self.value) if isinstance(self.value, bool) else self.value
        return f"{ident} {_SQL_OPS[self.op]} ?", value

    def match(self, row: Row) -> bool:
        stored = _stored(self.col, row.values[self.col.name])
        v = self.value
        op = self.op
        try:
            if op == "contains":
                return str(v) in _sql_text(stored)
            if op == "eq":
                return bool(stored == v)
            if op == "ne":
                return bool(stored != v)
            if op == "gt":
                return bool(stored > v)
            if op == "ge":
                return bool(stored >= v)
            if op == "lt":
                return bool(stored < v)
            return bool(stored <= v)
        except TypeError:
            return False


def _checks(s: Stream, filters: Sequence[Filter]) -> list[_Check]:
    out = []
    for f in filters:
        if f.op not in OPS:
            raise InvalidArgument(f"unknown filter operator {f.op!r} (operators: {', '.join(OPS)})")
        col = s.column(f.column)
        out.append(_Check(col, f.op, convert_value(col, f.value, f.op)))
    return out


def _where(checks: Sequence[_Check], alias: str = "") -> tuple[list[str], list[Any]]:
    parts, params = [], []
    for c in checks:
        text, value = c.sql(alias)
        parts.append(text)
        params.append(value)
    return parts, params


# -- tails --------------------------------------------------------------------------------


class _Subscriber:
    """One running tail's inbox of live rows (lives on the event loop thread)."""

    __slots__ = ("checks", "rows", "event", "cap", "overflowed", "overflows", "closed")

    def __init__(self, checks: list[_Check], cap: int) -> None:
        self.checks = checks
        self.rows: deque[Row] = deque()
        self.event = asyncio.Event()
        self.cap = cap
        self.overflowed = False
        self.overflows = 0
        self.closed = False

    def offer(self, rows: list[Row]) -> None:
        if self.closed or self.overflowed:
            return
        if self.checks:
            rows = [r for r in rows if all(c.match(r) for c in self.checks)]
            if not rows:
                return
        if len(self.rows) + len(rows) > self.cap:
            self.overflowed = True
            self.overflows += 1
            self.rows.clear()
        else:
            self.rows.extend(rows)
        self.event.set()

    def reset(self) -> None:
        self.rows.clear()
        self.overflowed = False

    def take(self, limit: int, after: int) -> list[Row]:
        out: list[Row] = []
        rows = self.rows
        while rows and len(out) < limit:
            r = rows.popleft()
            if r.seq > after:
                out.append(r)
        return out

    def close(self) -> None:
        self.closed = True
        self.event.set()


# -- time helpers ---------------------------------------------------------------------------


def _norm_time(text: str | None, what: str) -> str | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise InvalidArgument(f"{what} must be ISO 8601 text, not {type(text).__name__}")
    return to_iso(parse_iso(text))


def _floor_hour(iso: str) -> str:
    return iso[:13] + _HOUR_SUFFIX


def _ceil_hour(iso: str) -> str:
    floor = _floor_hour(iso)
    if floor == iso:
        return iso
    return to_iso(parse_iso(floor) + timedelta(hours=1))


# -- the store ------------------------------------------------------------------------------


class LocalStore(Store):
    """The embedded SQLite backend. ``data_dir/pulse.db`` holds every stream."""

    backend = "local"

    def __init__(
        self,
        data_dir: Path,
        *,
        readers: int = READERS,
        tail_queue_rows: int = TAIL_QUEUE_ROWS,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self._readers_max = max(1, readers)
        self._tail_queue_rows = max(1, tail_queue_rows)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._wconn: sqlite3.Connection | None = None
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._conns: list[sqlite3.Connection] = []
        self._codecs: dict[str, _Codec] = {}
        self._subs: dict[str, set[_Subscriber]] = {}
        self._version = 0
        self._open = False
        self.tail_overflows = 0
        """How often a tail's live queue overflowed and it re-read from the database."""

    # -- lifecycle --------------------------------------------------------------------

    async def open(self) -> None:
        if self._open:
            return
        self._loop = asyncio.get_running_loop()
        self._codecs = {name: _Codec(s) for name, s in schema.STREAMS.items()}
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="pulse-store-writer")
        self._readers = ThreadPoolExecutor(
            self._readers_max, thread_name_prefix="pulse-store-reader"
        )
        try:
            self._version = await self._loop.run_in_executor(self._writer, self._open_sync)
        except BaseException:
            await self._shutdown()
            raise
        self._open = True

    async def close(self) -> None:
        if not self._open:
            return
        self._open = False
        for subs in self._subs.values():
            for sub in subs:
                sub.close()
        await self._shutdown()

    async def _shutdown(self) -> None:
        writer, readers = self._writer, self._readers
        self._writer = self._readers = None
        if writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(writer, self._close_writer)
            await asyncio.to_thread(writer.shutdown, True)
        if readers is not None:
            await asyncio.to_thread(readers.shutdown, True)
        for conn in self._conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._conns.clear()
        self._pool = queue.SimpleQueue()

    def _close_writer(self) -> None:
        conn, self._wconn = self._wconn, None
        if conn is not None:
            conn.close()

    def _open_sync(self) -> int:
        """Open the writer connection, create missing tables, migrate (writer thread)."""
        try:
            created = not self.data_dir.exists()
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if created:
                os.chmod(self.data_dir, 0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            if self.path.stat().st_mode & 0o077:
                os.chmod(self.path, 0o600)  # WAL and shm files take the database's mode
        except OSError as e:
            raise StoreError(f"cannot create the local store at {self.path}: {e}") from None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=256)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the local store at {self.path}: {e}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"the local store at {self.path} cannot use WAL mode (got {mode!r}); "
                    "put the data directory on a local file system"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            version = self._migrate(conn)
        except (sqlite3.Error, ValueError) as e:
            conn.close()
            raise StoreError(f"cannot open the local store at {self.path}: {e}") from None
        except BaseException:
            conn.close()
            raise
        self._wconn = conn
        return version

    def _migrate(self, conn: sqlite3.Connection) -> int:
        """Create what is missing and migrate forward to ``schema.SCHEMA_VERSION``."""
        target = schema.SCHEMA_VERSION
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {_q(META_TABLE)} "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            meta = dict(conn.execute(f"SELECT key, value FROM {_q(META_TABLE)}").fetchall())
            recorded = int(meta.get("schema_version", 0))
            if recorded > target:
                raise StoreError(
                    f"the local store at {self.path} has schema version {recorded}, newer "
                    f"than this Pulse ({target}); upgrade Pulse"
                )
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            for s in schema.STREAMS.values():
                self._migrate_stream(conn, s, s.name in tables)
            rollup_ok = ROLLUP_TABLE in tables and meta.get("rollup_version") == ROLLUP_VERSION
            if not rollup_ok:
                self._rebuild_rollup(conn)
            conn.executemany(
                f"INSERT INTO {_q(META_TABLE)} (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [("schema_version", str(target)), ("rollup_version", ROLLUP_VERSION)],
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        return target

    def _migrate_stream(self, conn: sqlite3.Connection, s: Stream, exists: bool) -> None:
        table = _q(s.name)
        if not exists:
            cols = ", ".join(f"{_q(c.name)} {_SQL_TYPES[c.type]}" for c in s.columns)
            conn.execute(f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
        else:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            missing = [c for c in s.columns if c.name not in have]
            # Columns added since the recorded version: add them, then give existing rows
            # the column's default (bound as a parameter; DDL defaults cannot be).
            for c in missing:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {_q(c.name)} {_SQL_TYPES[c.type]}")
            if missing:
                sets = ", ".join(f"{_q(c.name)} = ?" for c in missing)
                defaults = [_encoder(s.name, c)(c.default_value()) for c in missing]
                conn.execute(f"UPDATE {table} SET {sets}", defaults)
        for col in ("timestamp", *s.indexes):
            s.column(col)
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {_q(f'ix_{s.name}_{col}')} ON {table} ({_q(col)})"
            )

    def _rebuild_rollup(self, conn: sqlite3.Connection) -> None:
        """(Re)create the hourly llm_logs rollup from the llm_logs rows."""
        keys = ", ".join(f"{k} TEXT NOT NULL" for k in _ROLLUP_KEYS)
        sums = ", ".join(
            f"{k} {'REAL' if k in ('cost_usd', 'latency_ms_sum') else 'INTEGER'} NOT NULL"
            for k in _ROLLUP_SUMS
        )
        conn.execute(f"DROP TABLE IF EXISTS {_q(ROLLUP_TABLE)}")
        conn.execute(
            f"CREATE TABLE {_q(ROLLUP_TABLE)} ({keys}, {sums}, "
            f"PRIMARY KEY ({', '.join(_ROLLUP_KEYS)})) WITHOUT ROWID"
        )
        conn.execute(
            f"INSERT INTO {_q(ROLLUP_TABLE)} ({', '.join(_ROLLUP_KEYS + _ROLLUP_SUMS)}) "
            'SELECT substr("timestamp", 1, 13) || ?, "model", "provider", "origin", '
            '"session_id", count(*), sum("status" != ?), sum("input_tokens"), '
            'sum("output_tokens"), sum("cache_read_tokens"), sum("cache_write_tokens"), '
            'total("estimated_cost_usd"), total("latency_ms") '
            'FROM "llm_logs" GROUP BY 1, 2, 3, 4, 5',
            (_HOUR_SUFFIX, "success"),
        )

    # -- plumbing ---------------------------------------------------------------------

    def _require_open(self) -> asyncio.AbstractEventLoop:
        if not self._open or self._loop is None:
            raise StoreError(f"the local store at {self.path} is not open")
        return self._loop

    def _codec(self, stream: str) -> _Codec:
        codec = self._codecs.get(stream)
        if codec is None:
            schema.stream(stream)  # raises NotFound listing the streams
            self._require_open()
            raise StoreError(f"stream {stream!r} is not open in the local store")
        return codec

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        self._require_open()
        executor = self._writer
        try:
            if executor is None:
                raise RuntimeError
            fut = asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except RuntimeError:
            raise StoreError(f"the local store at {self.path} is closed") from None
        return await fut

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        self._require_open()
        executor = self._readers
        try:
            if executor is None:
                raise RuntimeError
            fut = asyncio.get_running_loop().run_in_executor(executor, self._with_reader, fn, args)
        except RuntimeError:
            raise StoreError(f"the local store at {self.path} is closed") from None
        return await fut

    def _with_reader(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """Run ``fn(conn, *args)`` on a pooled read connection (reader thread)."""
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect_reader()
        try:
            return fn(conn, *args)
        except sqlite3.Error as e:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise StoreError(f"reading the local store at {self.path} failed: {e}") from None
        finally:
            self._pool.put(conn)

    def _connect_reader(self) -> sqlite3.Connection:
        # check_same_thread=False: a pooled connection moves between reader threads, but
        # the pool hands it to one job at a time.
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, cached_statements=256
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the local store at {self.path}: {e}") from None
        self._conns.append(conn)
        return conn

    # -- contract ---------------------------------------------------------------------

    async def schema_version(self) -> int:
        def read(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                f"SELECT value FROM {_q(META_TABLE)} WHERE key = ?", ("schema_version",)
            ).fetchone()
            return int(row[0]) if row else 0

        return await self._read(read)

    async def health(self) -> str:
        try:
            if not self._open:
                return f"the local store at {self.path} is not open"

            def probe(conn: sqlite3.Connection) -> None:
                conn.execute(f"SELECT count(*) FROM {_q(META_TABLE)}").fetchone()

            await asyncio.wait_for(self._read(probe), 5)
            await asyncio.wait_for(self._write(lambda: None), 5)
            free = shutil.disk_usage(self.data_dir).free
            if free < LOW_DISK_BYTES:
                return (
                    f"only {free // (1024 * 1024)} MB free on the disk of {self.data_dir}; "
                    "appends will fail when it fills up"
                )
            return "ok"
        except TimeoutError:
            return f"the local store at {self.path} did not answer within 5 s"
        except PulseError as e:
            return e.message
        except Exception as e:
            return f"the local store at {self.path} is not healthy: {e}"

    async def append(
        self, stream: str, rows: Sequence[Mapping[str, Any]], *, durable: bool = False
    ) -> list[Row]:
        codec = self._codec(stream)
        if isinstance(rows, Mapping):
            raise InvalidArgument("append takes a sequence of rows, not one row")
        if not rows:
            return []
        return await self._write(self._append_sync, codec, rows, durable)

    def _append_sync(
        self, codec: _Codec, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        """Prepare, insert and commit one batch, then hand it to tails (writer thread)."""
        s = codec.stream
        prepared: list[dict[str, Any]] = []
        params: list[tuple[Any, ...]] = []
        fresh = _Fresh()
        for raw in rows:
            if not isinstance(raw, Mapping):
                raise InvalidArgument(f"a row must be a mapping of columns, not {type(raw)}")
            values, stored = codec.prepare(raw, fresh)
            prepared.append(values)
            params.append(stored)
        conn = self._wconn
        if conn is None:
            raise StoreError(f"the local store at {self.path} is closed")
        try:
            if durable:
                conn.execute("PRAGMA synchronous = FULL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(codec.insert_sql, params)
                last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                if s.name == "llm_logs":
                    self._rollup_add(conn, prepared)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            finally:
                if durable:
                    conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as e:
            raise StoreError(
                f"appending to {s.name} in the local store at {self.path} failed "
                f"(nothing of the batch was stored): {e}"
            ) from None
        first = last - len(prepared) + 1
        out = [Row(s.name, first + i, v) for i, v in enumerate(prepared)]
        if self._subs.get(s.name) and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has gone: nobody to tell
                self._loop.call_soon_threadsafe(self._publish, s.name, out)
        return out

    def _rollup_add(self, conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        agg: dict[tuple[str, ...], list[Any]] = {}
        for v in rows:
            key = (
                v["timestamp"][:13] + _HOUR_SUFFIX,
                v["model"],
                v["provider"],
                v["origin"],
                v["session_id"],
            )
            a = agg.get(key)
            if a is None:
                a = agg[key] = [0, 0, 0, 0, 0, 0, 0.0, 0.0]
            a[0] += 1
            if v["status"] != "success":
                a[1] += 1
            a[2] += v["input_tokens"]
            a[3] += v["output_tokens"]
            a[4] += v["cache_read_tokens"]
            a[5] += v["cache_write_tokens"]
            a[6] += v["estimated_cost_usd"]
            a[7] += v["latency_ms"]
        names = _ROLLUP_KEYS + _ROLLUP_SUMS
        updates = ", ".join(f"{k} = {k} + excluded.{k}" for k in _ROLLUP_SUMS)
        conn.executemany(
            f"INSERT INTO {_q(ROLLUP_TABLE)} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)}) "
            f"ON CONFLICT({', '.join(_ROLLUP_KEYS)}) DO UPDATE SET {updates}",
            [(*k, *a) for k, a in agg.items()],
        )

    def _publish(self, stream: str, rows: list[Row]) -> None:
        """Hand freshly committed rows to the stream's tails (event loop thread)."""
        for sub in list(self._subs.get(stream, ())):
            before = sub.overflows
            sub.offer(rows)
            self.tail_overflows += sub.overflows - before

    async def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        start: TailStart = _FROM_LATEST,
        max_batch: int = 500,
    ) -> AsyncGenerator[list[Row], None]:
        codec = self._codec(stream)
        checks = _checks(codec.stream, filters)
        if max_batch < 1:
            raise InvalidArgument(f"max_batch must be at least 1, not {max_batch}")
        if start.kind not in ("earliest", "latest", "after"):
            raise InvalidArgument(f"unknown tail start {start.kind!r} (earliest, latest, after)")
        self._require_open()
        sub = _Subscriber(checks, self._tail_queue_rows)
        subs = self._subs.setdefault(stream, set())
        subs.add(sub)
        try:
            # Registered first: every row committed from here on reaches ``sub``; every
            # row committed before is at most the last sequence number read below.
            if start.kind == "latest":
                last = await self.last_seq(stream)
                backlog = False
            else:
                last = max(0, start.seq) if start.kind == "after" else 0
                backlog = True
            while not sub.closed:
                if backlog:
                    sub.reset()
                    hi = await self.last_seq(stream)
                    while last < hi and not sub.closed:
                        page = await self._read(self._page_sync, codec, checks, last, hi, max_batch)
                        last = hi if len(page) < max_batch else page[-1].seq
                        if page and not sub.closed:
                            yield page
                    backlog = False
                    continue
                if sub.overflowed:
                    backlog = True
                    continue
                batch = sub.take(max_batch, last)
                if batch:
                    last = batch[-1].seq
                    yield batch
                    continue
                sub.event.clear()
                await sub.event.wait()
        except StoreError:
            if sub.closed:
                return  # the store closed under a running read
            raise
        finally:
            subs.discard(sub)

    @staticmethod
    def _page_sync(
        conn: sqlite3.Connection,
        codec: _Codec,
        checks: list[_Check],
        after: int,
        upto: int,
        limit: int,
    ) -> list[Row]:
        parts, params = _where(checks)
        where = " AND ".join(["seq > ?", "seq <= ?", *parts])
        sql = f"SELECT {codec.select_cols} FROM {codec.table} WHERE {where} ORDER BY seq LIMIT ?"
        return [codec.decode(r) for r in conn.execute(sql, [after, upto, *params, limit])]

    async def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        since: str | None = None,
        until: str | None = None,
        order: str = "desc",
        limit: int = 100,
    ) -> list[Row]:
        codec = self._codec(stream)
        checks = _checks(codec.stream, filters)
        if order not in ("asc", "desc"):
            raise InvalidArgument(f"order must be asc or desc, not {order!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}, not {limit!r}")
        lo, hi = _norm_time(since, "since"), _norm_time(until, "until")
        parts, params = _where(checks)
        if lo is not None:
            parts.append('"timestamp" >= ?')
            params.append(lo)
        if hi is not None:
            parts.append('"timestamp" < ?')
            params.append(hi)
        where = f" WHERE {' AND '.join(parts)}" if parts else ""
        direction = "ASC" if order == "asc" else "DESC"
        sql = (
            f"SELECT {codec.select_cols} FROM {codec.table}{where} ORDER BY seq {direction} LIMIT ?"
        )
        params.append(limit)

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql, params)]

        return await self._read(run)

    async def last_seq(self, stream: str) -> int:
        codec = self._codec(stream)

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(f"SELECT max(seq) FROM {codec.table}").fetchone()
            return int(row[0] or 0)

        return await self._read(run)

    async def count(self, stream: str) -> int:
        codec = self._codec(stream)

        def run(conn: sqlite3.Connection) -> int:
            return int(conn.execute(f"SELECT count(*) FROM {codec.table}").fetchone()[0])

        return await self._read(run)

    async def cost_summary(
        self, since: str | None = None, until: str | None = None, by: str = ""
    ) -> CostSummary:
        check_grouping(by)
        self._codec("llm_logs")
        lo, hi = _norm_time(since, "since"), _norm_time(until, "until")
        if lo is not None and hi is not None and lo >= hi:
            return CostSummary()
        return await self._read(self._cost_sync, lo, hi, by)

    @staticmethod
    def _cost_sync(
        conn: sqlite3.Connection, lo: str | None, hi: str | None, by: str
    ) -> CostSummary:
        """Rollup for whole hours + raw rows for partial edge hours (reader thread)."""
        # Whole hours H inside [lo, hi): ceil_hour(lo) <= H < floor_hour(hi).
        h_lo = _ceil_hour(lo) if lo is not None else None
        h_hi = _floor_hour(hi) if hi is not None else None
        raw_ranges: list[tuple[str | None, str | None]] = []
        use_rollup = True
        if h_lo is not None and h_hi is not None and h_lo >= h_hi:
            raw_ranges.append((lo, hi))
            use_rollup = False
        else:
            if lo is not None and h_lo is not None and lo < h_lo:
                raw_ranges.append((lo, h_lo))
            if hi is not None and h_hi is not None and h_hi < hi:
                raw_ranges.append((h_hi, hi))

        def key_sql(ts: str) -> str:
            if by == "hour":
                return f"substr({ts}, 1, 13)"
            if by == "day":
                return f"substr({ts}, 1, 10)"
            return _q({"session": "session_id"}.get(by, by))

        suffix = {"hour": _HOUR_SUFFIX, "day": _DAY_SUFFIX}.get(by, "")
        buckets: dict[str, CostBucket] = {}

        def add(sql: str, params: list[Any]) -> None:
            for r in conn.execute(sql, params):
                key = (r[0] + suffix) if by else ""
                if r[1] is None or r[1] == 0:
                    continue
                b = buckets.get(key)
                if b is None:
                    b = buckets[key] = CostBucket(key=key)
                b.requests += int(r[1])
                b.errors += int(r[2] or 0)
                b.input_tokens += int(r[3] or 0)
                b.output_tokens += int(r[4] or 0)
                b.cache_read_tokens += int(r[5] or 0)
                b.cache_write_tokens += int(r[6] or 0)
                b.cost_usd += float(r[7] or 0.0)
                b.latency_ms_sum += float(r[8] or 0.0)

        conn.execute("BEGIN")  # one snapshot for the rollup and the raw edges
        try:
            if use_rollup:
                sel = key_sql("hour") if by else "''"
                sums = ", ".join(
                    f"{'total' if k in ('cost_usd', 'latency_ms_sum') else 'sum'}({k})"
                    for k in _ROLLUP_SUMS
                )
                parts, params = [], []
                if h_lo is not None:
                    parts.append("hour >= ?")
                    params.append(h_lo)
                if h_hi is not None:
                    parts.append("hour < ?")
                    params.append(h_hi)
                where = f" WHERE {' AND '.join(parts)}" if parts else ""
                group = " GROUP BY 1" if by else ""
                add(f"SELECT {sel}, {sums} FROM {_q(ROLLUP_TABLE)}{where}{group}", params)
            for start, end in raw_ranges:
                sel = key_sql('"timestamp"') if by else "''"
                parts, params = [], ["success"]
                if start is not None:
                    parts.append('"timestamp" >= ?')
                    params.append(start)
                if end is not None:
                    parts.append('"timestamp" < ?')
                    params.append(end)
                where = f" WHERE {' AND '.join(parts)}" if parts else ""
                group = " GROUP BY 1" if by else ""
                add(
                    f'SELECT {sel}, count(*), sum("status" != ?), sum("input_tokens"), '
                    'sum("output_tokens"), sum("cache_read_tokens"), sum("cache_write_tokens"), '
                    'total("estimated_cost_usd"), total("latency_ms") '
                    f'FROM "llm_logs"{where}{group}',
                    params,
                )
        finally:
            conn.execute("COMMIT")

        return CostSummary.of(buckets, by)

    async def sessions(self, limit: int = 50) -> list[SessionInfo]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"limit must be between 1 and {MAX_LIMIT}, not {limit!r}")
        self._codec("messages")

        def run(conn: sqlite3.Connection) -> list[SessionInfo]:
            conn.execute("BEGIN")
            try:
                groups = conn.execute(
                    'SELECT "session_id", count(*), min("timestamp"), max("timestamp"), '
                    'max(seq) FROM "messages" WHERE "session_id" != ? GROUP BY "session_id" '
                    "ORDER BY 4 DESC, 5 DESC LIMIT ?",
                    ("", limit),
                ).fetchall()
                out = []
                for sid, n, first, last, _ in groups:
                    row = conn.execute(
                        'SELECT "content" FROM "messages" WHERE "session_id" = ? '
                        'AND "message_type" = ? ORDER BY seq LIMIT 1',
                        (sid, "user_input"),
                    ).fetchone()
                    out.append(SessionInfo(sid, int(n), first, last, _title(row)))
                return out
            finally:
                conn.execute("COMMIT")

        return await self._read(run)

    async def unanswered(self, since: str | None = None) -> list[Row]:
        codec = self._codec("messages")
        lo = _norm_time(since, "since")
        cols = ", ".join(["m.seq", *(f"m.{_q(n)}" for n in codec.names)])
        parts = ['m."message_type" IN (?, ?)']
        params: list[Any] = [*_INPUT_TYPES]
        if lo is not None:
            parts.append('m."timestamp" >= ?')
            params.append(lo)
        params.extend(_ANSWER_TYPES)
        sql = (
            f'SELECT {cols} FROM "messages" AS m WHERE {" AND ".join(parts)} '
            'AND NOT EXISTS (SELECT 1 FROM "messages" AS r WHERE r."reply_to" = m."id" '
            'AND r."message_type" IN (?, ?)) ORDER BY m.seq'
        )

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql, params)]

        return await self._read(run)

    async def latest_by(self, stream: str, key: str) -> list[Row]:
        codec = self._codec(stream)
        col = _q(codec.stream.column(key).name)
        sql = (
            f"SELECT {codec.select_cols} FROM {codec.table} WHERE seq IN "
            f"(SELECT max(seq) FROM {codec.table} GROUP BY {col}) ORDER BY {col}, seq"
        )

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql)]

        return await self._read(run)


def _title(row: Sequence[Any] | None) -> str:
    """The text of a user_input message's JSON content ('' when it has none)."""
    if row is None:
        return ""
    try:
        content = json.loads(row[0])
    except (TypeError, ValueError):
        return ""
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""
