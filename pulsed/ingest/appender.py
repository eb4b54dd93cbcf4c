"""The one way rows from outside reach the ``ingest`` stream: checked, deduplicated and
appended durably in batches.

Every writer (``Ingest.Append``, webhooks, feeds) calls ``Ingestor.append``. A row whose
``dedupe_key`` was stored before, or appears earlier in the same batch, is dropped and
counted. Appends are serialised, so two concurrent batches with the same key store it
once. Keys seen recently are remembered (``recent_keys``); older ones are looked up in
the store (indexed column).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulsed.errors import InvalidArgument
from pulsed.store import rows
from pulsed.store.base import Filter, Row, Store

MAX_BATCH_ROWS = 10_000
"""Rows one append takes at most."""
MAX_SOURCE_CHARS = 200
MAX_KIND_CHARS = 200
MAX_KEY_CHARS = 500
MAX_TAGS = 32
RECENT_KEYS = 100_000
"""Dedupe keys kept in memory (the least recently seen go first)."""
_LOOKUPS = 8
"""Store look-ups of unknown keys at a time."""


@dataclass(frozen=True, slots=True)
class IngestItem:
    """One row to ingest, as the ways in hand it over (see ``rows.ingest_row``)."""

    source: str
    payload: Any
    kind: str = ""
    dedupe_key: str = ""
    tags: Sequence[str] = ()


@dataclass(slots=True)
class IngestResult:
    """What an append did: ``stored`` rows (in request order), ``duplicates`` dropped,
    and per request item its seq (0: dropped as a duplicate)."""

    stored: list[Row] = field(default_factory=list)
    duplicates: int = 0
    seqs: list[int] = field(default_factory=list)


def check_item(item: IngestItem, index: int = 0) -> None:
    """Refuse an item the ``ingest`` stream cannot hold.

    Raises:
        InvalidArgument: empty or too long source, kind or key, too many tags; the
            message names the row (``index``, from 0) and the field.
    """
    where = f"row {index}"
    if not item.source or len(item.source) > MAX_SOURCE_CHARS:
        raise InvalidArgument(f"{where}: source must be 1-{MAX_SOURCE_CHARS} characters")
    if len(item.kind) > MAX_KIND_CHARS:
        raise InvalidArgument(f"{where}: kind is longer than {MAX_KIND_CHARS} characters")
    if len(item.dedupe_key) > MAX_KEY_CHARS:
        raise InvalidArgument(f"{where}: dedupe_key is longer than {MAX_KEY_CHARS} characters")
    if len(item.tags) > MAX_TAGS or not all(isinstance(t, str) for t in item.tags):
        raise InvalidArgument(f"{where}: tags must be at most {MAX_TAGS} strings")


class Ingestor:
    """Appends items to ``store``'s ``ingest`` stream (see the module docstring)."""

    def __init__(self, store: Store, recent_keys: int = RECENT_KEYS) -> None:
        self.store = store
        self._lock = asyncio.Lock()
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._max_recent = recent_keys
        self.appended = 0
        """Rows stored since start."""
        self.duplicates = 0
        """Rows dropped as duplicates since start."""

    async def append(self, items: Sequence[IngestItem]) -> IngestResult:
        """Store ``items`` (durably: fsynced before this returns) minus duplicates.

        Raises:
            InvalidArgument: more than ``MAX_BATCH_ROWS`` items, or one ``check_item``
                refuses (nothing of the batch is stored).
            StoreError, Unavailable: the store failed (nothing of the batch is stored).
        """
        if len(items) > MAX_BATCH_ROWS:
            raise InvalidArgument(
                f"{len(items)} rows in one append; the limit is {MAX_BATCH_ROWS} (send batches)"
            )
        for i, item in enumerate(items):
            check_item(item, i)
        result = IngestResult()
        if not items:
            return result
        async with self._lock:
            stored_keys = await self._stored({i.dedupe_key for i in items if i.dedupe_key})
            batch: list[rows.Values] = []
            keep: list[bool] = []
            fresh: set[str] = set()
            for item in items:
                key = item.dedupe_key
                if key and (key in stored_keys or key in fresh):
                    keep.append(False)
                    continue
                if key:
                    fresh.add(key)
                keep.append(True)
                batch.append(
                    rows.ingest_row(
                        source=item.source,
                        kind=item.kind,
                        payload=item.payload,
                        dedupe_key=key,
                        tags=item.tags,
                    )
                )
            stored = await self.store.append("ingest", batch, durable=True) if batch else []
            for key in fresh:
                self._remember(key)
        it = iter(stored)
        result.stored = stored
        result.seqs = [next(it).seq if k else 0 for k in keep]
        result.duplicates = keep.count(False)
        self.appended += len(stored)
        self.duplicates += result.duplicates
        return result

    def _remember(self, key: str) -> None:
        self._recent[key] = None
        self._recent.move_to_end(key)
        while len(self._recent) > self._max_recent:
            self._recent.popitem(last=False)

    async def _stored(self, keys: set[str]) -> set[str]:
        """Which of ``keys`` the stream holds already."""
        known = {k for k in keys if k in self._recent}
        for k in known:
            self._recent.move_to_end(k)
        unknown = sorted(keys - known)
        sem = asyncio.Semaphore(_LOOKUPS)

        async def held(key: str) -> bool:
            async with sem:
                found = await self.store.query("ingest", [Filter("dedupe_key", "eq", key)], limit=1)
                return bool(found)

        hits = await asyncio.gather(*(held(k) for k in unknown))
        for key, hit in zip(unknown, hits, strict=True):
            if hit:
                known.add(key)
                self._remember(key)
        return known


def item_of(values: Mapping[str, Any]) -> IngestItem:
    """An IngestItem from a mapping with the ``ingest`` columns (missing ones empty)."""
    return IngestItem(
        source=str(values.get("source", "")),
        payload=values.get("payload", {}),
        kind=str(values.get("kind", "")),
        dedupe_key=str(values.get("dedupe_key", "")),
        tags=tuple(values.get("tags", ()) or ()),
    )
