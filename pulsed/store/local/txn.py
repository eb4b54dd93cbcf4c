"""One write transaction on a SQLite connection of the local store (appends, purges,
migrations): ``BEGIN IMMEDIATE``, committed when the block ends, rolled back on any
error."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, durable: bool) -> Iterator[None]:
    """One write transaction on ``conn``: committed when the block ends, rolled back when
    it raises; ``durable``: fsync'd on commit (``synchronous = FULL`` for it alone).

    Raises:
        sqlite3.Error: from SQLite (after the rollback).
    """
    if durable:
        conn.execute("PRAGMA synchronous = FULL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    finally:
        if durable:
            conn.execute("PRAGMA synchronous = NORMAL")
