"""How the Timeplus store's reads combine Timeplus' answer with its window.

Every read asks Timeplus for rows with ``seq <= floor`` (the window's floor) and takes
the rows above the floor from the window (``window.py``), so each row counts once. The
functions here do the combining for each kind of read; they do no I/O. ``objs`` are
result rows as Timeplus returns them (JSONEachRow dicts), ``recent`` the window's rows
above the floor, in seq order.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulsed.store.base import Check, CostBucket, Row, SessionInfo
from pulsed.store.schema import Stream
from pulsed.store.timeplus.codec import decode_row, iso_datetime, seq_of
from pulsed.store.timeplus.filters import matches
from pulsed.store.timeplus.sql import ANSWER_TYPES, INPUT_TYPES, unprefix


def row_of(s: Stream, obj: Mapping[str, Any]) -> Row:
    """A result row of ``s`` (with its ``seq``) as a Row.

    Raises:
        StoreError: Timeplus returned a row Pulse cannot read.
    """
    return Row(s.name, seq_of(obj), decode_row(s, obj))


def in_range(rows: Iterable[Row], cs: Sequence[Check], lo: str | None, hi: str | None) -> list[Row]:
    """``rows`` matching ``cs`` with ``lo <= timestamp < hi`` (None = unbounded)."""
    return [
        r
        for r in rows
        if (not cs or matches(r.values, cs))
        and (lo is None or r.values["timestamp"] >= lo)
        and (hi is None or r.values["timestamp"] < hi)
    ]


def query_rows(
    s: Stream, objs: Sequence[Mapping[str, Any]], recent: Sequence[Row], order: str, limit: int
) -> list[Row]:
    """Historical and recent rows (both already filtered) ordered by seq (``asc`` or
    ``desc``), at most ``limit``; a seq in both counts once, as the recent row."""
    merged = {r.seq: r for r in (row_of(s, o) for o in objs)}
    for r in recent:
        merged[r.seq] = r
    ordered = sorted(merged.values(), key=lambda r: r.seq, reverse=order == "desc")
    return ordered[:limit]


def cost_buckets(
    by: str,
    objs: Sequence[Mapping[str, Any]],
    recent: Sequence[Row],
    lo: str | None,
    hi: str | None,
) -> dict[str, CostBucket]:
    """Cost buckets keyed by group value: Timeplus' sums (``sql.cost_summary`` rows) plus
    the recent llm_logs rows with ``lo <= timestamp < hi``."""
    buckets: dict[str, CostBucket] = {}
    for o in objs:
        n = int(o.get("requests") or 0)
        if not n:
            continue
        key = _cost_key(by, o.get("k"))
        b = buckets.setdefault(key, CostBucket(key=key))
        b.requests += n
        b.errors += int(o.get("errors") or 0)
        b.input_tokens += int(o.get("input_tokens") or 0)
        b.output_tokens += int(o.get("output_tokens") or 0)
        b.cache_read_tokens += int(o.get("cache_read_tokens") or 0)
        b.cache_write_tokens += int(o.get("cache_write_tokens") or 0)
        b.cost_usd += float(o.get("cost_usd") or 0.0)
        b.latency_ms_sum += float(o.get("latency_ms_sum") or 0.0)
    for r in recent:
        v = r.values
        ts = v["timestamp"]
        if (lo is not None and ts < lo) or (hi is not None and ts >= hi):
            continue
        key = _cost_key(by, _row_cost_key(by, v))
        b = buckets.setdefault(key, CostBucket(key=key))
        b.requests += 1
        b.errors += v["status"] != "success"
        b.input_tokens += v["input_tokens"]
        b.output_tokens += v["output_tokens"]
        b.cache_read_tokens += v["cache_read_tokens"]
        b.cache_write_tokens += v["cache_write_tokens"]
        b.cost_usd += v["estimated_cost_usd"]
        b.latency_ms_sum += v["latency_ms"]
    return buckets


def _cost_key(by: str, raw: Any) -> str:
    if not by:
        return ""
    if by in ("hour", "day"):
        text = str(raw)
        return iso_datetime(text) if " " in text else text
    return str(raw)


def _row_cost_key(by: str, v: Mapping[str, Any]) -> str:
    ts = v["timestamp"]
    if by == "hour":
        return str(ts[:13]) + ":00:00.000Z"
    if by == "day":
        return str(ts[:10]) + "T00:00:00.000Z"
    if by == "session":
        return str(v["session_id"])
    return str(v.get(by, ""))


class Sessions:
    """Sessions folded from Timeplus' per-session figures and recent messages.

    ``recent`` are the window's messages with a session id. Fold Timeplus' figures in
    with ``add_history``; ``top`` then gives the most recently active sessions, and
    ``titled`` their infos once ``add_titles`` has the stored titles.
    """

    def __init__(self, recent: Sequence[Row]) -> None:
        self.recent = list(recent)
        self._agg: dict[str, list[Any]] = {}  # sid -> [count, first, last, last_seq]
        self._titles: dict[str, str] = {}

    def wanted(self, top: Sequence[Mapping[str, Any]]) -> list[str]:
        """Recent sessions missing from Timeplus' ``top`` (``sql.sessions_top`` rows),
        sorted: their figures are read by id (``sql.sessions_by_id``)."""
        known = {str(o["session_id"]) for o in top}
        return sorted({r.values["session_id"] for r in self.recent} - known)

    def add_history(self, objs: Iterable[Mapping[str, Any]]) -> None:
        """Fold Timeplus' per-session rows, then the recent messages (once)."""
        for o in objs:
            self._fold(
                str(o["session_id"]),
                int(o["n"]),
                iso_datetime(str(o["first_ts"])),
                iso_datetime(str(o["last_ts"])),
                int(o["last_seq"]),
            )
        for r in self.recent:
            v = r.values
            self._fold(v["session_id"], 1, v["timestamp"], v["timestamp"], r.seq)
            if v["message_type"] == "user_input" and v["session_id"] not in self._titles:
                self._titles[v["session_id"]] = text_of(v["content"])

    def _fold(self, sid: str, n: int, first: str, last: str, last_seq: int) -> None:
        a = self._agg.get(sid)
        if a is None:
            self._agg[sid] = [n, first, last, last_seq]
            return
        a[0] += n
        a[1] = min(a[1], first)
        a[2] = max(a[2], last)
        a[3] = max(a[3], last_seq)

    def top(self, limit: int) -> list[str]:
        """The ``limit`` most recently active session ids (by last activity, then seq)."""
        ordered = sorted(self._agg.items(), key=lambda kv: (kv[1][2], kv[1][3]), reverse=True)
        return [sid for sid, _ in ordered[:limit]]

    def add_titles(self, objs: Iterable[Mapping[str, Any]]) -> None:
        """Stored titles (``sql.session_titles`` rows); they win over recent ones."""
        for o in objs:
            content = o.get("content")
            with contextlib.suppress(ValueError):
                self._titles[str(o["session_id"])] = text_of(
                    json.loads(content) if isinstance(content, str) else content
                )

    def infos(self, sids: Sequence[str]) -> list[SessionInfo]:
        """``SessionInfo`` of each of ``sids``, in that order."""
        out = []
        for sid in sids:
            n, first, last, _ = self._agg[sid]
            out.append(SessionInfo(sid, n, first, last, self._titles.get(sid, "")))
        return out


def text_of(content: Any) -> str:
    """The ``text`` of a message's JSON content ('' when it has none)."""
    text = content.get("text") if isinstance(content, dict) else None
    return text if isinstance(text, str) else ""


def unanswered(
    s: Stream, objs: Sequence[Mapping[str, Any]], recent: Sequence[Row], lo: str | None
) -> list[Row]:
    """Inputs Timeplus found unanswered plus recent inputs from ``lo`` on, less those a
    recent answer replies to, by seq."""
    answered = {
        r.values["reply_to"]
        for r in recent
        if r.values["message_type"] in ANSWER_TYPES and r.values["reply_to"]
    }
    out = [row_of(s, o) for o in objs]
    out += [
        r
        for r in recent
        if r.values["message_type"] in INPUT_TYPES and (lo is None or r.values["timestamp"] >= lo)
    ]
    return sorted((r for r in out if r.values["id"] not in answered), key=lambda r: r.seq)


def latest(
    s: Stream, key: str, objs: Sequence[Mapping[str, Any]], recent: Sequence[Row]
) -> list[Row]:
    """The newest row per ``key`` from Timeplus' ``sql.latest_by`` rows and the recent
    rows (which are newer), ordered by key."""
    newest: dict[Any, Row] = {}
    for o in objs:
        row = row_of(s, unprefix(o))
        newest[row.values[key]] = row
    for r in recent:
        newest[r.values[key]] = r
    return [newest[k] for k in sorted(newest, key=_sort_key)]


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value.encode()) if isinstance(value, str) else (1, value)
