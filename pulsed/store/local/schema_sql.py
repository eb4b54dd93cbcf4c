"""Tables of the local store, derived from ``pulsed.store.schema``: DDL and migrations.

One table per stream (``seq INTEGER PRIMARY KEY AUTOINCREMENT`` plus the schema's
columns, typed by ``SQL_TYPES``), an index on ``timestamp`` and on each of the stream's
``indexes``, the ``meta`` table (schema and rollup versions) and the cost rollup
(``rollup.py``). ``migrate`` creates what is missing and moves older files forward.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pulsed.errors import StoreError
from pulsed.store import schema
from pulsed.store.local import memory_index, rollup
from pulsed.store.local.codec import encoder, quote
from pulsed.store.local.txn import transaction
from pulsed.store.schema import Stream

META_TABLE = "meta"
SQL_TYPES = {
    "string": "TEXT",
    "datetime": "TEXT",
    "json": "TEXT",
    "array(string)": "TEXT",
    "array(float)": "TEXT",
    "int": "INTEGER",
    "bool": "INTEGER",
    "float": "REAL",
}
"""SQLite column type of each schema type."""

for _name in (META_TABLE, rollup.ROLLUP_TABLE, memory_index.FTS_TABLE):
    assert _name not in schema.STREAMS, f"stream name {_name!r} clashes with a store table"


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Create what is missing and migrate forward to ``schema.SCHEMA_VERSION``, in one
    transaction on the writing connection ``conn`` of the database at ``path``.

    Returns:
        The schema version now recorded.

    Raises:
        StoreError: the file's schema version is newer than this Pulse.
        sqlite3.Error: SQLite failed (nothing was changed).
    """
    target = schema.SCHEMA_VERSION
    with transaction(conn, durable=False):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quote(META_TABLE)} "
            "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        meta = dict(conn.execute(f"SELECT key, value FROM {quote(META_TABLE)}").fetchall())
        recorded = int(meta.get("schema_version", 0))
        if recorded > target:
            raise StoreError(
                f"the local store at {path} has schema version {recorded}, newer "
                f"than this Pulse ({target}); upgrade Pulse"
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for s in schema.STREAMS.values():
            _migrate_stream(conn, s, s.name in tables)
        memory_index.ensure(conn, tables)
        rollup_ok = (
            rollup.ROLLUP_TABLE in tables and meta.get("rollup_version") == rollup.ROLLUP_VERSION
        )
        if not rollup_ok:
            rollup.rebuild(conn)
        conn.executemany(
            f"INSERT INTO {quote(META_TABLE)} (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [("schema_version", str(target)), ("rollup_version", rollup.ROLLUP_VERSION)],
        )
    return target


def _migrate_stream(conn: sqlite3.Connection, s: Stream, exists: bool) -> None:
    table = quote(s.name)
    if not exists:
        cols = ", ".join(f"{quote(c.name)} {SQL_TYPES[c.type]}" for c in s.columns)
        conn.execute(f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
    else:
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in s.columns if c.name not in have]
        # Columns added since the recorded version: add them, then give existing rows
        # the column's default (bound as a parameter; DDL defaults cannot be).
        for c in missing:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote(c.name)} {SQL_TYPES[c.type]}")
        if missing:
            sets = ", ".join(f"{quote(c.name)} = ?" for c in missing)
            defaults = [encoder(s.name, c)(c.default_value()) for c in missing]
            conn.execute(f"UPDATE {table} SET {sets}", defaults)
    for col in ("timestamp", *s.indexes):
        s.column(col)
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(f'ix_{s.name}_{col}')} ON {table} ({quote(col)})"
        )


def recorded_version(conn: sqlite3.Connection) -> int:
    """The schema version the ``meta`` table records (0: none)."""
    row = conn.execute(
        f"SELECT value FROM {quote(META_TABLE)} WHERE key = ?", ("schema_version",)
    ).fetchone()
    return int(row[0]) if row else 0


def probe(conn: sqlite3.Connection) -> None:
    """A cheap read of the ``meta`` table (health checks)."""
    conn.execute(f"SELECT count(*) FROM {quote(META_TABLE)}").fetchone()
