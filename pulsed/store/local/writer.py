"""The local store's writer: one thread owning the only writing SQLite connection.

It creates the data directory and database file (private to the user), locks the file
for its lifetime and refuses one that was lost (``guard``), opens the file in WAL mode,
migrates it (``schema_sql.migrate``) and commits every append in one transaction per
batch (multi-row INSERTs of up to 128 rows, ``Codec.chunks``, each statement text
cached), the llm_logs rollup included. Rows are checked and encoded before they reach
the writer thread (``Codec.prepare_all``, column-wise where it can: ``columns``; on the
event loop for small batches, on a worker thread for large ones), so the thread that
holds the only writing connection spends its time in SQLite; WAL checkpoints run on a
thread of their own (``checkpoint``), so a commit never waits for one. After each commit
it hands the new rows to ``on_commit`` (on the writer thread, in commit order), which is
how tails learn of them without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from pathlib import Path
from typing import Any, TypeVar

from pulsed.errors import InvalidArgument, StoreError
from pulsed.store.base import Row, bad_value
from pulsed.store.local import guard, memory_index, rollup
from pulsed.store.local.checkpoint import BOUND_FRAMES, Checkpointer, WalIndex
from pulsed.store.local.codec import Codec, Fresh
from pulsed.store.local.schema_sql import migrate
from pulsed.store.local.txn import transaction

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
LOOP_ENCODE_ROWS = 256
"""Batches up to this many rows are encoded on the event loop; larger ones on a worker
thread (so the loop never stalls for long, and encoding overlaps other batches' I/O)."""
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
"""Bytes the WAL file is truncated to after a checkpoint."""


class Writer:
    """The writer thread and its connection to ``path`` (in ``data_dir``).

    ``on_commit(stream, rows)`` is called on the writer thread after each committed
    append; it must not block.
    """

    def __init__(
        self, data_dir: Path, path: Path, on_commit: Callable[[str, list[Row]], None]
    ) -> None:
        self.data_dir = data_dir
        self.path = path
        self.on_commit = on_commit
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._max_vars = 999
        """Values one statement may bind (the connection's limit, read at open)."""
        self._lock = guard.DbLock(path)
        self._order = asyncio.Lock()
        self.checkpointer: Checkpointer | None = None
        """The WAL checkpoint thread (``checkpoint``); None: SQLite's autocheckpoint."""

    async def open(self) -> int:
        """Start the thread, lock, create or open the database and migrate it.

        Returns:
            The schema version recorded.

        Raises:
            FailedPrecondition: another process (another pulsed) holds the database.
            StoreError: the database is missing or empty while the data dir shows it
                held data, or the file cannot be created, opened, put in WAL mode or
                migrated.
        """
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pulse-store-writer")
        self._order = asyncio.Lock()  # of this loop
        return await self.call(self._open_sync)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the writer thread.

        Raises:
            StoreError: the writer is closed.
        """
        return await self._submit(fn, *args)

    def _submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(*args)`` on the writer thread (in call order); its future.

        Raises:
            StoreError: the writer is closed.
        """
        executor = self._executor
        try:
            if executor is None:
                raise RuntimeError
            return asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except RuntimeError:
            raise StoreError(f"the local store at {self.path} is closed") from None

    async def append(
        self, codec: Codec, rows: Sequence[Mapping[str, Any]], durable: bool
    ) -> list[Row]:
        """Check, insert and commit one batch; the rows as stored, with their seqs.

        Raises:
            InvalidArgument: a row that is not a mapping, an unknown column or a value
                that does not fit, an int beyond 64 bits included (nothing is stored).
            StoreError: SQLite failed (nothing of the batch is stored), or closed.
        """
        # Batches reach the writer thread in call order (the lock is FIFO), so seqs follow
        # the order of the appends; the next batch is encoded while one is written.
        async with self._order:
            if len(rows) <= LOOP_ENCODE_ROWS:
                values, params = codec.prepare_all(rows, Fresh())
            else:
                values, params = await asyncio.to_thread(codec.prepare_all, rows, Fresh())
            fut = self._submit(self._append_sync, codec, values, params, durable)
        return await fut

    async def transaction(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on the writer thread in one durable transaction (fsync'd
        on commit); rolled back when it raises.

        Raises:
            StoreError: SQLite failed (nothing was changed), or the writer is closed.
        """
        async with self._order:
            fut: asyncio.Future[T] = self._submit(self._transaction_sync, fn, args)
        return await fut

    async def close(self) -> None:
        """Close the connection and stop the thread (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(executor, self._close_sync)
        await asyncio.to_thread(executor.shutdown, True)

    # -- on the writer thread ---------------------------------------------------------

    def _close_sync(self) -> None:
        conn, self._conn = self._conn, None
        checkpointer, self.checkpointer = self.checkpointer, None
        try:
            if checkpointer is not None:
                checkpointer.stop()  # before the writer's close, which checkpoints last
            if conn is not None:
                conn.close()
        finally:
            self._lock.release()  # last: the readers' connections are closed before this

    def _open_sync(self) -> int:
        """Lock the database file (``guard.DbLock``), open the writer connection, create
        missing tables, migrate, then record the store's marker.

        Raises:
            FailedPrecondition: another process holds the database.
            StoreError: the database was lost (missing or empty while the data dir shows
                it held data), or cannot be created, opened, put in WAL mode or migrated.
        """
        try:
            created = not self.data_dir.exists()
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if created:
                os.chmod(self.data_dir, 0o700)
        except OSError as e:
            raise StoreError(f"cannot create the local store at {self.path}: {e}") from None
        self._lock.acquire()  # before SQLite may create or touch anything
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=256)
        except sqlite3.Error as e:
            self._lock.release()
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
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            version = migrate(conn, self.path)
            guard.record(self.data_dir, self.path.name, version)
        except (sqlite3.Error, ValueError) as e:
            conn.close()
            self._lock.release()
            raise StoreError(f"cannot open the local store at {self.path}: {e}") from None
        except BaseException:
            conn.close()
            self._lock.release()
            raise
        self._conn = conn
        self._max_vars = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._start_checkpointer(conn)
        return version

    def _start_checkpointer(self, conn: sqlite3.Connection) -> None:
        """Move WAL checkpoints off this thread (``checkpoint``) when the wal-index
        header reads as documented; else SQLite's autocheckpoint goes on as it was."""
        index = WalIndex.open(self.path, conn.execute("PRAGMA page_size").fetchone()[0])
        if index is None:
            return
        checkpointer = Checkpointer(self.path, index)
        try:
            checkpointer.start()
        except sqlite3.Error:
            checkpointer.stop()
            return
        conn.execute(f"PRAGMA wal_autocheckpoint = {BOUND_FRAMES}")
        self.checkpointer = checkpointer

    def _transaction_sync(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._connection()
        try:
            with transaction(conn, durable=True):
                out = fn(conn, *args)
        except sqlite3.Error as e:
            raise StoreError(
                f"a change to the local store at {self.path} failed (nothing was changed): {e}"
            ) from None
        self._committed()
        return out

    def _committed(self) -> None:
        """After a commit: let the checkpointer see how far the WAL has grown."""
        if self.checkpointer is not None:
            self.checkpointer.after_commit()

    def _connection(self) -> sqlite3.Connection:
        """The writing connection (on the writer thread).

        Raises:
            StoreError: the writer is closed.
        """
        if self._conn is None:
            raise StoreError(f"the local store at {self.path} is closed")
        return self._conn

    def _append_sync(
        self,
        codec: Codec,
        prepared: list[dict[str, Any]],
        params: list[tuple[Any, ...]],
        durable: bool,
    ) -> list[Row]:
        """Insert and commit one prepared batch, then hand it to ``on_commit``."""
        s = codec.stream
        conn = self._connection()
        try:
            with transaction(conn, durable):
                for sql, flat in codec.chunks(params, self._max_vars):
                    conn.execute(sql, flat)
                last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                if s.name == "llm_logs":
                    rollup.add(conn, prepared)
                elif s.name == memory_index.STREAM:
                    memory_index.add(conn, prepared, last - len(prepared) + 1)
        except sqlite3.Error as e:
            raise StoreError(
                f"appending to {s.name} in the local store at {self.path} failed "
                f"(nothing of the batch was stored): {e}"
            ) from None
        except OverflowError:
            # An int beyond SQLite's 64 bits (rolled back above); checked here, not per
            # value, to keep the common path fast.
            raise _too_big(codec, prepared) from None
        first = last - len(prepared) + 1
        out = list(map(Row, repeat(s.name, len(prepared)), range(first, last + 1), prepared))
        self._committed()
        self.on_commit(s.name, out)
        return out


def _too_big(codec: Codec, rows: list[dict[str, Any]]) -> InvalidArgument:
    """The error naming the first int value of ``rows`` outside SQLite's 64 bits."""
    ints = [c for c in codec.stream.columns if c.type == "int"]
    for values in rows:
        for col in ints:
            v = values[col.name]
            if not -(2**63) <= v < 2**63:
                return bad_value(codec.name, col, v)
    return InvalidArgument(f"a value of the {codec.name} batch does not fit SQLite")
