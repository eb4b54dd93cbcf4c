"""web_search against loopback servers speaking the SearXNG, Brave and Tavily JSON APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from pulsed.config import Config
from pulsed.config.tools import WebConfig
from pulsed.tools.base import ToolContext, ToolFailure
from pulsed.tools.builtin import builtin_tools
from pulsed.tools.search import WebSearch, search_tool

CTX = ToolContext(turn_id="t", session_id="s")


@pytest.fixture
async def fake() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Base URL of a fake search service and the requests it saw."""
    seen: list[dict[str, Any]] = []
    app = web.Application()

    async def searx(req: web.Request) -> web.Response:
        seen.append({"path": req.path, "query": dict(req.query)})
        if req.query.get("format") != "json":
            return web.Response(status=403, text="format not allowed")
        return web.json_response(
            {
                "query": req.query["q"],
                "number_of_results": 2,
                "results": [
                    {
                        "url": "https://a.example/",
                        "title": "A",
                        "content": "first  hit",
                        "engine": "x",
                    },
                    {"url": "https://b.example/", "title": "B", "content": "second", "engine": "y"},
                    {"title": "no url, skipped"},
                ],
                "answers": [],
                "suggestions": [],
            }
        )

    async def brave(req: web.Request) -> web.Response:
        seen.append(
            {
                "path": req.path,
                "query": dict(req.query),
                "token": req.headers.get("X-Subscription-Token"),
            }
        )
        if req.headers.get("X-Subscription-Token") != "brave-key":
            return web.json_response({"type": "ErrorResponse"}, status=401)
        return web.json_response(
            {
                "type": "search",
                "query": {"original": req.query["q"]},
                "web": {
                    "type": "search",
                    "results": [
                        {
                            "title": "Brave 1",
                            "url": "https://c.example/",
                            "description": "<strong>c</strong>&nbsp;desc",
                        },
                        {"title": "Brave 2", "url": "https://d.example/", "description": "d"},
                    ],
                },
            }
        )

    async def tavily(req: web.Request) -> web.Response:
        body = await req.json()
        seen.append({"path": req.path, "body": body, "auth": req.headers.get("Authorization")})
        if req.headers.get("Authorization") != "Bearer tvly-key":
            return web.json_response({"detail": {"error": "Unauthorized"}}, status=401)
        return web.json_response(
            {
                "query": body["query"],
                "answer": None,
                "results": [
                    {"title": "T", "url": "https://t.example/", "content": "tav", "score": 0.9}
                ],
                "response_time": 0.1,
            }
        )

    app.router.add_get("/search", searx)
    app.router.add_get("/res/v1/web/search", brave)
    app.router.add_post("/search", tavily)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_searxng(fake: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = fake
    out = await WebSearch(WebConfig(search="searxng", url=url + "/")).execute(
        {"query": "pulse agent", "count": 5}, CTX
    )
    assert out.text == (
        "1. A\n   https://a.example/\n   first hit\n2. B\n   https://b.example/\n   second"
    )
    assert seen[0]["query"] == {"q": "pulse agent", "format": "json"}


async def test_brave(fake: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = fake
    cfg = WebConfig(search="brave", api_key="brave-key", api_base_url=url)
    out = await WebSearch(cfg).execute({"query": "streams", "count": 1}, CTX)
    assert out.text == "1. Brave 1\n   https://c.example/\n   c desc"
    assert seen[0]["query"] == {"q": "streams", "count": "1"}
    bad = WebConfig(search="brave", api_key="wrong", api_base_url=url)
    with pytest.raises(ToolFailure, match="refused the API key"):
        await WebSearch(bad).execute({"query": "x"}, CTX)


async def test_tavily(fake: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = fake
    cfg = WebConfig(search="tavily", api_key="tvly-key", api_base_url=url)
    out = await WebSearch(cfg).execute({"query": "q"}, CTX)
    assert out.text == "1. T\n   https://t.example/\n   tav"
    assert seen[0]["body"] == {"query": "q", "max_results": 5}


async def test_bad_arguments_and_unreachable() -> None:
    tool = WebSearch(WebConfig(search="searxng", url="http://127.0.0.1:9"))
    with pytest.raises(ToolFailure, match="query"):
        await tool.execute({"query": " "}, CTX)
    with pytest.raises(ToolFailure, match="count"):
        await tool.execute({"query": "x", "count": 0}, CTX)
    with pytest.raises(ToolFailure, match="search request failed"):
        await tool.execute({"query": "x"}, CTX)


def test_none_offers_no_tool(tmp_path: object) -> None:
    assert search_tool(WebConfig(search="none")) is None
    cfg = Config()
    cfg.tools.workspace = str(tmp_path)
    cfg.tools.web.search = "none"
    assert "web_search" not in {t.name for t in builtin_tools(cfg)}
    cfg.tools.web.search = "duckduckgo"
    names = {t.name for t in builtin_tools(cfg)}
    assert {"shell", "web_fetch", "web_search"} <= names


@pytest.mark.skip(reason="live DuckDuckGo search needs the internet, which this machine lacks")
async def test_duckduckgo_live() -> None:
    out = await WebSearch(WebConfig(search="duckduckgo")).execute({"query": "python"}, CTX)
    assert "http" in out.text
