"""``LocalStore``: the embedded backend of the ``base.Store`` contract.

It ties the parts of this package together: the writer thread (``writer.py``), the
read pool (``readers.py``), push-based tails (``tails.py``), per-stream codecs and
filters (``codec.py``, ``filters.py``) and the cost rollup (``rollup.py``), and answers
the contract's reads with SQL over ``data_dir/pulse.db``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pulsed.errors import PulseError, StoreError
from pulsed.store import schema
from pulsed.store.base import Check, CostSummary, Row, SessionInfo, Store, TailStart
from pulsed.store.local import memory_index, purge, rollup, schema_sql
from pulsed.store.local.backup import BackupInfo, backup_to
from pulsed.store.local.codec import Codec, quote
from pulsed.store.local.filters import Predicate, predicates, where
from pulsed.store.local.memory_vectors import VectorCache
from pulsed.store.local.readers import Readers
from pulsed.store.local.tails import TAIL_QUEUE_ROWS, Tails
from pulsed.store.local.writer import Writer
from pulsed.store.schema import Stream

T = TypeVar("T")

DB_NAME = "pulse.db"
READERS = 4
"""Read connections (and threads) at most."""
LOW_DISK_BYTES = 100 * 1024 * 1024
"""Free disk space below which ``health`` warns."""
HEALTH_TIMEOUT_S = 5
_ANSWER_TYPES = ("agent_response", "error")
_INPUT_TYPES = schema.INPUT_TYPES


class LocalStore(Store):
    """The embedded SQLite backend. ``data_dir/pulse.db`` holds every stream.

    ``readers`` bounds concurrent reads; ``tail_queue_rows`` is how many live rows a tail
    may hold before it re-reads from the database.
    """

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
        self._tails = Tails(tail_queue_rows)
        self._subs = self._tails.subs
        self._readers = Readers(self.path, readers)
        self._writer = Writer(self.data_dir, self.path, self._tails.committed)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._codecs: dict[str, Codec] = {}
        self._vectors = VectorCache()
        self._vectors_lock = asyncio.Lock()
        self._version = 0
        self._open = False

    @property
    def tail_overflows(self) -> int:
        """How often a tail's live queue overflowed and it re-read from the database."""
        return self._tails.overflows

    # -- lifecycle --------------------------------------------------------------------

    async def open(self) -> None:
        """Create or open ``data_dir/pulse.db`` and migrate it; idempotent.

        Raises:
            FailedPrecondition: another process (another pulsed) holds the database.
            StoreError: the database is missing or empty while the data dir shows it
                held data (``guard``), the file cannot be created, opened, put in WAL
                mode or migrated, or its schema is newer than this Pulse.
        """
        if self._open:
            return
        self._loop = asyncio.get_running_loop()
        self._tails.loop = self._loop
        self._codecs = {name: Codec(s) for name, s in schema.STREAMS.items()}
        self._readers.open()
        try:
            self._version = await self._writer.open()
        except BaseException:
            await self._shutdown()
            raise
        self._open = True

    async def close(self) -> None:
        """End running tails, then close the writer and the readers; idempotent."""
        if not self._open:
            return
        self._open = False
        self._tails.close_all()
        await self._shutdown()

    async def _shutdown(self) -> None:
        # Readers first: the writer's close releases the database lock, whose fd must
        # outlive every connection (``guard``).
        await self._readers.close()
        await self._writer.close()

    # -- plumbing ---------------------------------------------------------------------

    def _require_open(self) -> asyncio.AbstractEventLoop:
        if not self._open or self._loop is None:
            raise StoreError(f"the local store at {self.path} is not open")
        return self._loop

    def _codec(self, s: Stream) -> Codec:
        codec = self._codecs.get(s.name)
        if codec is None:
            self._require_open()
            raise StoreError(f"stream {s.name!r} is not open in the local store")
        return codec

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a reader thread (see ``Readers.run``)."""
        self._require_open()
        return await self._readers.run(fn, *args)

    async def backup(self, dest: str, overwrite: bool = False) -> BackupInfo:
        """A consistent copy of the database at ``dest`` while the daemon runs (see
        ``pulsed.store.local.backup``; raises as ``backup_to``)."""
        return await self._read(backup_to, dest, overwrite, list(schema.STREAMS))

    # -- contract -----------------------------------------------------------------------

    async def schema_version(self) -> int:
        """The schema version the file records."""
        return await self._read(schema_sql.recorded_version)

    async def _health(self) -> str:
        """``"ok"``; or why not: closed, a read or write that does not answer within
        5 s, a failing file, or under 100 MB free on its disk. Never raises."""
        try:
            if not self._open:
                return f"the local store at {self.path} is not open"
            await asyncio.wait_for(self._read(schema_sql.probe), HEALTH_TIMEOUT_S)
            await asyncio.wait_for(self._writer.call(lambda: None), HEALTH_TIMEOUT_S)
            free = shutil.disk_usage(self.data_dir).free
            if free < LOW_DISK_BYTES:
                return (
                    f"only {free // (1024 * 1024)} MB free on the disk of {self.data_dir}; "
                    "appends will fail when it fills up"
                )
            return "ok"
        except TimeoutError:
            return f"the local store at {self.path} did not answer within {HEALTH_TIMEOUT_S} s"
        except PulseError as e:
            return e.message
        except Exception as e:
            return f"the local store at {self.path} is not healthy: {e}"

    async def _append(
        self, stream: Stream, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        codec = self._codec(stream)
        self._require_open()
        stored = await self._writer.append(codec, rows, durable)
        if stream.name == memory_index.STREAM:
            self._vectors.update(stored)
        return stored

    def _tail(
        self, stream: Stream, checks: list[Check], start: TailStart, max_batch: int
    ) -> AsyncGenerator[list[Row], None]:
        codec = self._codec(stream)
        preds = predicates(checks)
        self._require_open()

        async def last_seq() -> int:
            return await self._last_seq(stream)

        async def page(after: int, upto: int, limit: int) -> list[Row]:
            return await self._read(_page, codec, preds, after, upto, limit)

        return self._tails.follow(stream.name, preds, start, max_batch, last_seq, page)

    async def _query(
        self,
        stream: Stream,
        checks: list[Check],
        since: str | None,
        until: str | None,
        order: str,
        limit: int,
    ) -> list[Row]:
        codec = self._codec(stream)
        parts, params = where(predicates(checks))
        if since is not None:
            parts.append('"timestamp" >= ?')
            params.append(since)
        if until is not None:
            parts.append('"timestamp" < ?')
            params.append(until)
        cond = f" WHERE {' AND '.join(parts)}" if parts else ""
        direction = "ASC" if order == "asc" else "DESC"
        sql = (
            f"SELECT {codec.select_cols} FROM {codec.table}{cond} ORDER BY seq {direction} LIMIT ?"
        )
        params.append(limit)

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql, params)]

        return await self._read(run)

    async def _last_seq(self, stream: Stream) -> int:
        codec = self._codec(stream)

        def run(conn: sqlite3.Connection) -> int:
            row = conn.execute(f"SELECT max(seq) FROM {codec.table}").fetchone()
            return int(row[0] or 0)

        return await self._read(run)

    async def _count(self, stream: Stream) -> int:
        codec = self._codec(stream)

        def run(conn: sqlite3.Connection) -> int:
            return int(conn.execute(f"SELECT count(*) FROM {codec.table}").fetchone()[0])

        return await self._read(run)

    async def _cost_summary(self, since: str | None, until: str | None, by: str) -> CostSummary:
        self._codec(schema.LLM_LOGS)
        return await self._read(rollup.summarise, since, until, by)

    async def _sessions(self, limit: int) -> list[SessionInfo]:
        self._codec(schema.MESSAGES)

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

    async def _purge_session(self, session_id: str, keep_events: Sequence[str]) -> dict[str, int]:
        self._codec(schema.MESSAGES)
        return await self._writer.transaction(purge.purge, session_id, tuple(keep_events))

    async def _unanswered(self, since: str | None) -> list[Row]:
        codec = self._codec(schema.MESSAGES)
        cols = ", ".join(["m.seq", *(f"m.{quote(n)}" for n in codec.names)])
        marks = ", ".join("?" for _ in _INPUT_TYPES)
        parts = [f'm."message_type" IN ({marks})']
        params: list[Any] = [*_INPUT_TYPES]
        if since is not None:
            parts.append('m."timestamp" >= ?')
            params.append(since)
        params.extend(_ANSWER_TYPES)
        sql = (
            f'SELECT {cols} FROM "messages" AS m WHERE {" AND ".join(parts)} '
            'AND NOT EXISTS (SELECT 1 FROM "messages" AS r WHERE r."reply_to" = m."id" '
            'AND r."message_type" IN (?, ?)) ORDER BY m.seq'
        )

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql, params)]

        return await self._read(run)

    async def _latest_by(self, stream: Stream, key: str) -> list[Row]:
        codec = self._codec(stream)
        col = quote(key)
        sql = (
            f"SELECT {codec.select_cols} FROM {codec.table} WHERE seq IN "
            f"(SELECT max(seq) FROM {codec.table} GROUP BY {col}) ORDER BY {col}, seq"
        )

        def run(conn: sqlite3.Connection) -> list[Row]:
            return [codec.decode(r) for r in conn.execute(sql)]

        return await self._read(run)

    async def _memory_search(self, terms: list[str], limit: int) -> list[tuple[Row, float]]:
        codec = self._codec(schema.MEMORY)
        sql = memory_index.search_sql(codec.names)
        match = memory_index.match_query(terms)

        def run(conn: sqlite3.Connection) -> list[tuple[Row, float]]:
            out = []
            for rec in conn.execute(sql, (match, limit)):
                out.append((codec.decode(rec[:-1]), -float(rec[-1])))
            return out

        return await self._read(run)

    async def _memory_nearest(self, vector: list[float], limit: int) -> list[tuple[Row, float]]:
        codec = self._codec(schema.MEMORY)
        async with self._vectors_lock:
            if not self._vectors.loaded:
                self._vectors.begin_load()
                try:
                    current = await self._read(_current_vectors)
                except BaseException:
                    self._vectors.loading = False
                    raise
                self._vectors.finish_load(current)
        best = self._vectors.nearest(vector, limit)
        if not best:
            return []
        marks = ", ".join("?" for _ in best)
        sql = f"SELECT {codec.select_cols} FROM {codec.table} WHERE seq IN ({marks})"

        def run(conn: sqlite3.Connection) -> dict[int, Row]:
            return {
                r.seq: r for r in (codec.decode(x) for x in conn.execute(sql, [s for s, _ in best]))
            }

        found = await self._read(run)
        return [(found[seq], sim) for seq, sim in best if seq in found]


def _current_vectors(conn: sqlite3.Connection) -> list[tuple[str, int, list[float]]]:
    """(id, seq, embedding) of every current, not forgotten memory with an embedding."""
    sql = (
        'SELECT "id", seq, "embedding" FROM "memory" WHERE seq IN '
        '(SELECT max(seq) FROM "memory" GROUP BY "id") AND NOT "is_deleted" '
        'AND "embedding" != ?'
    )
    return [(mid, seq, json.loads(emb)) for mid, seq, emb in conn.execute(sql, ("[]",))]


def _page(
    conn: sqlite3.Connection,
    codec: Codec,
    preds: list[Predicate],
    after: int,
    upto: int,
    limit: int,
) -> list[Row]:
    """Matching rows with ``after < seq <= upto``, in seq order, at most ``limit``."""
    parts, params = where(preds)
    cond = " AND ".join(["seq > ?", "seq <= ?", *parts])
    sql = f"SELECT {codec.select_cols} FROM {codec.table} WHERE {cond} ORDER BY seq LIMIT ?"
    return [codec.decode(r) for r in conn.execute(sql, [after, upto, *params, limit])]


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
