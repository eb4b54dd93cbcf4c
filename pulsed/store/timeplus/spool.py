"""A local, durable spool of rows waiting for a remote store (the Timeplus backend).

When Timeplus cannot take an append, the rows are written here, acknowledged, and sent
later in the order they came. The spool is a small SQLite file in the data directory
(WAL; ``synchronous = FULL`` for durable appends), one row per appended batch, so a
crash loses nothing that was acknowledged. Every method blocks; the store calls them
from its writer thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsed.errors import StoreError

SPOOL_NAME = "timeplus-spool.db"


@dataclass(frozen=True)
class Batch:
    """One spooled append: its stream, its rows (as they will be inserted), and whether
    an earlier insert of it may have reached the server (then replays check ids first)."""

    id: int
    stream: str
    rows: list[dict[str, Any]]
    uncertain: bool


class Spool:
    """Batches of rows for a remote store, kept in order in ``data_dir/timeplus-spool.db``.

    Raises (every method):
        StoreError: the spool file cannot be read or written.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SPOOL_NAME
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._rows = 0
        self._batches = 0

    def open(self) -> None:
        """Open (creating) the spool file, private to the user."""
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS spool (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "stream TEXT NOT NULL, rows TEXT NOT NULL, n INTEGER NOT NULL, "
                "uncertain INTEGER NOT NULL DEFAULT 0)"
            )
            self._rows, self._batches = (
                int(x or 0) for x in conn.execute("SELECT sum(n), count(*) FROM spool").fetchone()
            )
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the Timeplus spool at {self.path}: {e}") from None
        self._conn = conn

    def close(self) -> None:
        """Close the file (idempotent; what was added stays)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the Timeplus spool at {self.path} is not open")
        return self._conn

    @property
    def rows(self) -> int:
        """Rows waiting."""
        return self._rows

    @property
    def batches(self) -> int:
        """Batches waiting."""
        return self._batches

    def add(
        self, stream: str, rows: list[dict[str, Any]], *, durable: bool, uncertain: bool = False
    ) -> None:
        """Keep one batch (after every batch already kept). With ``durable`` it survives
        a power loss when this returns; otherwise a process crash."""
        text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            db = self._db()
            try:
                if durable:
                    db.execute("PRAGMA synchronous = FULL")
                try:
                    db.execute(
                        "INSERT INTO spool (stream, rows, n, uncertain) VALUES (?, ?, ?, ?)",
                        (stream, text, len(rows), int(uncertain)),
                    )
                finally:
                    if durable:
                        db.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as e:
                raise StoreError(
                    f"cannot write to the Timeplus spool at {self.path}: {e}"
                ) from None
            self._rows += len(rows)
            self._batches += 1

    def first(self) -> Batch | None:
        """The oldest batch, or None when the spool is empty."""
        with self._lock:
            try:
                rec = (
                    self._db()
                    .execute("SELECT id, stream, rows, uncertain FROM spool ORDER BY id LIMIT 1")
                    .fetchone()
                )
            except sqlite3.Error as e:
                raise StoreError(f"cannot read the Timeplus spool at {self.path}: {e}") from None
        if rec is None:
            return None
        return Batch(int(rec[0]), str(rec[1]), json.loads(rec[2]), bool(rec[3]))

    def all(self) -> list[Batch]:
        """Every batch, oldest first (to rebuild what the store serves after a restart)."""
        with self._lock:
            try:
                recs = (
                    self._db()
                    .execute("SELECT id, stream, rows, uncertain FROM spool ORDER BY id")
                    .fetchall()
                )
            except sqlite3.Error as e:
                raise StoreError(f"cannot read the Timeplus spool at {self.path}: {e}") from None
        return [Batch(int(r[0]), str(r[1]), json.loads(r[2]), bool(r[3])) for r in recs]

    def remove(self, batch: Batch) -> None:
        """Forget a batch that reached the server."""
        with self._lock:
            try:
                cur = self._db().execute("DELETE FROM spool WHERE id = ?", (batch.id,))
            except sqlite3.Error as e:
                raise StoreError(
                    f"cannot write to the Timeplus spool at {self.path}: {e}"
                ) from None
            if cur.rowcount:
                self._rows -= len(batch.rows)
                self._batches -= 1

    def replace(self, batch: Batch, rows: list[dict[str, Any]]) -> Batch:
        """Keep only ``rows`` of ``batch`` (those not found on the server), now certain."""
        text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            try:
                self._db().execute(
                    "UPDATE spool SET rows = ?, n = ?, uncertain = 0 WHERE id = ?",
                    (text, len(rows), batch.id),
                )
            except sqlite3.Error as e:
                raise StoreError(
                    f"cannot write to the Timeplus spool at {self.path}: {e}"
                ) from None
            self._rows += len(rows) - len(batch.rows)
        return Batch(batch.id, batch.stream, rows, False)
