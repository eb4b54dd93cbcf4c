"""What keeps ``pulse.db`` safe: one daemon at a time, and no silent fresh start.

``DbLock`` holds an exclusive ``flock`` on the database file itself, on an fd kept open
for the store's lifetime. The daemon's lock files beside it (``pulsed.lock``, the
socket's ``.lock``) can be deleted under a live daemon; the database cannot, without
the data going too. On Linux, ``flock`` locks and the POSIX (``fcntl``) byte-range
locks SQLite takes on the same file are independent, so neither disturbs the other
(other processes, e.g. ``sqlite3 pulse.db``, can still read it). Linux emulates
``flock`` with POSIX locks on NFS; the store is not for network file systems anyway
(WAL mode needs shared memory).

The fd must stay open until the process has closed every SQLite connection to the
file: closing any fd of a file drops the process's POSIX locks on it, SQLite's too.
It is close-on-exec (Python's default), so a tool's child process never inherits it.

Before a database is created, ``DbLock.acquire`` checks the data dir for evidence that
it held one (a non-empty ``pulse.db-wal``, or the ``pulse-store.json`` marker that
``record`` writes after every successful open): a ``pulse.db`` that is missing or empty
there was lost (truncated, deleted, a failed copy) and is refused, never replaced by an
empty store. A brand-new data dir has neither, and starts normally.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulsed.errors import FailedPrecondition, StoreError

MARKER_NAME = "pulse-store.json"
"""The store's marker beside the database: it held a database of this schema version."""
_PROC_LOCKS = Path("/proc/locks")


class DbLock:
    """The exclusive lock on the database at ``path`` (``data_dir/pulse.db``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        """Open the database file (creating it when missing and nothing says it held
        data) and lock it for this process; a no-op when already held.

        Raises:
            FailedPrecondition: another process (another pulsed) has it locked; the
                message names its pid when it can be found.
            StoreError: the file is missing or empty while the data dir shows it held
                data (nothing is created or changed), or it cannot be opened.
        """
        if self.fd is not None:
            return
        try:
            fd: int | None = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            fd = None
        except OSError as e:
            raise StoreError(f"cannot open the local store at {self.path}: {e}") from None
        if fd is None:
            check_not_lost(self.path, None)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as e:
                raise StoreError(f"cannot create the local store at {self.path}: {e}") from None
        try:
            self._lock(fd)
            st = os.fstat(fd)
            if st.st_size == 0:
                check_not_lost(self.path, 0)
            if st.st_mode & 0o077:
                os.fchmod(fd, 0o600)  # WAL and shm files take the database's mode
        except OSError as e:
            os.close(fd)
            raise StoreError(f"cannot lock the local store at {self.path}: {e}") from None
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def release(self) -> None:
        """Unlock and close (idempotent). Only after every SQLite connection of this
        process to the file is closed (see the module docstring)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def _lock(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(os.fstat(fd)) or _pid_file(self.path.parent / "pulsed.lock")
            if pid == os.getpid():
                raise FailedPrecondition(
                    f"this process already has the local store at {self.path} open"
                ) from None
            who = f"another pulsed (pid {pid})" if pid else "another pulsed"
            raise FailedPrecondition(
                f"{who} is using {self.path}; stop it first, or give this one a data dir "
                "of its own (--data-dir or PULSE_DATA_DIR)"
            ) from None


def check_not_lost(path: Path, size: int | None) -> None:
    """Refuse a database that is missing (``size`` None) or empty while its data dir
    shows it held data. Reads only; changes nothing.

    Raises:
        StoreError: what was found, and how to proceed.
    """
    found = []
    wal = path.with_name(path.name + "-wal")
    with contextlib.suppress(OSError):
        wal_bytes = wal.stat().st_size
        if wal_bytes > 0:
            found.append(f"{wal.name} holds {wal_bytes} bytes of writes")
    marker = path.with_name(MARKER_NAME)
    if marker.exists():
        recorded = read_marker(marker)
        if recorded is None:
            found.append(f"{MARKER_NAME} says a store was created here")
        else:
            found.append(
                f"{MARKER_NAME} records a store of schema version "
                f"{recorded.get('schema_version', '?')} here since "
                f"{recorded.get('created', '?')}"
            )
    if not found:
        return
    state = "is missing" if size is None else "is empty (0 bytes)"
    names = ", ".join(
        n
        for n in (path.name, f"{path.name}-wal", f"{path.name}-shm", MARKER_NAME)
        if n == path.name or path.with_name(n).exists()
    )
    raise StoreError(
        f"the local store at {path} {state}, but {path.parent} shows it held data: "
        f"{'; '.join(found)}. pulsed will not replace it with an empty store. Restore "
        f"{path.name} from a backup (stop pulsed first; keep the -wal file beside it), "
        f"or, to start fresh on purpose, move {names} out of {path.parent}."
    )


def read_marker(marker: Path) -> dict[str, Any] | None:
    """The marker's fields; None when it cannot be read as a JSON object."""
    try:
        value = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def record(data_dir: Path, db_name: str, version: int) -> None:
    """Write the marker (atomically, private) saying ``data_dir`` holds the database
    ``db_name`` of schema ``version``; unchanged markers are not rewritten.

    Raises:
        StoreError: the marker cannot be written.
    """
    marker = data_dir / MARKER_NAME
    old = read_marker(marker) if marker.exists() else None
    if old and old.get("database") == db_name and old.get("schema_version") == version:
        return
    created = (old or {}).get("created") or datetime.now(UTC).isoformat(timespec="seconds")
    text = json.dumps(
        {
            "database": db_name,
            "schema_version": version,
            "created": created,
            "note": (
                "written by pulsed: this data dir holds a Pulse store; a missing or empty "
                f"{db_name} here is refused at start, not replaced"
            ),
        },
        indent=2,
    )
    tmp = data_dir / f".{MARKER_NAME}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (text + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, marker)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write the store marker {marker}: {e}") from None


def _holder(st: os.stat_result) -> int | None:
    """The pid holding a flock on the file of ``st``, from /proc/locks (Linux)."""
    try:
        lines = _PROC_LOCKS.read_text().splitlines()
    except OSError:
        return None
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in lines:
        # "3: FLOCK  ADVISORY  WRITE 4356 fe:00:2146530 0 EOF" ("3: -> FLOCK" is a waiter)
        parts = line.split()
        if len(parts) < 6 or parts[1] != "FLOCK":
            continue
        try:
            major, minor, ino = parts[5].split(":")
            if (int(major, 16), int(minor, 16), int(ino)) == want:
                return int(parts[4])
        except ValueError:
            continue
    return None


def _pid_file(path: Path) -> int | None:
    """The pid in the daemon's lock file ``path`` unless it is ours (or none)."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() else None
