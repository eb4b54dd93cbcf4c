"""web_fetch against a loopback aiohttp server: internal addresses refused (also after
DNS and on redirects), readable text from HTML, text passed, binary refused, limits."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from pulsed.config.tools import WebConfig
from pulsed.tools.base import ToolContext, ToolFailure
from pulsed.tools.web import IP, WebFetch, address_problem

CTX = ToolContext(turn_id="t", session_id="s")
PAGE = b"""<!doctype html><html><head><title>Pulse test page</title>
<script>document.write("SCRIPT-SHOULD-NOT-SHOW")</script><style>.x{color:red}</style></head>
<body><nav>menu</nav><article><h1>Streams everywhere</h1>
<p>Every message, LLM call and tool call is a row appended to a stream, so the agent is
observable and queryable by default. This paragraph is long enough to be main content.</p>
<p>Rows arriving on a stream can start the agent's work, which is the second idea here.</p>
</article></body></html>"""


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """Base URL of a loopback server with a page, text, JSON, binary and redirects."""
    app = web.Application()

    async def page(_: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html", charset="utf-8")

    async def text(_: web.Request) -> web.Response:
        return web.Response(text="plain words\nsecond line")

    async def data(_: web.Request) -> web.Response:
        return web.json_response({"a": 1})

    async def image(_: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + bytes(100), content_type="image/png")

    async def big(_: web.Request) -> web.Response:
        return web.Response(text="x" * 200_000)

    async def redirect(req: web.Request) -> web.Response:
        raise web.HTTPFound(req.query["to"])

    async def loop(req: web.Request) -> web.Response:
        n = int(req.match_info["n"])
        raise web.HTTPFound(f"/loop/{n + 1}")

    app.router.add_get("/page", page)
    app.router.add_get("/text", text)
    app.router.add_get("/data", data)
    app.router.add_get("/image", image)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop/{n}", loop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def tool(allow_private: bool, **kw: object) -> WebFetch:
    return WebFetch(WebConfig(allow_private=allow_private, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.1.2.3:8080/x", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://localhost/", "loopback"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://0x7f.1/", "loopback"),
    ],
)
async def test_internal_addresses_refused(url: str, what: str) -> None:
    with pytest.raises(ToolFailure, match=what):
        await tool(False).execute({"url": url}, CTX)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "gopher://x/", "x"])
async def test_other_schemes_refused(url: str) -> None:
    with pytest.raises(ToolFailure, match="only http and https|not a valid URL|no host"):
        await tool(True).execute({"url": url}, CTX)


async def test_loopback_server_refused_without_allow_private(server: str) -> None:
    with pytest.raises(ToolFailure, match="loopback"):
        await tool(False).execute({"url": server + "/page"}, CTX)


async def test_html_becomes_readable_text(server: str) -> None:
    out = await tool(True).execute({"url": server + "/page"}, CTX)
    title, url = out.text.splitlines()[:2]
    assert title in ("# Pulse test page", "# Streams everywhere")  # trafilatura's pick
    assert url == f"URL: {server}/page"
    assert "appended to a stream" in out.text
    assert "SCRIPT-SHOULD-NOT-SHOW" not in out.text and "<p>" not in out.text
    assert "color:red" not in out.text


async def test_text_and_json_pass_through(server: str) -> None:
    out = await tool(True).execute({"url": server + "/text"}, CTX)
    assert out.text == f"URL: {server}/text\n\nplain words\nsecond line"
    out = await tool(True).execute({"url": server + "/data"}, CTX)
    assert out.text.endswith('{"a": 1}')


async def test_binary_refused_with_its_type(server: str) -> None:
    with pytest.raises(ToolFailure, match=r"binary content \(image/png, 108 bytes\)"):
        await tool(True).execute({"url": server + "/image"}, CTX)


async def test_limits(server: str) -> None:
    out = await tool(True, max_bytes=4096).execute({"url": server + "/big", "max_chars": 100}, CTX)
    assert "[cut at 100 characters]" in out.text and "[body cut at 4096 bytes]" in out.text


async def test_redirect_followed_and_final_url_shown(server: str) -> None:
    out = await tool(True).execute({"url": f"{server}/redirect?to=/text"}, CTX)
    assert out.text.startswith(f"URL: {server}/text")


async def test_redirect_to_private_refused(server: str) -> None:
    """127.0.0.1 plays a public host (the address check lets exactly it pass); its
    redirect to another loopback address, 10.x or the metadata address is checked
    again and refused."""

    def only_127_0_0_1_is_public(ip: IP) -> str:
        return "" if ip == ipaddress.ip_address("127.0.0.1") else address_problem(ip)

    fetch = WebFetch(WebConfig(), only_127_0_0_1_is_public)
    port = server.rsplit(":", 1)[1]
    assert (await fetch.execute({"url": server + "/text"}, CTX)).text.endswith("second line")
    for target in (
        f"http://127.0.0.2:{port}/text",
        f"http://[::1]:{port}/text",
        "http://10.0.0.7/",
        "http://169.254.169.254/latest/meta-data/",
    ):
        with pytest.raises(ToolFailure, match="loopback|private|link-local"):
            await fetch.execute({"url": f"{server}/redirect?to={target}"}, CTX)
    with pytest.raises(ToolFailure, match="only http and https"):
        await fetch.execute({"url": f"{server}/redirect?to=file:///etc/passwd"}, CTX)


async def test_redirect_limit(server: str) -> None:
    with pytest.raises(ToolFailure, match="more than 5 redirects"):
        await tool(True).execute({"url": server + "/loop/0"}, CTX)


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("100.64.0.1", False),
        ("192.0.2.1", False),
        ("::", False),
        ("::127.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("2001:0::1", False),  # Teredo
        ("fec0::1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_address_problem(ip: str, public: bool) -> None:
    assert (address_problem(ipaddress.ip_address(ip)) == "") is public
