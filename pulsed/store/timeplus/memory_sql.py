"""Recall queries of the Timeplus backend over ``table(memory)``: the current version
of each memory id (``arg_max`` by ``seq``, as ``sql.latest_by``), not forgotten, that
contains one of the query's words (``multi_search_any`` over lower-cased content) or is
nearest to a query vector (``cosine_distance``). Every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence

from pulsed.store.schema import MEMORY
from pulsed.store.timeplus.sql import latest_by
from pulsed.store.timeplus.sqlparts import Names, Statement, ident

CANDIDATES = 1000
"""Most keyword candidates read from Timeplus per search (ranked in Python)."""


def _current(names: Names, upto_seq: int) -> Statement:
    """The latest version per id up to ``upto_seq`` (columns aliased ``v_<name>``)."""
    return latest_by(names, MEMORY, "id", upto_seq)


def token_match(names: Names, words: Sequence[str], upto_seq: int) -> Statement:
    """Current, not forgotten memories whose content contains any of ``words``
    (lower case), at most ``CANDIDATES``."""
    inner = _current(names, upto_seq)
    n = len(inner.params)
    words_p = f"{{p{n}:array(string)}}"
    limit_p = f"{{p{n + 1}:int64}}"
    sql = (
        f"SELECT * FROM ({inner.sql}) WHERE NOT {ident('v_is_deleted')} AND "
        f"multi_search_any(lower({ident('v_content')}), {words_p}) LIMIT {limit_p}"
    )
    params = {**inner.params, f"p{n}": [w.lower() for w in words], f"p{n + 1}": CANDIDATES}
    return Statement(sql, params)


def nearest(names: Names, vector: Sequence[float], limit: int, upto_seq: int) -> Statement:
    """Current, not forgotten memories with an embedding of the vector's length,
    nearest first by cosine distance (``v_distance``), at most ``limit``."""
    inner = _current(names, upto_seq)
    n = len(inner.params)
    vec_p, dim_p, limit_p = (
        f"{{p{n}:array(float64)}}",
        f"{{p{n + 1}:int64}}",
        f"{{p{n + 2}:int64}}",
    )
    sql = (
        f"SELECT *, cosine_distance({ident('v_embedding')}, {vec_p}) AS {ident('v_distance')} "
        f"FROM ({inner.sql}) WHERE NOT {ident('v_is_deleted')} AND "
        f"length({ident('v_embedding')}) = {dim_p} ORDER BY {ident('v_distance')} LIMIT {limit_p}"
    )
    params = {
        **inner.params,
        f"p{n}": [float(x) for x in vector],
        f"p{n + 1}": len(vector),
        f"p{n + 2}": limit,
    }
    return Statement(sql, params)
