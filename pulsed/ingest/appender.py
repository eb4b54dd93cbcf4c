"""The one way rows from outside reach the ``ingest`` stream: checked, deduplicated and
appended durably in batches.

Every writer (``Ingest.Append``, webhooks, feeds) calls ``Ingestor.append``. A row whose
``dedupe_key`` was stored before, or appears earlier in the same batch, is dropped and
counted. Appends are serialised, so two concurrent batches with the same key store it
once; and appends that arrive while one is being stored are stored together after it, in
one durable store append (group commit: one fsync for many webhook deliveries, each of
one row), with the results split back per caller exactly as if each had gone alone.
Keys seen recently are remembered (``recent_keys``); older ones are looked up in the
store (indexed column).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulsed.errors import InvalidArgument
from pulsed.store import rows
from pulsed.store.base import Filter, Row, Store

MAX_BATCH_ROWS = 10_000
"""Rows one append takes at most (also the most a group of appends stores at once)."""
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
class _Request:
    """One caller's items and the future of its result."""

    items: Sequence[IngestItem]
    done: asyncio.Future[IngestResult]


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
        self._waiting: deque[_Request] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._max_recent = recent_keys
        self.appended = 0
        """Rows stored since start."""
        self.duplicates = 0
        """Rows dropped as duplicates since start."""
        self.groups = 0
        """Store appends made since start (fewer than the calls when they came together)."""

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
        if not items:
            return IngestResult()
        request = _Request(items, asyncio.get_running_loop().create_future())
        self._waiting.append(request)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="ingest-appends")
        # A caller that goes away before its group is taken is left out of it; once
        # taken, its rows are stored (the ack is what is lost; dedupe keys make a
        # resend safe).
        return await request.done

    async def _drain(self) -> None:
        """Store the waiting requests, a group at a time, in arrival order, until none
        is left; each request's future gets its result or the group's error."""
        while self._waiting:
            group = self._take_group()
            if not group:
                continue
            try:
                await self._store_group(group)
            except BaseException:  # cancelled: so are the callers still waiting
                for r in (*group, *self._waiting):
                    r.done.cancel()
                self._waiting.clear()
                raise

    async def _store_group(self, group: list[_Request]) -> None:
        """Store ``group`` and resolve its futures. A row the store refuses
        (InvalidArgument, e.g. a payload that is not JSON) fails only its own caller:
        the group is then stored a request at a time."""
        try:
            results = await self._append_group(group)
        except InvalidArgument as e:
            if len(group) == 1:
                _fail(group, e)
                return
            for r in group:
                await self._store_group([r])
            return
        except Exception as e:
            _fail(group, e)
            return
        for r, result in zip(group, results, strict=True):
            if not r.done.done():
                r.done.set_result(result)

    async def aclose(self) -> None:
        """Wait until the appends already taken in are stored (idempotent; appends
        after it start a new drain)."""
        if self._drainer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None

    def _take_group(self) -> list[_Request]:
        """The waiting requests to store together: from the front, whole requests, up
        to ``MAX_BATCH_ROWS`` rows (at least one request); cancelled ones dropped."""
        group: list[_Request] = []
        rows_in = 0
        while self._waiting:
            r = self._waiting[0]
            if r.done.done():  # its caller went away
                self._waiting.popleft()
                continue
            if group and rows_in + len(r.items) > MAX_BATCH_ROWS:
                break
            group.append(self._waiting.popleft())
            rows_in += len(r.items)
        return group

    async def _append_group(self, group: list[_Request]) -> list[IngestResult]:
        """Dedupe and store the items of ``group`` in one durable append; one result per
        request, as each would have had on its own, one after the other."""
        items = [item for r in group for item in r.items]
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
        self.groups += 1
        for key in fresh:
            self._remember(key)
        self.appended += len(stored)
        self.duplicates += keep.count(False)
        results: list[IngestResult] = []
        rows_of = iter(stored)
        kept = iter(keep)
        for r in group:
            result = IngestResult()
            for _ in r.items:
                if next(kept):
                    row = next(rows_of)
                    result.stored.append(row)
                    result.seqs.append(row.seq)
                else:
                    result.seqs.append(0)
                    result.duplicates += 1
            results.append(result)
        return results

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


def _fail(group: list[_Request], error: Exception) -> None:
    """Hand ``error`` to each caller of ``group`` still waiting."""
    for r in group:
        if not r.done.done():
            r.done.set_exception(error)


def item_of(values: Mapping[str, Any]) -> IngestItem:
    """An IngestItem from a mapping with the ``ingest`` columns (missing ones empty)."""
    return IngestItem(
        source=str(values.get("source", "")),
        payload=values.get("payload", {}),
        kind=str(values.get("kind", "")),
        dedupe_key=str(values.get("dedupe_key", "")),
        tags=tuple(values.get("tags", ()) or ()),
    )
