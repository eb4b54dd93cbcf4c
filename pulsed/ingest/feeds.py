"""Feeds: RSS and Atom feeds of ``[ingest.feeds.NAME]`` polled into the ingest stream.

Each enabled feed is fetched every ``every`` (at least ``MIN_EVERY_S``) with a
conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last answer's
``ETag`` / ``Last-Modified``; a 304 costs nothing), parsed with feedparser, and each
entry becomes one row: source ``feed:<name>``, kind ``entry``, dedupe_key
``feed:<name>:<entry id, else link, else a hash of title and date>``, so an entry is
stored once however often it is served (``Ingestor`` drops the repeats). The validators
are kept in ``cursors`` (consumer ``feed:<name>``), so a restart polls conditionally
too. A failed poll is logged, counted in ``failures`` and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsed.config.ingest import FeedConfig
from pulsed.errors import ConfigError, InvalidArgument, PulseError
from pulsed.ingest.appender import IngestItem, Ingestor
from pulsed.store import rows
from pulsed.store.base import Filter, Store
from pulsed.timeutil import parse_duration

log = logging.getLogger("pulsed.feeds")

MIN_EVERY_S = 10.0
FETCH_TIMEOUT_S = 30.0
MAX_FEED_BYTES = 10 * 1024 * 1024
"""Largest feed document read."""
MAX_SUMMARY_CHARS = 4_000
USER_AGENT = "pulsed-feeds/1"


def consumer_of(name: str) -> str:
    """The ``cursors`` consumer holding feed ``name``'s validators."""
    return f"feed:{name}"


def entry_key(entry: Mapping[str, Any]) -> str:
    """What identifies an entry: its id, else its link, else a hash of title and date."""
    for field in ("id", "link"):
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()[:300]
    basis = f"{entry.get('title', '')}\n{entry.get('published', entry.get('updated', ''))}"
    return "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def entry_payload(entry: Mapping[str, Any], feed_title: str) -> dict[str, Any]:
    """The row payload of a feed entry: id, title, link, dates, author, summary (cut to
    ``MAX_SUMMARY_CHARS``), tags and the feed's title."""
    tags = [t.get("term", "") for t in entry.get("tags") or [] if isinstance(t, Mapping)]
    summary = str(entry.get("summary") or "")
    return {
        "id": str(entry.get("id") or ""),
        "title": str(entry.get("title") or ""),
        "link": str(entry.get("link") or ""),
        "published": str(entry.get("published") or ""),
        "updated": str(entry.get("updated") or ""),
        "author": str(entry.get("author") or ""),
        "summary": summary[:MAX_SUMMARY_CHARS],
        "tags": [t for t in tags if t],
        "feed": feed_title,
    }


def parse_feed(body: bytes) -> tuple[str, list[Mapping[str, Any]]]:
    """(feed title, entries) of an RSS or Atom document (feedparser; CPU-bound).

    Raises:
        ValueError: not a feed feedparser can read.
    """
    import feedparser  # type: ignore[import-untyped]

    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.get("entries"):
        raise ValueError(f"not a feed: {parsed.get('bozo_exception')}")
    title = str(parsed.get("feed", {}).get("title") or "")
    # Plain dicts: feedparser's own maps some missing keys to others, with a warning.
    return title, [dict(e) for e in parsed.get("entries") or []]


@dataclass
class FeedState:
    """What a poller knows between polls (``etag`` and ``modified`` are the validators)."""

    etag: str = ""
    modified: str = ""
    polls: int = 0
    failures: int = 0
    last_error: str = ""
    stored: int = 0


class FeedPoller:
    """One feed: ``poll`` fetches and stores new entries; ``run`` polls every interval."""

    def __init__(
        self, name: str, cfg: FeedConfig, every_s: float, ingestor: Ingestor, store: Store
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.every_s = every_s
        self.ingestor = ingestor
        self.store = store
        self.state = FeedState()
        self.wake = asyncio.Event()

    async def load(self) -> None:
        """The validators recorded by the last poll, if any."""
        found = await self.store.query(
            "cursors", [Filter("consumer", "eq", consumer_of(self.name))], limit=1
        )
        if found:
            detail = found[0]["detail"] if isinstance(found[0]["detail"], dict) else {}
            if detail.get("url") == self.cfg.url:
                self.state.etag = str(detail.get("etag") or "")
                self.state.modified = str(detail.get("modified") or "")
            self.state.polls = int(found[0]["position"])

    async def poll(self) -> int:
        """Fetch the feed (conditionally) and store its new entries; returns how many.

        Raises:
            OSError, ValueError, PulseError: the fetch, the document or the store failed.
        """
        import aiohttp

        headers = {"User-Agent": USER_AGENT}
        if self.state.etag:
            headers["If-None-Match"] = self.state.etag
        if self.state.modified:
            headers["If-Modified-Since"] = self.state.modified
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.cfg.url, headers=headers) as resp,
        ):
            self.state.polls += 1
            if resp.status == 304:
                return 0
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status} from {self.cfg.url}")
            body = await resp.content.read(MAX_FEED_BYTES + 1)
            if len(body) > MAX_FEED_BYTES:
                raise ValueError(f"the feed is over {MAX_FEED_BYTES} bytes")
            etag, modified = resp.headers.get("ETag", ""), resp.headers.get("Last-Modified", "")
        title, entries = await asyncio.to_thread(parse_feed, body)
        items = [
            IngestItem(
                source=f"feed:{self.name}",
                kind="entry",
                payload=entry_payload(e, title),
                dedupe_key=f"feed:{self.name}:{entry_key(e)}",
            )
            for e in reversed(entries)  # oldest first, as feeds list the newest first
        ]
        result = await self.ingestor.append(items)
        self.state.etag, self.state.modified = etag, modified
        self.state.stored += len(result.stored)
        await self.store.append(
            "cursors",
            [
                rows.cursor(
                    consumer=consumer_of(self.name),
                    stream="feed",
                    position=self.state.polls,
                    detail={"url": self.cfg.url, "etag": etag, "modified": modified},
                )
            ],
        )
        return len(result.stored)

    async def run(self) -> None:
        """Poll now and then every ``every_s`` seconds until cancelled."""
        with contextlib.suppress(Exception):
            await self.load()
        while True:
            try:
                new = await self.poll()
                if new:
                    log.info("feed %s: %d new entr%s", self.name, new, "y" if new == 1 else "ies")
                self.state.last_error = ""
            except asyncio.CancelledError:
                raise
            except (OSError, ValueError, PulseError, TimeoutError) as e:
                self.state.failures += 1
                self.state.last_error = str(e)[:500]
                log.warning("feed %s: poll failed: %s", self.name, self.state.last_error)
            except Exception as e:  # aiohttp's ClientError and the like
                self.state.failures += 1
                self.state.last_error = f"{type(e).__name__}: {e}"[:500]
                log.warning("feed %s: poll failed: %s", self.name, self.state.last_error)
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.every_s)


def every_seconds(name: str, cfg: FeedConfig) -> float:
    """A feed's poll interval in seconds.

    Raises:
        ConfigError: not a duration, or under ``MIN_EVERY_S``.
    """
    try:
        seconds = parse_duration(cfg.every).total_seconds()
    except InvalidArgument as e:
        raise ConfigError(f"ingest.feeds.{name}.every: {e.message}") from None
    if seconds < MIN_EVERY_S:
        raise ConfigError(f"ingest.feeds.{name}.every: poll at most every {MIN_EVERY_S:g}s")
    return seconds


class Feeds:
    """Every enabled feed's poller; ``await start()``, ``await stop()``."""

    def __init__(self, feeds: Mapping[str, FeedConfig], ingestor: Ingestor, store: Store) -> None:
        self.pollers = {
            name: FeedPoller(name, cfg, every_seconds(name, cfg), ingestor, store)
            for name, cfg in sorted(feeds.items())
            if cfg.enabled
        }
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start polling (the first poll of each feed happens at once)."""
        self._tasks = [
            asyncio.create_task(p.run(), name=f"feed:{p.name}") for p in self.pollers.values()
        ]

    async def stop(self) -> None:
        """Stop polling (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
