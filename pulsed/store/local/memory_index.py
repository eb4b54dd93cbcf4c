"""The local store's full-text index of memories: an SQLite FTS5 table kept in step with
the ``memory`` stream by the writer.

The index holds exactly the current state: one entry per memory id (its latest version,
rowid = that version's seq), none for a forgotten one. The writer updates it in the
transaction of each append (``add``); ``ensure`` creates it and fills it from the stream
when it is missing (a file from before the index, or one dropped by hand). Queries are
built by ``match_query`` from plain words, each quoted, so text a person typed is never
FTS5 syntax.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from pulsed.store.local.codec import quote

STREAM = "memory"
FTS_TABLE = "memory_fts"
TOKENIZER = "porter unicode61 remove_diacritics 2"


def ensure(conn: sqlite3.Connection, tables: set[str]) -> None:
    """Create the index and fill it from the stream's current state when it is missing
    (``tables``: the table names the file had before this migration)."""
    if FTS_TABLE in tables:
        return
    conn.execute(
        f"CREATE VIRTUAL TABLE {quote(FTS_TABLE)} USING fts5("
        f"content, category, tokenize = '{TOKENIZER}')"
    )
    conn.execute(
        f"INSERT INTO {quote(FTS_TABLE)} (rowid, content, category) "
        f'SELECT seq, "content", "category" FROM {quote(STREAM)} '
        f'WHERE seq IN (SELECT max(seq) FROM {quote(STREAM)} GROUP BY "id") '
        'AND NOT "is_deleted"'
    )


def add(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]], first_seq: int) -> None:
    """Bring the index up to date with appended memory versions ``rows`` (seqs from
    ``first_seq`` on, in order), inside the append's transaction: an id's older entry
    goes, its new version comes in unless it forgets the memory."""
    table = quote(FTS_TABLE)
    for i, values in enumerate(rows):
        seq = first_seq + i
        conn.execute(
            f"DELETE FROM {table} WHERE rowid IN "
            f'(SELECT seq FROM {quote(STREAM)} WHERE "id" = ? AND seq < ?)',
            (values["id"], seq),
        )
        if not values["is_deleted"]:
            conn.execute(
                f"INSERT INTO {table} (rowid, content, category) VALUES (?, ?, ?)",
                (seq, values["content"], values["category"]),
            )


def match_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression for any of ``terms``: each a quoted string (inner quotes
    doubled), joined by OR; '' when no term has text."""
    parts = ['"' + t.replace('"', '""') + '"' for t in terms if t.strip()]
    return " OR ".join(parts)


def search_sql(names: Sequence[str]) -> str:
    """The query of a search: the current versions matching ``?`` (a ``match_query``),
    best BM25 first (content weighs 1, category 0.5), at most ``?`` rows. It selects
    ``seq`` and the stream's columns ``names`` (what ``Codec.decode`` reads), then the
    BM25 score (negative; lower is better)."""
    cols = ", ".join(["m.seq", *(f"m.{quote(n)}" for n in names)])
    fts = quote(FTS_TABLE)
    return (
        f"SELECT {cols}, bm25({fts}, 1.0, 0.5) AS score FROM {fts} "
        f"JOIN {quote(STREAM)} AS m ON m.seq = {fts}.rowid "
        f"WHERE {fts} MATCH ? ORDER BY score LIMIT ?"
    )
