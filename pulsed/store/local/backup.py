"""A consistent copy of the running store (``pulsectl store backup FILE``).

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page by
page from a read connection while the writer goes on; the copy is the database as of one
moment (https://www.sqlite.org/backup.html). It is written next to its destination as
``FILE.part``, integrity-checked (``PRAGMA integrity_check``), synced and then renamed,
so a failed backup never leaves a half file under the name asked for.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from pulsed.errors import AlreadyExists, InvalidArgument, StoreError

PAGES_PER_STEP = 1024
"""Pages copied per backup step; between steps the writer may go on."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup wrote: the file, its size in bytes, rows per stream, seconds."""

    path: str
    bytes: int
    rows: dict[str, int]
    seconds: float


def backup_to(
    conn: sqlite3.Connection, dest: str, overwrite: bool, streams: list[str]
) -> BackupInfo:
    """Copy the database of ``conn`` to ``dest`` (an absolute path).

    Raises:
        InvalidArgument: ``dest`` is relative or its directory does not exist.
        AlreadyExists: ``dest`` exists and ``overwrite`` is false.
        StoreError: the copy failed or did not pass its integrity check.
    """
    path = Path(dest)
    if not path.is_absolute():
        raise InvalidArgument(f"the backup path must be absolute, got {dest!r}")
    if not path.parent.is_dir():
        raise InvalidArgument(f"no directory {str(path.parent)!r} for the backup")
    if path.exists() and not overwrite:
        raise AlreadyExists(f"{dest} exists; choose another name or pass --force")
    part = path.with_name(path.name + ".part")
    started = time.monotonic()
    try:
        part.unlink(missing_ok=True)
        target = sqlite3.connect(part)
        try:
            conn.backup(target, pages=PAGES_PER_STEP)
            check = target.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise StoreError(f"the backup failed its integrity check: {check}")
            rows = {
                s: int(target.execute(f'SELECT count(*) FROM "{s}"').fetchone()[0])  # noqa: S608 - schema names
                for s in streams
            }
        finally:
            target.close()
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(part, path)
        os.chmod(path, 0o600)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise StoreError(f"cannot write the backup {dest}: {e.strerror}") from None
    except sqlite3.Error as e:
        part.unlink(missing_ok=True)
        raise StoreError(f"the backup failed: {e}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BackupInfo(str(path), path.stat().st_size, rows, time.monotonic() - started)
