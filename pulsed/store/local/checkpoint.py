"""WAL checkpoints of the local store, on a thread of their own.

SQLite's automatic checkpoint runs in the connection that commits, right after the
commit: every ~1000 WAL pages the writer thread stops to copy the WAL into the database
file and fsync both, and the appends queued behind it wait. Here the writer only looks
at how many frames of the WAL are not yet copied (``WalIndex.pending``, a read of the
wal-index header in ``pulse.db-shm``) and, past ``THRESHOLD_FRAMES``, wakes the
``Checkpointer``, which runs a PASSIVE checkpoint (never waits for readers or the
writer) on its own connection while the writer goes on. SQLite's own autocheckpoint
stays on the writer at ``BOUND_FRAMES``, a bound on the WAL for when the checkpointer
cannot keep up. Where the header is not what this module reads (``WalIndex.open`` answers
None), the writer keeps SQLite's default autocheckpoint and no thread is started.

The wal-index header's layout is SQLite's documented file format
(https://www.sqlite.org/walformat.html section 2.2, ``WalIndexHdr`` and ``WalCkptInfo``
in ``src/wal.c``), fixed since 3.7.0: two copies of a 48-byte header, then the checkpoint
info; all native byte order. ``mxFrame`` (frames in the WAL) is the u32 at byte 16,
``nBackfill`` (frames already copied) the u32 at byte 96. The read takes no lock, so a
read racing a commit may be one commit stale: it only decides when to checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import sqlite3
import struct
import threading
from pathlib import Path

log = logging.getLogger("pulsed.store")

THRESHOLD_FRAMES = 1000
"""Frames not yet checkpointed that wake the checkpointer (SQLite's default
autocheckpoint, so the database file is as current as it would be without it)."""
BOUND_FRAMES = 8 * THRESHOLD_FRAMES
"""The writer's own autocheckpoint while the checkpointer runs: the WAL's bound (about
32 MB of 4 KiB pages) when checkpoints cannot keep up with appends."""
DEFAULT_AUTOCHECKPOINT = 1000
"""SQLite's autocheckpoint default, kept when there is no checkpointer."""
WAL_INDEX_VERSION = 3007000
"""``iVersion`` of the wal-index header (walformat.html)."""
_HEADER = struct.Struct("=IIIBBHI")
"""The wal-index header's start: iVersion, unused, iChange, isInit, bigEndCksum, szPage,
mxFrame."""
_BACKFILL = struct.Struct("=I")
_BACKFILL_AT = 96
_HEADER_BYTES = 136


class WalIndex:
    """A read-only view of a database's wal-index header (``<db>-shm``)."""

    def __init__(self, fd: int, view: mmap.mmap) -> None:
        self._fd = fd
        self._view = view

    @classmethod
    def open(cls, db: Path, page_size: int) -> WalIndex | None:
        """The header of ``db``'s WAL (open in WAL mode by a connection of this process,
        pages of ``page_size`` bytes), or None when it cannot be mapped or does not read
        as the documented layout (wrong version or page size)."""
        try:
            fd = os.open(f"{db}-shm", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            view = mmap.mmap(fd, _HEADER_BYTES, prot=mmap.PROT_READ)
        except (OSError, ValueError):
            os.close(fd)
            return None
        index = cls(fd, view)
        version, _, _, init, _, size, _ = _HEADER.unpack_from(view, 0)
        stored_size = page_size if page_size < 65536 else 1  # 65536 is stored as 1
        if version != WAL_INDEX_VERSION or not init or size != stored_size:
            index.close()
            return None
        return index

    def pending(self) -> int:
        """Frames in the WAL not yet copied into the database file (0 when the header
        reads as the WAL just restarted)."""
        mx: int = _HEADER.unpack_from(self._view, 0)[6]
        backfilled: int = _BACKFILL.unpack_from(self._view, _BACKFILL_AT)[0]
        return max(0, mx - backfilled)

    def close(self) -> None:
        """Unmap the header and close its fd (idempotent)."""
        with contextlib.suppress(Exception):
            self._view.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = -1


class Checkpointer:
    """The checkpoint thread of the database at ``path`` (see the module docstring).

    ``start`` opens its connection and thread; ``after_commit`` (the writer, after each
    commit) wakes it when the WAL holds ``THRESHOLD_FRAMES`` or more frames not yet
    copied; ``stop`` ends it. ``runs`` counts the checkpoints it ran (for ``wait_runs``).
    """

    def __init__(self, path: Path, index: WalIndex) -> None:
        self.path = path
        self._index = index
        self._wake = threading.Event()
        self._stopping = False
        self._done = threading.Condition()
        self.runs = 0
        self._conn: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the checkpointer's connection and start its thread.

        Raises:
            sqlite3.Error: the connection cannot be opened.
        """
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._thread = threading.Thread(
            target=self._run, name="pulse-store-checkpoint", daemon=True
        )
        self._thread.start()

    def after_commit(self) -> None:
        """Wake the thread if the WAL has grown past the threshold (cheap: one read of
        shared memory)."""
        if self._index.pending() >= THRESHOLD_FRAMES:
            self._wake.set()

    def wait_runs(self, n: int, timeout: float) -> bool:
        """Block until ``runs >= n`` or ``timeout`` seconds pass; whether it got there."""
        with self._done:
            return self._done.wait_for(lambda: self.runs >= n, timeout)

    def stop(self) -> None:
        """End the thread (after a checkpoint it is running), then close its connection
        and the header view; idempotent."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._index.close()

    def _run(self) -> None:
        conn = self._conn
        assert conn is not None
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error as e:
                # The writer's bounded autocheckpoint still caps the WAL; the next commit
                # past the threshold tries again.
                log.warning("WAL checkpoint of %s failed: %s", self.path, e)
                continue
            with self._done:
                self.runs += 1
                self._done.notify_all()
