"""``pulsectl store backup FILE`` and ``pulsectl store restore FILE``.

A backup is made by the running daemon (Store.Backup: SQLite's online backup API, then
an integrity check). A restore replaces the data dir's ``pulse.db`` while no daemon runs:
the file must be a Pulse store (SQLite, integrity ``ok``, Pulse's ``meta`` table and
streams); the database it replaces is kept next to it as ``pulse.db.before-restore-<time>``.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sqlite3
import time
from pathlib import Path

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, CliError, UsageError
from pulsectl.output import Output

DB_NAME = "pulse.db"
REQUIRED_TABLES = ("meta", "messages", "llm_logs", "tool_logs", "events", "tasks", "cursors")
"""What makes a SQLite file a Pulse store (the daemon's pulsed.store.local.schema_sql)."""


def cmd_backup(args: argparse.Namespace, out: Output) -> int:
    """``store backup FILE [--force]``: a consistent copy while the daemon runs."""
    path = str(Path(args.file).expanduser().resolve())
    with _client(args) as client:
        done = client.store_backup(path, args.force)
    if args.json:
        out.json_doc(output.to_dict(done))
    else:
        rows = sum(s.rows for s in done.streams)
        out.line(
            f"backed up {rows} rows ({done.bytes / 1e6:.1f} MB) to {done.path} in "
            f"{done.seconds:.1f} s; integrity ok"
        )
    return EXIT_OK


def check_pulse_store(path: Path) -> dict[str, int]:
    """Rows per table of the Pulse store at ``path``.

    Raises:
        CliError: not a readable SQLite file, not intact, or not a Pulse store.
    """
    if not path.is_file():
        raise CliError(f"no file {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if check != "ok":
                raise CliError(f"{path} is damaged: {check}")
            if missing:
                raise CliError(
                    f"{path} is not a Pulse store (no {', '.join(missing)} table)",
                    "give a file made by: pulsectl store backup FILE",
                )
            return {
                t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])  # noqa: S608
                for t in REQUIRED_TABLES
                if t != "meta"
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise CliError(f"{path} is not a SQLite database ({e})") from None


def _daemon_holds(db: Path) -> bool:
    """Whether a running pulsed holds ``db`` (its writer keeps an exclusive flock)."""
    if not db.exists():
        return False
    fd = os.open(db, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def cmd_restore(args: argparse.Namespace, out: Output) -> int:
    """``store restore FILE [--data-dir D] [--yes]``: replace the store (daemon stopped).

    Raises:
        CliError: the daemon runs, or FILE is not a Pulse store.
        UsageError: not confirmed.
    """
    from pulse import paths

    src = Path(args.file).expanduser().resolve()
    counts = check_pulse_store(src)
    data = Path(args.data_dir).expanduser() if args.data_dir else paths.data_dir()
    db = data / DB_NAME
    if _daemon_holds(db):
        raise CliError("pulsed is running on this store", "stop it first: pulsectl stop")
    total = sum(counts.values())
    if not args.yes and not diagnostics.confirm(
        f"replace {db} with {src} ({total} rows)? the current one is kept aside"
    ):
        raise UsageError("not restored", "pass --yes to restore without asking")
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    kept = ""
    if db.exists():
        kept = str(db.with_name(f"{DB_NAME}.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"))
        os.replace(db, kept)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    part = db.with_name(DB_NAME + ".restoring")
    shutil.copyfile(src, part)
    os.chmod(part, 0o600)
    os.replace(part, db)
    if args.json:
        out.json_doc({"restored": str(db), "from": str(src), "rows": counts, "previous": kept})
    else:
        out.line(
            f"restored {total} rows into {db}" + (f"; the previous store is {kept}" if kept else "")
        )
    return EXIT_OK
