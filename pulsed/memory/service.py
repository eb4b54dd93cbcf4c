"""The memory service: add, edit, forget, list, show and search memories.

Every change is a new version in the ``memory`` stream (``rows.memory_version``); the
current state of a memory is its latest version, and a forgotten memory (latest version
``is_deleted``) is neither shown, listed, searched nor recalled, its earlier versions
included. Search ranks the store's keyword matches (``Store.memory_search``) and, with
an ``Embedder``, vector matches, by relevance, importance and recency (``ranking``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pulsed.config.memory import MemoryConfig
from pulsed.errors import InvalidArgument, NotFound
from pulsed.memory import ranking
from pulsed.memory.guard import secret_reason
from pulsed.store import keyword, rows
from pulsed.store.base import Row, Store, make_filters, parse_iso
from pulsed.store.schema import MEMORY, MEMORY_TYPES

log = logging.getLogger("pulsed.memory")

MAX_CONTENT_CHARS = 2000
"""Longest memory text kept."""
DUPLICATE_SIMILARITY = 0.7
"""Word-set overlap (Jaccard) from which a new memory counts as a near-duplicate."""
CANDIDATES = 50
"""Keyword (and vector) candidates ranked per search."""


class Embedder(Protocol):
    """Turns texts into vectors (``pulsed.agent`` implements it over the provider's
    embeddings endpoint, each call logged and budgeted)."""

    async def embed(self, texts: Sequence[str], session_id: str = "") -> list[list[float]]:
        """One vector per text, in order.

        Raises:
            PulseError: the call failed or the budget refused it.
        """
        ...


@dataclass(frozen=True, slots=True)
class Memory:
    """The current state of one memory (its latest version).

    Attributes:
        updated_at: when the latest version was written (schema datetime text, UTC).
        expires_at: ISO 8601 text after which it is not recalled; '' never.
    """

    id: str
    content: str
    memory_type: str
    category: str
    importance: float
    source_session_id: str
    source_message_id: str
    expires_at: str
    updated_at: str
    seq: int
    embedded: bool

    @classmethod
    def of(cls, row: Row) -> Memory:
        """The memory a ``memory`` row describes."""
        v = row.values
        return cls(
            id=str(v["id"]),
            content=str(v["content"]),
            memory_type=str(v["memory_type"]),
            category=str(v["category"]),
            importance=float(v["importance"]),
            source_session_id=str(v["source_session_id"]),
            source_message_id=str(v["source_message_id"]),
            expires_at=str(v["expires_at"]),
            updated_at=str(v["timestamp"]),
            seq=row.seq,
            embedded=bool(v["embedding"]),
        )

    def expired(self, now: datetime) -> bool:
        """Whether its ``expires_at`` has passed at ``now``."""
        if not self.expires_at:
            return False
        try:
            return parse_iso(self.expires_at) <= now
        except InvalidArgument:
            return False


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the memory, its final score and where it came from.

    Attributes:
        score: relevance weighed by importance and recency (0..1).
        keyword: its keyword relevance (0..1 relative to the best match; 0 = none).
        vector: its cosine similarity to the query (0 = not compared).
        why: ``keyword``, ``vector`` or ``keyword+vector``.
    """

    memory: Memory
    score: float
    keyword: float
    vector: float
    why: str


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a memory, as ``versions`` lists them (oldest first)."""

    seq: int
    timestamp: str
    content: str
    memory_type: str
    category: str
    importance: float
    is_deleted: bool


def new_memory_id() -> str:
    """A new memory id: ``mem_`` and 12 hex digits."""
    return "mem_" + uuid.uuid4().hex[:12]


def check_type(memory_type: str) -> str:
    """``memory_type`` ('' = note) if it is one of ``MEMORY_TYPES``.

    Raises:
        InvalidArgument: anything else (the message lists the types).
    """
    t = (memory_type or "note").strip().lower()
    if t not in MEMORY_TYPES:
        raise InvalidArgument(
            f"memory type {memory_type!r} is not one of {', '.join(MEMORY_TYPES)}"
        )
    return t


def check_importance(importance: float) -> float:
    """``importance`` if it is a number from 0 to 1.

    Raises:
        InvalidArgument: anything else.
    """
    if isinstance(importance, bool) or not isinstance(importance, int | float):
        raise InvalidArgument(f"importance must be a number from 0 to 1, not {importance!r}")
    if not 0.0 <= float(importance) <= 1.0:
        raise InvalidArgument(f"importance must be from 0 to 1, not {importance}")
    return float(importance)


def check_content(content: str) -> str:
    """``content`` stripped, if it is text of 1..``MAX_CONTENT_CHARS`` characters that
    does not look like a secret.

    Raises:
        InvalidArgument: empty, too long, not text, or secret-looking (it says why).
    """
    if not isinstance(content, str) or not content.strip():
        raise InvalidArgument("a memory needs some text")
    text = content.strip()
    if len(text) > MAX_CONTENT_CHARS:
        raise InvalidArgument(
            f"a memory is at most {MAX_CONTENT_CHARS} characters, not {len(text)}"
        )
    why = secret_reason(text)
    if why:
        raise InvalidArgument(f"not stored: {why}; secrets are never kept in memory")
    return text


def check_id(memory_id: str) -> str:
    """``memory_id`` stripped if it is a plausible id.

    Raises:
        InvalidArgument: empty or over 100 characters.
    """
    if not isinstance(memory_id, str) or not memory_id.strip() or len(memory_id) > 100:
        raise InvalidArgument(f"not a memory id: {memory_id!r}")
    return memory_id.strip()


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of the word sets of ``a`` and ``b`` (0..1)."""
    ta, tb = set(keyword.tokens(a)), set(keyword.tokens(b))
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


class MemoryService:
    """Memories in ``store`` under ``cfg`` ([memory]); ``embedder`` adds vectors when
    [memory] embeddings is set."""

    def __init__(self, store: Store, cfg: MemoryConfig, embedder: Embedder | None = None) -> None:
        self.store = store
        self.cfg = cfg
        self.embedder = embedder

    # -- reads ------------------------------------------------------------------------

    async def _latest(self, memory_id: str) -> Row | None:
        filters = make_filters(MEMORY, [("id", "eq", check_id(memory_id))])
        found = await self.store.query("memory", filters, order="desc", limit=1)
        return found[0] if found else None

    async def get(self, memory_id: str) -> Memory:
        """The current state of memory ``memory_id``.

        Raises:
            InvalidArgument: not an id. NotFound: no such memory, or it was forgotten.
        """
        row = await self._latest(memory_id)
        if row is None or row["is_deleted"]:
            raise NotFound(f"no memory {memory_id!r} (see `pulsectl memory list`)")
        return Memory.of(row)

    async def versions(self, memory_id: str) -> list[Version]:
        """Every version of memory ``memory_id``, oldest first (a forgotten memory has
        none to show).

        Raises:
            InvalidArgument: not an id. NotFound: no such memory, or it was forgotten.
        """
        await self.get(memory_id)
        filters = make_filters(MEMORY, [("id", "eq", check_id(memory_id))])
        found = await self.store.query("memory", filters, order="asc", limit=10_000)
        return [
            Version(
                seq=r.seq,
                timestamp=str(r["timestamp"]),
                content=str(r["content"]),
                memory_type=str(r["memory_type"]),
                category=str(r["category"]),
                importance=float(r["importance"]),
                is_deleted=bool(r["is_deleted"]),
            )
            for r in found
        ]

    async def list_current(self, memory_type: str = "", category: str = "") -> list[Memory]:
        """The current memories (not forgotten), newest change first, optionally only
        those of ``memory_type`` and ``category``.

        Raises:
            InvalidArgument: an unknown memory type.
        """
        t = check_type(memory_type) if memory_type else ""
        out = [
            Memory.of(r)
            for r in await self.store.latest_by("memory", "id")
            if not r["is_deleted"]
            and (not t or r["memory_type"] == t)
            and (not category or r["category"] == category)
        ]
        out.sort(key=lambda m: -m.seq)
        return out

    async def mask_forgotten(self, found: Sequence[Row]) -> list[Row]:
        """``found`` (rows of the memory stream, as a stream query or tail returns them)
        with the content and embedding of every version of a forgotten memory blanked:
        what was forgotten is not exported."""
        if not found:
            return []
        gone = {str(r["id"]) for r in await self.store.latest_by("memory", "id") if r["is_deleted"]}
        out = []
        for r in found:
            if str(r["id"]) in gone and (r["content"] or r["embedding"]):
                r = Row(r.stream, r.seq, {**r.values, "content": "", "embedding": []})
            out.append(r)
        return out

    async def search(
        self, query: str, k: int = 0, *, session_id: str = "", now: datetime | None = None
    ) -> list[Hit]:
        """Memories relevant to ``query``, best first, at most ``k`` (0: recall_k, else
        1..50); none when nothing is relevant (the relevance floor of ``ranking``).
        Expired memories are left out.

        Raises:
            InvalidArgument: ``k`` out of range or ``query`` not text.
        """
        if not isinstance(query, str):
            raise InvalidArgument("a memory search needs text")
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= 50:
            raise InvalidArgument(f"k must be from 1 to 50, not {k!r}")
        k = k or max(self.cfg.recall_k, 1)
        now = now or datetime.now(UTC)
        terms = ranking.query_terms(query)
        found = await self.store.memory_search(terms, CANDIDATES) if terms else []
        by_id: dict[str, Memory] = {}
        kw_scores: dict[str, float] = {}
        for row, score in found:
            m = Memory.of(row)
            by_id[m.id] = m
            kw_scores[m.id] = score
        kw_rel = ranking.keyword_relevance(kw_scores)
        vec_sim = await self._vector_candidates(query, by_id, session_id)
        if vec_sim:
            kw_order = sorted(kw_rel, key=lambda i: -kw_rel[i])
            vec_order = sorted(vec_sim, key=lambda i: -vec_sim[i])
            relevance = ranking.fuse(kw_order, vec_order)
        else:
            relevance = kw_rel
        hits = []
        for mid, rel in relevance.items():
            m = by_id[mid]
            if m.expired(now):
                continue
            when = parse_iso(m.updated_at)
            score = ranking.weigh(rel, m.importance, when, now, self.cfg.half_life_days)
            kw, vec = kw_rel.get(mid, 0.0), vec_sim.get(mid, 0.0)
            why = "+".join(w for w, s in (("keyword", kw), ("vector", vec)) if s > 0)
            hits.append(Hit(m, round(score, 4), round(kw, 4), round(vec, 4), why))
        hits.sort(key=lambda h: (-h.score, -h.memory.seq))
        return hits[:k]

    async def _vector_candidates(
        self, query: str, by_id: dict[str, Memory], session_id: str
    ) -> dict[str, float]:
        """Cosine similarity of the query to its nearest memories (empty without an
        embedder or when the embeddings call fails: keyword recall still answers)."""
        if self.embedder is None:
            return {}
        try:
            [vector] = await self.embedder.embed([query], session_id)
            found = await self.store.memory_nearest(vector, CANDIDATES)
        except Exception as e:
            log.warning("vector recall failed (keyword recall goes on): %s", e)
            return {}
        out: dict[str, float] = {}
        for row, sim in found:
            if sim < ranking.VECTOR_FLOOR:
                continue
            m = Memory.of(row)
            by_id.setdefault(m.id, m)
            out[m.id] = sim
        return out

    async def recall(self, query: str, *, session_id: str = "") -> list[Hit]:
        """What goes into a turn's prompt: ``search`` cut to ``recall_k`` memories and
        ``recall_max_tokens`` (estimated) tokens."""
        if self.cfg.recall_k <= 0 or self.cfg.recall_max_tokens <= 0:
            return []
        hits = await self.search(query, self.cfg.recall_k, session_id=session_id)
        out, used = [], 0
        for h in hits:
            cost = ranking.estimate_tokens(h.memory.content) + 12
            if used + cost > self.cfg.recall_max_tokens:
                break
            out.append(h)
            used += cost
        return out

    async def find_duplicate(self, content: str) -> Memory | None:
        """A current memory saying nearly the same as ``content`` (word overlap at least
        ``DUPLICATE_SIMILARITY``), or None."""
        terms = ranking.query_terms(content)
        if not terms:
            return None
        best: tuple[float, Memory] | None = None
        for row, _ in await self.store.memory_search(terms, 10):
            sim = similarity(content, str(row["content"]))
            if sim >= DUPLICATE_SIMILARITY and (best is None or sim > best[0]):
                best = (sim, Memory.of(row))
        return best[1] if best else None

    # -- writes -------------------------------------------------------------------------

    async def _vector(self, text: str, session_id: str) -> list[float]:
        if self.embedder is None:
            return []
        try:
            [vector] = await self.embedder.embed([text], session_id)
        except Exception as e:
            log.warning("embedding a memory failed (kept without a vector): %s", e)
            return []
        return vector

    async def _write(self, values: dict[str, object]) -> Memory:
        [row] = await self.store.append("memory", [values], durable=True)
        return Memory.of(row)

    async def add(
        self,
        content: str,
        *,
        memory_type: str = "note",
        category: str = "",
        importance: float = 0.5,
        source_session_id: str = "",
        source_message_id: str = "",
        expires_at: str = "",
        merge_duplicates: bool = False,
    ) -> tuple[Memory, bool]:
        """Keep a new memory; with ``merge_duplicates`` a near-duplicate of a current
        memory updates that one instead. Returns (the memory, whether it is new).

        Raises:
            InvalidArgument: empty, too long or secret-looking content, an unknown type,
                importance outside 0..1, or a bad ``expires_at``.
        """
        text = check_content(content)
        t = check_type(memory_type)
        imp = check_importance(importance)
        if expires_at:
            parse_iso(expires_at)
        if merge_duplicates:
            dup = await self.find_duplicate(text)
            if dup is not None:
                updated = await self.update(
                    dup.id,
                    content=text,
                    importance=max(imp, dup.importance),
                    source_session_id=source_session_id,
                    source_message_id=source_message_id,
                )
                return updated, False
        vector = await self._vector(text, source_session_id)
        values = rows.memory_version(
            id=new_memory_id(),
            content=text,
            memory_type=t,
            category=str(category or "").strip()[:100],
            importance=imp,
            source_session_id=source_session_id,
            source_message_id=source_message_id,
            embedding=vector,
            expires_at=expires_at,
        )
        return await self._write(values), True

    async def update(
        self,
        memory_id: str,
        *,
        content: str | None = None,
        memory_type: str | None = None,
        category: str | None = None,
        importance: float | None = None,
        source_session_id: str = "",
        source_message_id: str = "",
    ) -> Memory:
        """A new version of memory ``memory_id`` with the given fields changed (the
        source stays unless a new one is given).

        Raises:
            InvalidArgument: a bad field (as ``add``). NotFound: no such memory, or
                it was forgotten.
        """
        cur = await self.get(memory_id)
        text = check_content(content) if content is not None else cur.content
        vector: list[float] = []
        if text != cur.content:
            vector = await self._vector(text, source_session_id or cur.source_session_id)
        elif cur.embedded:
            row = await self._latest(memory_id)
            vector = list(row["embedding"]) if row is not None else []
        values = rows.memory_version(
            id=cur.id,
            content=text,
            memory_type=check_type(memory_type) if memory_type is not None else cur.memory_type,
            category=str(category).strip()[:100] if category is not None else cur.category,
            importance=check_importance(importance) if importance is not None else cur.importance,
            source_session_id=source_session_id or cur.source_session_id,
            source_message_id=source_message_id or cur.source_message_id,
            embedding=vector,
            expires_at=cur.expires_at,
        )
        return await self._write(values)

    async def forget(self, memory_id: str) -> Memory:
        """Forget memory ``memory_id``: a version with ``is_deleted`` and no content.
        Returns what was forgotten.

        Raises:
            InvalidArgument: not an id. NotFound: no such memory, or forgotten already.
        """
        cur = await self.get(memory_id)
        await self._write(
            rows.memory_version(
                id=cur.id,
                content="",
                memory_type=cur.memory_type,
                category=cur.category,
                importance=cur.importance,
                is_deleted=True,
            )
        )
        return cur
