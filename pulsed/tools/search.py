"""``web_search(query, count?)``: results (title, URL, snippet) from the backend that
``[tools.web] search`` names:

- ``duckduckgo``: the ``ddgs`` library (no key; its DuckDuckGo backend);
- ``searxng``: the instance at ``url``, its JSON API ``GET {url}/search?q=&format=json``
  (the instance must enable the json format);
- ``brave``: ``GET {api_base_url or https://api.search.brave.com}/res/v1/web/search``
  with the key in ``X-Subscription-Token``;
- ``tavily``: ``POST {api_base_url or https://api.tavily.com}/search`` with the key as a
  bearer token;
- ``none``: the tool is not offered.

Search endpoints are the person's own configuration, so they are not held to
web_fetch's public-address rule (a SearXNG on the LAN is normal).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pulsed.config.tools import WebConfig
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput

if TYPE_CHECKING:
    import httpx

MAX_COUNT = 20
DEFAULT_COUNT = 5
SNIPPET_CHARS = 400
BRAVE_URL = "https://api.search.brave.com"
TAVILY_URL = "https://api.tavily.com"


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One search hit."""

    title: str
    url: str
    snippet: str


Backend = Callable[[WebConfig, str, int], Awaitable[list[SearchResult]]]


def _plain(text: str) -> str:
    """A snippet without markup (Brave marks matches with <strong>) or runs of spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", text)).split())


def _results(items: object, title: str, url: str, snippet: str) -> list[SearchResult]:
    if not isinstance(items, list):
        raise ToolFailure("the search service answered without a result list")
    out = []
    for it in items:
        if isinstance(it, dict) and isinstance(it.get(url), str):
            out.append(
                SearchResult(
                    str(it.get(title) or it[url]).strip(),
                    it[url],
                    _plain(str(it.get(snippet) or ""))[:SNIPPET_CHARS],
                )
            )
    return out


async def _json(
    req: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], cfg: WebConfig
) -> Any:
    import httpx  # only when a search runs: the daemon starts without it

    try:
        async with httpx.AsyncClient(timeout=cfg.timeout_s, trust_env=False) as client:
            resp = await req(client)
    except httpx.HTTPError as e:
        raise ToolFailure(f"search request failed: {type(e).__name__}: {e}") from None
    if resp.status_code in (401, 403):
        raise ToolFailure(f"the search service refused the API key (HTTP {resp.status_code})")
    if resp.status_code == 429:
        raise ToolFailure("the search service is rate-limiting (HTTP 429); try again later")
    if resp.status_code >= 400:
        raise ToolFailure(f"the search service answered HTTP {resp.status_code}")
    try:
        return resp.json()
    except ValueError:
        raise ToolFailure("the search service did not answer JSON") from None


async def searxng(cfg: WebConfig, query: str, count: int) -> list[SearchResult]:
    """SearXNG's JSON API."""
    base = cfg.url.rstrip("/")
    data = await _json(
        lambda c: c.get(f"{base}/search", params={"q": query, "format": "json"}), cfg
    )
    items = data.get("results") if isinstance(data, dict) else None
    return _results(items, "title", "url", "content")[:count]


async def brave(cfg: WebConfig, query: str, count: int) -> list[SearchResult]:
    """Brave Search's web search API."""
    base = (cfg.api_base_url or BRAVE_URL).rstrip("/")
    data = await _json(
        lambda c: c.get(
            f"{base}/res/v1/web/search",
            params={"q": query, "count": count},
            headers={"X-Subscription-Token": cfg.api_key, "Accept": "application/json"},
        ),
        cfg,
    )
    web = data.get("web") if isinstance(data, dict) else None
    items = web.get("results", []) if isinstance(web, dict) else []
    return _results(items, "title", "url", "description")[:count]


async def tavily(cfg: WebConfig, query: str, count: int) -> list[SearchResult]:
    """Tavily's search API."""
    base = (cfg.api_base_url or TAVILY_URL).rstrip("/")
    data = await _json(
        lambda c: c.post(
            f"{base}/search",
            json={"query": query, "max_results": count},
            headers={"Authorization": f"Bearer {cfg.api_key}"},
        ),
        cfg,
    )
    items = data.get("results") if isinstance(data, dict) else None
    return _results(items, "title", "url", "content")[:count]


async def duckduckgo(cfg: WebConfig, query: str, count: int) -> list[SearchResult]:
    """DuckDuckGo through the ddgs library (blocking; run in a thread)."""

    def run() -> list[dict[str, Any]]:
        from ddgs import DDGS
        from ddgs.exceptions import DDGSException

        try:
            return DDGS(timeout=int(cfg.timeout_s)).text(
                query, max_results=count, backend="duckduckgo"
            )
        except DDGSException as e:
            raise ToolFailure(f"DuckDuckGo search failed: {e}") from None

    return _results(await asyncio.to_thread(run), "title", "href", "body")[:count]


BACKENDS: dict[str, Backend] = {
    "duckduckgo": duckduckgo,
    "searxng": searxng,
    "brave": brave,
    "tavily": tavily,
}


class WebSearch(Tool):
    """``web_search(query, count?)`` (module doc)."""

    name = "web_search"
    description = "Search the web. Returns up to `count` results: title, URL and a snippet."
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to search for"},
            "count": {
                "type": "integer",
                "description": f"how many results (default {DEFAULT_COUNT}, most {MAX_COUNT})",
            },
        },
        "required": ["query"],
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, cfg: WebConfig) -> None:
        self.cfg = cfg
        self.backend = BACKENDS[cfg.search]

    def time_limit(self, args: dict[str, Any]) -> float | None:
        return self.cfg.timeout_s + 5

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        query = args.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ToolFailure("argument 'query' must be a non-empty string")
        count = args.get("count", DEFAULT_COUNT)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ToolFailure("argument 'count' must be a positive integer")
        results = await self.backend(self.cfg, query.strip(), min(count, MAX_COUNT))
        if not results:
            return ToolOutput(f"no results for {query.strip()!r} ({self.cfg.search})")
        lines = []
        for i, r in enumerate(results, 1):
            lines.append(f"{i}. {r.title}\n   {r.url}" + (f"\n   {r.snippet}" if r.snippet else ""))
        return ToolOutput("\n".join(lines))


def search_tool(cfg: WebConfig) -> WebSearch | None:
    """The web_search tool for ``[tools.web] search``, or None for ``none``."""
    return None if cfg.search == "none" else WebSearch(cfg)
