"""Keyword scoring of memories in Python: the tokens a query and a memory share, weighed
by Okapi BM25 (k1 = 1.2, b = 0.75, as SQLite FTS5's ``bm25()``).

Backends without a full-text index (Timeplus, and any store by default) rank the current
memories with ``rank``; the local store asks FTS5 instead. Tokens are lower-case runs of
letters and digits with a light English stemming (``dogs`` → ``dog``, ``running`` →
``run``), close to FTS5's porter tokenizer for the words people type.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

from pulsed.store.base import Row

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
K1 = 1.2
B = 0.75


def stem(word: str) -> str:
    """A light stem of a lower-case word: plural and common verb endings removed."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + keep
    return word


def tokens(text: str) -> list[str]:
    """The stemmed, lower-case word tokens of ``text`` in order."""
    return [stem(t) for t in _TOKEN.findall(text.lower())]


def rank(rows: Iterable[Row], terms: Sequence[str], limit: int) -> list[tuple[Row, float]]:
    """The current (not forgotten) memory ``rows`` that contain any of ``terms`` (query
    words, unstemmed), best first by BM25 over those rows, at most ``limit``; each with
    its score (above 0, higher is better)."""
    docs = [(r, tokens(str(r.get("content", "")))) for r in rows if not r.get("is_deleted")]
    if not docs or not terms:
        return []
    wanted = {stem(t.lower()) for t in terms if t}
    n = len(docs)
    avg = sum(len(d) for _, d in docs) / n or 1.0
    df: Counter[str] = Counter()
    for _, d in docs:
        df.update(wanted.intersection(d))
    out: list[tuple[Row, float]] = []
    for row, d in docs:
        counts = Counter(t for t in d if t in wanted)
        if not counts:
            continue
        score = 0.0
        for term, tf in counts.items():
            idf = max(math.log((n - df[term] + 0.5) / (df[term] + 0.5)), 1e-6)
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(d) / avg))
        out.append((row, score))
    out.sort(key=lambda p: (-p[1], -p[0].seq))
    return out[:limit]
