"""The local store's hourly cost rollup of llm_logs, and cost summaries from it.

``llm_logs_hourly`` holds one row per (hour, model, provider, origin, session_id) with
the sums of ``CostBucket``. It is kept in the same transaction as the llm_logs rows it
sums (``add``), so it is never behind. A summary adds the rollup for the whole hours of
its range to the raw rows of the partial hours at the edges (``summarise``): exact, and
fast over millions of rows. Every function here runs on a store thread with the
connection it is given.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from pulsed.store.base import CostBucket, CostSummary, parse_iso, to_iso
from pulsed.store.local.codec import quote

ROLLUP_TABLE = "llm_logs_hourly"
ROLLUP_VERSION = "1"
"""Bumped when the rollup's layout or meaning changes; open() then rebuilds it."""
HOUR_SUFFIX = ":00:00.000Z"
DAY_SUFFIX = "T00:00:00.000Z"
KEYS = ("hour", "model", "provider", "origin", "session_id")
SUMS = (
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms_sum",
)


LAST_HOUR = "9999-12-31T23" + HOUR_SUFFIX
"""The start of the last hour a datetime can name."""
END_OF_TIME = "9999-12-31T24" + HOUR_SUFFIX
"""Sorts after every schema datetime text: the bound past ``LAST_HOUR``."""


def floor_hour(iso: str) -> str:
    """The start of the hour of schema datetime text ``iso``."""
    return iso[:13] + HOUR_SUFFIX


def ceil_hour(iso: str) -> str:
    """``iso`` if it starts an hour, else the start of the next hour; in the last hour
    of 9999-12-31, which has no next hour, ``END_OF_TIME`` (after every hour's text)."""
    floor = floor_hour(iso)
    if floor == iso:
        return iso
    if floor >= LAST_HOUR:
        return END_OF_TIME
    return to_iso(parse_iso(floor) + timedelta(hours=1))


def rebuild(conn: sqlite3.Connection) -> None:
    """(Re)create the rollup table from the llm_logs rows (inside the caller's
    transaction)."""
    keys = ", ".join(f"{k} TEXT NOT NULL" for k in KEYS)
    sums = ", ".join(
        f"{k} {'REAL' if k in ('cost_usd', 'latency_ms_sum') else 'INTEGER'} NOT NULL" for k in SUMS
    )
    conn.execute(f"DROP TABLE IF EXISTS {quote(ROLLUP_TABLE)}")
    conn.execute(
        f"CREATE TABLE {quote(ROLLUP_TABLE)} ({keys}, {sums}, "
        f"PRIMARY KEY ({', '.join(KEYS)})) WITHOUT ROWID"
    )
    conn.execute(
        f"INSERT INTO {quote(ROLLUP_TABLE)} ({', '.join(KEYS + SUMS)}) "
        'SELECT substr("timestamp", 1, 13) || ?, "model", "provider", "origin", '
        '"session_id", count(*), sum("status" != ?), sum("input_tokens"), '
        'sum("output_tokens"), sum("cache_read_tokens"), sum("cache_write_tokens"), '
        'total("estimated_cost_usd"), total("latency_ms") '
        'FROM "llm_logs" GROUP BY 1, 2, 3, 4, 5',
        (HOUR_SUFFIX, "success"),
    )


def add(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Add prepared llm_logs rows (their Python values) to the rollup, inside the
    transaction that inserts them."""
    agg: dict[tuple[str, ...], list[Any]] = {}
    for v in rows:
        key = (
            v["timestamp"][:13] + HOUR_SUFFIX,
            v["model"],
            v["provider"],
            v["origin"],
            v["session_id"],
        )
        a = agg.get(key)
        if a is None:
            a = agg[key] = [0, 0, 0, 0, 0, 0, 0.0, 0.0]
        a[0] += 1
        if v["status"] != "success":
            a[1] += 1
        a[2] += v["input_tokens"]
        a[3] += v["output_tokens"]
        a[4] += v["cache_read_tokens"]
        a[5] += v["cache_write_tokens"]
        a[6] += v["estimated_cost_usd"]
        a[7] += v["latency_ms"]
    names = KEYS + SUMS
    updates = ", ".join(f"{k} = {k} + excluded.{k}" for k in SUMS)
    conn.executemany(
        f"INSERT INTO {quote(ROLLUP_TABLE)} ({', '.join(names)}) "
        f"VALUES ({', '.join('?' for _ in names)}) "
        f"ON CONFLICT({', '.join(KEYS)}) DO UPDATE SET {updates}",
        [(*k, *a) for k, a in agg.items()],
    )


def summarise(conn: sqlite3.Connection, lo: str | None, hi: str | None, by: str) -> CostSummary:
    """llm_logs summed over ``lo <= timestamp < hi`` (schema datetime text, None =
    unbounded; ``lo < hi``), grouped by ``by`` (a ``COST_GROUPS`` name or ''): the rollup
    for whole hours plus raw rows for partial edge hours, in one read snapshot."""
    # Whole hours H inside [lo, hi): ceil_hour(lo) <= H < floor_hour(hi).
    h_lo = ceil_hour(lo) if lo is not None else None
    h_hi = floor_hour(hi) if hi is not None else None
    raw_ranges: list[tuple[str | None, str | None]] = []
    use_rollup = True
    if h_lo is not None and h_hi is not None and h_lo >= h_hi:
        raw_ranges.append((lo, hi))
        use_rollup = False
    else:
        if lo is not None and h_lo is not None and lo < h_lo:
            raw_ranges.append((lo, h_lo))
        if hi is not None and h_hi is not None and h_hi < hi:
            raw_ranges.append((h_hi, hi))

    def key_sql(ts: str) -> str:
        if by == "hour":
            return f"substr({ts}, 1, 13)"
        if by == "day":
            return f"substr({ts}, 1, 10)"
        return quote({"session": "session_id"}.get(by, by))

    suffix = {"hour": HOUR_SUFFIX, "day": DAY_SUFFIX}.get(by, "")
    buckets: dict[str, CostBucket] = {}

    def fold(sql: str, params: list[Any]) -> None:
        for r in conn.execute(sql, params):
            key = (r[0] + suffix) if by else ""
            if r[1] is None or r[1] == 0:
                continue
            b = buckets.get(key)
            if b is None:
                b = buckets[key] = CostBucket(key=key)
            b.requests += int(r[1])
            b.errors += int(r[2] or 0)
            b.input_tokens += int(r[3] or 0)
            b.output_tokens += int(r[4] or 0)
            b.cache_read_tokens += int(r[5] or 0)
            b.cache_write_tokens += int(r[6] or 0)
            b.cost_usd += float(r[7] or 0.0)
            b.latency_ms_sum += float(r[8] or 0.0)

    conn.execute("BEGIN")  # one snapshot for the rollup and the raw edges
    try:
        if use_rollup:
            sel = key_sql("hour") if by else "''"
            sums = ", ".join(
                f"{'total' if k in ('cost_usd', 'latency_ms_sum') else 'sum'}({k})" for k in SUMS
            )
            parts, params = [], []
            if h_lo is not None:
                parts.append("hour >= ?")
                params.append(h_lo)
            if h_hi is not None:
                parts.append("hour < ?")
                params.append(h_hi)
            where = f" WHERE {' AND '.join(parts)}" if parts else ""
            group = " GROUP BY 1" if by else ""
            fold(f"SELECT {sel}, {sums} FROM {quote(ROLLUP_TABLE)}{where}{group}", params)
        for start, end in raw_ranges:
            sel = key_sql('"timestamp"') if by else "''"
            parts, params = [], ["success"]
            if start is not None:
                parts.append('"timestamp" >= ?')
                params.append(start)
            if end is not None:
                parts.append('"timestamp" < ?')
                params.append(end)
            where = f" WHERE {' AND '.join(parts)}" if parts else ""
            group = " GROUP BY 1" if by else ""
            fold(
                f'SELECT {sel}, count(*), sum("status" != ?), sum("input_tokens"), '
                'sum("output_tokens"), sum("cache_read_tokens"), sum("cache_write_tokens"), '
                'total("estimated_cost_usd"), total("latency_ms") '
                f'FROM "llm_logs"{where}{group}',
                params,
            )
    finally:
        conn.execute("COMMIT")

    return CostSummary.of(buckets, by)
