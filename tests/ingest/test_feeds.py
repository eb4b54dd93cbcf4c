"""Feeds against a loopback feed server (aiohttp) serving RSS with an ETag: entries are
stored once across polls, a 304 stores nothing, the validators survive a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from pulsed.config.ingest import FeedConfig
from pulsed.errors import ConfigError
from pulsed.ingest.appender import Ingestor
from pulsed.ingest.feeds import FeedPoller, Feeds, entry_key
from pulsed.store.local import LocalStore


def rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><link>https://example.org/{guid}</link>"
        "<pubDate>Thu, 03 Dec 2026 09:00:00 GMT</pubDate></item>"
        for guid, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Test feed</title>'
        f"<link>https://example.org/</link><description>t</description>{body}</channel></rss>"
    )


@dataclass
class FeedServer:
    items: list[tuple[str, str]] = field(default_factory=list)
    version: int = 1
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        etag = f'"v{self.version}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            text=rss(self.items), content_type="application/rss+xml", headers={"ETag": etag}
        )


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    fs = FeedServer(items=[("b", "Second"), ("a", "First")])  # newest first, as feeds do
    app = web.Application()
    app.router.add_get("/feed.xml", fs.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fs.url = f"http://{host}:{port}/feed.xml"
    try:
        yield fs
    finally:
        await runner.cleanup()


async def test_entries_are_stored_once_across_polls(
    feed_server: FeedServer, local_store: LocalStore, ingestor: Ingestor
) -> None:
    cfg = FeedConfig(url=feed_server.url, every="1m")
    poller = FeedPoller("news", cfg, 60, ingestor, local_store)
    assert await poller.poll() == 2
    stored = await local_store.query("ingest", order="asc")
    assert [r["payload"]["title"] for r in stored] == ["First", "Second"]  # oldest first
    assert stored[0]["source"] == "feed:news" and stored[0]["kind"] == "entry"
    assert stored[0]["dedupe_key"] == "feed:news:a"
    assert stored[0]["payload"]["feed"] == "Test feed"

    assert await poller.poll() == 0  # 304: the same version
    assert feed_server.requests[-1].get("If-None-Match") == '"v1"'

    feed_server.items.insert(0, ("c", "Third"))
    feed_server.version = 2
    assert await poller.poll() == 1  # a new version repeating two entries: one new row
    assert await local_store.count("ingest") == 3

    # A restarted poller (new Ingestor, empty memory) polls conditionally and dedupes
    # against the store.
    again = FeedPoller("news", cfg, 60, Ingestor(local_store), local_store)
    await again.load()
    assert await again.poll() == 0
    assert feed_server.requests[-1].get("If-None-Match") == '"v2"'
    again.state.etag = ""  # the server ignores validators: entries still dedupe
    assert await again.poll() == 0
    assert await local_store.count("ingest") == 3


async def test_a_failing_feed_is_retried_and_intervals_are_checked(
    local_store: LocalStore, ingestor: Ingestor
) -> None:
    with pytest.raises(ConfigError, match="ingest.feeds.x.every"):
        Feeds({"x": FeedConfig(url="http://127.0.0.1:9/", every="soon")}, ingestor, local_store)
    with pytest.raises(ConfigError, match="at most every 10s"):
        Feeds({"x": FeedConfig(url="http://127.0.0.1:9/", every="1s")}, ingestor, local_store)
    feeds = Feeds(
        {
            "down": FeedConfig(url="http://127.0.0.1:9/feed", every="10s"),
            "off": FeedConfig(url="http://127.0.0.1:9/feed", enabled=False),
        },
        ingestor,
        local_store,
    )
    assert list(feeds.pollers) == ["down"]
    poller = feeds.pollers["down"]
    with pytest.raises(OSError):
        await poller.poll()


def test_entry_keys() -> None:
    assert entry_key({"id": " x ", "link": "l"}) == "x"
    assert entry_key({"link": "https://e/1"}) == "https://e/1"
    assert entry_key({"title": "t"}).startswith("sha256:")
    assert entry_key({"title": "t"}) == entry_key({"title": "t"})
