"""The queries of the Timeplus backend (SELECTs, KILL QUERY), as ``Statement``s.

Reads of the historical store go through ``table()`` and take an ``upto_seq``: the
store's window floor, so rows above it come from the daemon's memory instead and
nothing is counted twice. A tail's streaming read (``tail_sql``) resumes after an
insert batch by ``_tp_sn``. Every value is a bound parameter (see ``sqlparts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulsed.store import schema
from pulsed.store.base import Check
from pulsed.store.schema import Stream
from pulsed.store.timeplus.codec import tp_bound
from pulsed.store.timeplus.filters import where_sql
from pulsed.store.timeplus.sqlparts import (
    DT_TYPE,
    META,
    SEQ,
    TP_SN,
    Names,
    Params,
    Statement,
    ident,
    int_literal,
)


def _cols(s: Stream) -> str:
    return ", ".join([*(ident(c) for c in s.column_names), ident(SEQ)])


def select_rows(
    names: Names,
    s: Stream,
    cs: Sequence[Check],
    *,
    upto_seq: int | None = None,
    after_seq: int | None = None,
    since: str | None = None,
    until: str | None = None,
    order: str = "desc",
    limit: int = 100,
) -> Statement:
    """Historical rows of ``s`` (``table()``), ordered by seq, at most ``limit``."""
    p = Params()
    parts = where_sql(cs, p)
    if upto_seq is not None:
        parts.append(f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}")
    if after_seq is not None:
        parts.append(f"{ident(SEQ)} > {p.add(after_seq, 'int64')}")
    if since is not None:
        parts.append(f"{ident('timestamp')} >= {p.add(tp_bound(since), DT_TYPE)}")
    if until is not None:
        parts.append(f"{ident('timestamp')} < {p.add(tp_bound(until), DT_TYPE)}")
    where = f" WHERE {' AND '.join(parts)}" if parts else ""
    direction = "ASC" if order == "asc" else "DESC"
    sql = (
        f"SELECT {_cols(s)} FROM table({names.of(s.name)}){where} "
        f"ORDER BY {ident(SEQ)} {direction} LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def log_position(names: Names, s: Stream) -> Statement:
    """Rows and the highest ``_tp_sn`` the historical store holds (where a tail's
    streaming read takes over from its historical read)."""
    return Statement(f"SELECT count() AS n, max({TP_SN}) AS sn FROM table({names.of(s.name)})")


def catch_up(
    names: Names, s: Stream, cs: Sequence[Check], after_seq: int, upto_sn: int, limit: int
) -> Statement:
    """A page of historical rows after ``after_seq`` up to insert batch ``upto_sn``."""
    p = Params()
    parts = [
        f"{ident(SEQ)} > {p.add(after_seq, 'int64')}",
        f"{TP_SN} <= {p.add(upto_sn, 'int64')}",
        *where_sql(cs, p),
    ]
    sql = (
        f"SELECT {_cols(s)} FROM table({names.of(s.name)}) WHERE {' AND '.join(parts)} "
        f"ORDER BY {ident(SEQ)} LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def tail_sql(
    names: Names, s: Stream, cs: Sequence[Check], after_sn: int | None, after_seq: int
) -> Statement:
    """An unbounded streaming read of ``s``: rows of insert batches after ``after_sn``
    (the predicate makes Timeplus seek its log there; None = only new rows) with a seq
    above ``after_seq``."""
    p = Params()
    parts = []
    if after_sn is not None:
        parts.append(f"{TP_SN} > {p.add(after_sn, 'int64')}")
    parts.append(f"{ident(SEQ)} > {p.add(after_seq, 'int64')}")
    parts += where_sql(cs, p)
    sql = f"SELECT {_cols(s)}, {TP_SN} FROM {names.of(s.name)} WHERE {' AND '.join(parts)}"
    return Statement(sql, p.values)


def count_rows(names: Names, s: Stream, upto_seq: int) -> Statement:
    """How many historical rows of ``s`` have a seq up to ``upto_seq`` (as ``n``)."""
    p = Params()
    return Statement(
        f"SELECT count() AS n FROM table({names.of(s.name)}) "
        f"WHERE {ident(SEQ)} <= {p.add(upto_seq, 'int64')}",
        p.values,
    )


def max_seq(names: Names, s: Stream) -> Statement:
    """The highest seq the historical store of ``s`` holds (as ``seq``)."""
    return Statement(f"SELECT max({ident(SEQ)}) AS seq FROM table({names.of(s.name)})")


def schema_version(names: Names) -> Statement:
    """The highest recorded schema version (as ``v``)."""
    return Statement(f"SELECT max({ident('version')}) AS v FROM table({names.of(META)})")


def ids_present(names: Names, s: Stream, ids: Sequence[str]) -> Statement:
    """Which of ``ids`` the historical store holds (to keep replays idempotent)."""
    p = Params()
    return Statement(
        f"SELECT DISTINCT {ident('id')} AS id FROM table({names.of(s.name)}) "
        f"WHERE {ident('id')} IN {p.add(list(ids), 'array(string)')}",
        p.values,
    )


COST_KEYS = {
    "": None,
    "model": "model",
    "provider": "provider",
    "origin": "origin",
    "session": "session_id",
    "hour": "hour",
    "day": "day",
}


def cost_summary(
    names: Names, by: str, since: str | None, until: str | None, upto_seq: int
) -> Statement:
    """llm_logs summed over ``since <= timestamp < until`` (and seq <= ``upto_seq``),
    grouped by ``by`` (hour and day as UTC starts)."""
    p = Params()
    ts = ident("timestamp")
    if by == "hour":
        key = f"to_start_of_hour({ts})"
    elif by == "day":
        key = f"to_start_of_day({ts})"
    elif by:
        key = ident(COST_KEYS[by] or by)
    else:
        key = "''"
    parts = [f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}"]
    if since is not None:
        parts.append(f"{ts} >= {p.add(tp_bound(since), DT_TYPE)}")
    if until is not None:
        parts.append(f"{ts} < {p.add(tp_bound(until), DT_TYPE)}")
    ok = p.add("success", "string")
    group = " GROUP BY k" if by else ""
    sql = (
        f"SELECT {key} AS k, count() AS requests, count_if({ident('status')} != {ok}) AS errors, "
        f"sum({ident('input_tokens')}) AS input_tokens, "
        f"sum({ident('output_tokens')}) AS output_tokens, "
        f"sum({ident('cache_read_tokens')}) AS cache_read_tokens, "
        f"sum({ident('cache_write_tokens')}) AS cache_write_tokens, "
        f"sum({ident('estimated_cost_usd')}) AS cost_usd, "
        f"sum({ident('latency_ms')}) AS latency_ms_sum "
        f"FROM table({names.of('llm_logs')}) WHERE {' AND '.join(parts)}{group}"
    )
    return Statement(sql, p.values)


def sessions_top(names: Names, upto_seq: int, limit: int) -> Statement:
    """The most recently active sessions (historical part): id, count, first, last."""
    p = Params()
    sid = ident("session_id")
    ts = ident("timestamp")
    sql = (
        f"SELECT {sid} AS session_id, count() AS n, min({ts}) AS first_ts, max({ts}) AS last_ts, "
        f"max({ident(SEQ)}) AS last_seq FROM table({names.of('messages')}) "
        f"WHERE {sid} != {p.add('', 'string')} AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} "
        f"GROUP BY {sid} ORDER BY last_ts DESC, last_seq DESC "
        f"LIMIT {int_literal(limit, 1, 1_000_000)}"
    )
    return Statement(sql, p.values)


def sessions_by_id(names: Names, ids: Sequence[str], upto_seq: int) -> Statement:
    """The same figures for the named sessions."""
    p = Params()
    sid = ident("session_id")
    ts = ident("timestamp")
    sql = (
        f"SELECT {sid} AS session_id, count() AS n, min({ts}) AS first_ts, max({ts}) AS last_ts, "
        f"max({ident(SEQ)}) AS last_seq FROM table({names.of('messages')}) "
        f"WHERE {sid} IN {p.add(list(ids), 'array(string)')} "
        f"AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} GROUP BY {sid}"
    )
    return Statement(sql, p.values)


def session_titles(names: Names, ids: Sequence[str], upto_seq: int) -> Statement:
    """Content of each named session's first user_input message (by seq)."""
    p = Params()
    sid = ident("session_id")
    sql = (
        f"SELECT {sid} AS session_id, arg_min({ident('content')}, {ident(SEQ)}) AS content "
        f"FROM table({names.of('messages')}) "
        f"WHERE {sid} IN {p.add(list(ids), 'array(string)')} "
        f"AND {ident('message_type')} = {p.add('user_input', 'string')} "
        f"AND {ident(SEQ)} <= {p.add(upto_seq, 'int64')} GROUP BY {sid}"
    )
    return Statement(sql, p.values)


INPUT_TYPES = schema.INPUT_TYPES
ANSWER_TYPES = ("agent_response", "error")


def unanswered(names: Names, since: str | None, upto_seq: int) -> Statement:
    """Inputs (historical part, seq <= ``upto_seq``) no stored answer replies to."""
    p = Params()
    msgs = names.of("messages")
    mt = ident("message_type")
    parts = [
        f"{mt} IN {p.add(list(INPUT_TYPES), 'array(string)')}",
        f"{ident(SEQ)} <= {p.add(upto_seq, 'int64')}",
    ]
    if since is not None:
        parts.append(f"{ident('timestamp')} >= {p.add(tp_bound(since), DT_TYPE)}")
    parts.append(
        f"{ident('id')} NOT IN (SELECT {ident('reply_to')} FROM table({msgs}) "
        f"WHERE {mt} IN {p.add(list(ANSWER_TYPES), 'array(string)')} "
        f"AND {ident('reply_to')} != {p.add('', 'string')})"
    )
    sql = (
        f"SELECT {_cols(schema.MESSAGES)} FROM table({msgs}) WHERE {' AND '.join(parts)} "
        f"ORDER BY {ident(SEQ)}"
    )
    return Statement(sql, p.values)


def latest_by(names: Names, s: Stream, key: str, upto_seq: int) -> Statement:
    """The newest version (highest seq) per value of ``key``, with ``arg_max``."""
    col = s.column(key)
    p = Params()
    picks = [
        f"arg_max({ident(c)}, {ident(SEQ)}) AS {ident('v_' + c)}"
        for c in s.column_names
        if c != col.name
    ]
    sql = (
        f"SELECT {ident(col.name)} AS {ident('v_' + col.name)}, {', '.join(picks)}, "
        f"max({ident(SEQ)}) AS {ident('v_' + SEQ)} FROM table({names.of(s.name)}) "
        f"WHERE {ident(SEQ)} <= {p.add(upto_seq, 'int64')} "
        f"GROUP BY {ident(col.name)} ORDER BY {ident(col.name)}"
    )
    return Statement(sql, p.values)


def unprefix(obj: Mapping[str, Any], prefix: str = "v_") -> dict[str, Any]:
    """A ``latest_by`` result row with its column aliases turned back into names."""
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in obj.items()}


def kill_query(query_id: str) -> Statement:
    """``KILL QUERY`` for one query id (ends a streaming read on the server at once)."""
    p = Params()
    return Statement(f"KILL QUERY WHERE query_id = {p.add(query_id, 'string')} ASYNC", p.values)
