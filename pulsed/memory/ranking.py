"""How recalled memories are ranked and cut.

A query becomes its content words (``query_terms``: lower case, stop words out). Each
candidate's relevance is its keyword score relative to the best candidate's, or, with
embeddings, a reciprocal rank fusion of its keyword and vector ranks (``fuse``); it is
then weighed by importance and recency (``weigh``). The relevance floor drops weak
matches, so a question that shares no content word with any memory (and is not close to
one in vector space) gets none: there is no top-k padding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOP_TEXT = """
    a about above after again against all also am an and any are aren as at be
    because been before being below between both but by can cannot could couldn did
    didn do does doesn doing don down during each else ever few for from further get
    gets got had hadn has hasn have haven having he her here hers herself him
    himself his how i if in into is isn it its itself just know let like ll me might
    more most much must mustn my myself need no nor not now of off on once one only
    or other ought our ours ourselves out over own please re really remember s same
    say shall shan she should shouldn so some such t tell than that the their theirs
    them themselves then there these they thing things think this those though
    through to too under until up us ve very want was wasn we were weren what when
    where which while who whom why will with won would wouldn yes yet you your yours
    yourself yourselves d m o y ok okay hi hello hey thanks thank going gonna
"""

STOP_WORDS = frozenset(_STOP_TEXT.split())
"""English function words (and chat filler) that say nothing about a memory."""

RRF_K = 60
"""The constant of reciprocal rank fusion (Cormack et al.; 60 as in most systems)."""
KEYWORD_FLOOR = 0.25
"""A keyword match weaker than this fraction of the best one is dropped."""
VECTOR_FLOOR = 0.35
"""Cosine similarity below which a vector-only match is dropped."""


def query_terms(query: str) -> list[str]:
    """The content words of ``query``, lower case, in order, without repeats or stop
    words (a word of one letter that is not a digit counts as a stop word)."""
    out: list[str] = []
    for w in _WORD.findall(query.lower()):
        if w in STOP_WORDS or (len(w) < 2 and not w.isdigit()) or w in out:
            continue
        out.append(w)
    return out[:32]


def keyword_relevance(scores: Mapping[str, float]) -> dict[str, float]:
    """Keyword scores (higher is better) as 0..1 relative to the best, floored at
    ``KEYWORD_FLOOR``."""
    if not scores:
        return {}
    top = max(scores.values())
    if top <= 0:
        return {k: 1.0 for k in scores}
    rel = {k: v / top for k, v in scores.items()}
    return {k: v for k, v in rel.items() if v >= KEYWORD_FLOOR}


def fuse(keyword: Sequence[str], vector: Sequence[str]) -> dict[str, float]:
    """Reciprocal rank fusion of two rankings of ids (best first), scaled so that first
    place in both is 1.0."""
    out: dict[str, float] = {}
    for ranking in (keyword, vector):
        for i, mid in enumerate(ranking):
            out[mid] = out.get(mid, 0.0) + 1.0 / (RRF_K + i + 1)
    best = 2.0 / (RRF_K + 1)
    return {k: v / best for k, v in out.items()}


def weigh(
    relevance: float, importance: float, when: datetime, now: datetime, half_life: float
) -> float:
    """The final score: ``relevance`` weighed by ``importance`` (0..1; 0.5 = neutral)
    and recency (a memory ``half_life`` days old counts three quarters, a very old one
    half)."""
    age_days = max((now - when).total_seconds() / 86400, 0.0)
    recency = 0.5 + 0.5 * math.pow(0.5, age_days / half_life)
    imp = min(max(importance, 0.0), 1.0)
    return relevance * (0.6 + 0.4 * imp) * recency


def estimate_tokens(text: str) -> int:
    """A rough token count of ``text`` (4 characters a token, at least 1)."""
    return max(1, (len(text) + 3) // 4)
