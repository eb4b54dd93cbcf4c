"""The local store's readers: a small thread pool sharing read-only SQLite connections.

Reads never wait for the writer (WAL readers see the last commit) and never block the
event loop. Connections are opened on first need, at most one per concurrent read, and
kept for the next read; each is ``query_only``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pulsed.errors import StoreError
from pulsed.store.local.writer import BUSY_TIMEOUT_MS

T = TypeVar("T")


class Readers:
    """Up to ``size`` concurrent reads of the database at ``path``."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = max(1, size)
        self._executor: ThreadPoolExecutor | None = None
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._conns: list[sqlite3.Connection] = []

    def open(self) -> None:
        """Start the threads (connections open on first use)."""
        self._executor = ThreadPoolExecutor(self.size, thread_name_prefix="pulse-store-reader")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a reader thread with a pooled connection.

        Raises:
            StoreError: the readers are closed, a connection cannot be opened, or SQLite
                failed the read (an open transaction of ``fn`` is rolled back).
        """
        executor = self._executor
        try:
            if executor is None:
                raise RuntimeError
            fut = asyncio.get_running_loop().run_in_executor(executor, self._with_conn, fn, args)
        except RuntimeError:
            raise StoreError(f"the local store at {self.path} is closed") from None
        return await fut

    async def close(self) -> None:
        """Stop the threads, then close every connection (idempotent)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, True)
        for conn in self._conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._conns.clear()
        self._pool = queue.SimpleQueue()

    def _with_conn(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            return fn(conn, *args)
        except sqlite3.Error as e:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise StoreError(f"reading the local store at {self.path} failed: {e}") from None
        finally:
            self._pool.put(conn)

    def _connect(self) -> sqlite3.Connection:
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
