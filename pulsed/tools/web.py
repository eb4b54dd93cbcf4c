"""``web_fetch(url, max_chars?)``: a web page as readable text, never an internal address.

How a fetch is kept off internal addresses (unless ``[tools.web] allow_private``):

- only ``http`` and ``https`` URLs;
- the host name is resolved by the tool itself; every address it resolves to must be
  public: loopback, private (RFC 1918), link-local (also 169.254.169.254, the cloud
  metadata address), multicast, reserved, unspecified, shared (100.64/10),
  unique-local (fc00::/7), site-local and documentation ranges are refused, for IPv4,
  IPv6 and IPv4-mapped/-compatible/6to4/Teredo forms (``ipaddress``; an address counts
  as public only when ``is_global``);
- the TCP connection goes to the address that was checked: the check lives in an
  httpcore network backend (``GuardedBackend``) that replaces the host by the vetted IP
  at connect time, so no second lookup can return another address (DNS rebinding); TLS
  still verifies the certificate for, and sends SNI with, the host name, and the Host
  header is the name;
- redirects are followed by hand, at most ``MAX_REDIRECTS``, each target checked the
  same way; proxies from the environment are ignored.

Limits: ``[tools.web] timeout_s`` for the whole fetch, ``max_bytes`` of body read (the
rest is cut with a note), ``max_chars`` of text returned. HTML becomes Markdown through
trafilatura (main content, with the page title and the final URL; never raw tags or
scripts), text types pass through, anything else is refused naming its content type.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from pulsed.config.tools import WebConfig
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("pulsed.tools.web")

MAX_REDIRECTS = 5
MAX_CHARS = 50_000
"""Most text one fetch returns, whatever ``max_chars`` asks."""
USER_AGENT = "Mozilla/5.0 (compatible; pulse-agent web_fetch)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/rss+xml",
    "application/atom+xml",
    "application/ld+json",
)

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddress(ToolFailure):
    """The URL's host is or resolves to an address web_fetch may not reach."""


def address_problem(ip: IP) -> str:
    """Why ``ip`` may not be fetched ('' when it is public). Embedded IPv4 addresses
    (mapped, compatible, 6to4, Teredo) are judged as themselves too."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return address_problem(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            return address_problem(ip.sixtofour) or ("6to4" if not ip.is_global else "")
        if ip.teredo is not None:
            return "a Teredo tunnel address"
        if ip.packed[:12] == bytes(12) and int(ip) > 1:  # ::a.b.c.d (IPv4-compatible)
            return address_problem(ipaddress.IPv4Address(ip.packed[12:]))
        if ip.is_site_local:
            return "a site-local address"
    for attr, what in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attr):
            return what
    if not ip.is_global:
        return "not a public address"
    return ""


async def resolve(host: str, port: int) -> list[IP]:
    """Every address ``host`` resolves to (an IP literal is itself).

    Raises:
        ToolFailure: the name does not resolve.
    """
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ToolFailure(f"{host}: does not resolve ({e.strerror})") from None
    out: list[IP] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in out:
            out.append(ip)
    if not out:
        raise ToolFailure(f"{host}: does not resolve")
    return out


class WebFetch(Tool):
    """``web_fetch(url, max_chars?)`` (module doc)."""

    name = "web_fetch"
    description = (
        "Fetch a web page (http/https) and return its readable text as Markdown, with the "
        "title and final URL. Internal and private addresses are refused."
    )
    parameters = {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "an http:// or https:// URL"},
            "max_chars": {"type": "integer", "description": "most characters of text to return"},
        },
        "required": ["url"],
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, cfg: WebConfig, problem: Callable[[IP], str] = address_problem) -> None:
        self.cfg = cfg
        self.problem = problem
        """Why an address may not be reached ('' = it may); ``address_problem``."""

    def time_limit(self, args: dict[str, Any]) -> float | None:
        return self.cfg.timeout_s + 30  # the fetch's own limit, then text extraction

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        url = args.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ToolFailure("argument 'url' must be a non-empty string")
        max_chars = args.get("max_chars", self.cfg.max_chars)
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ToolFailure("argument 'max_chars' must be a positive integer")
        max_chars = min(max_chars, MAX_CHARS)
        try:
            async with asyncio.timeout(self.cfg.timeout_s):
                status, final, ctype, body, cut = await self.fetch(url.strip())
        except TimeoutError:
            raise ToolFailure(
                f"{url}: no complete answer within {self.cfg.timeout_s:g} s"
            ) from None
        text = await asyncio.to_thread(render, final, ctype, body)
        if len(text) > max_chars:
            text = text[:max_chars] + f"\n\n[cut at {max_chars} characters]"
        note = f"\n\n[body cut at {self.cfg.max_bytes} bytes]" if cut else ""
        return ToolOutput(f"{text}{note}", is_error=status >= 400)

    async def fetch(self, url: str) -> tuple[int, str, str, bytes, bool]:
        """GET ``url`` following at most ``MAX_REDIRECTS`` checked redirects: (status,
        final URL, content type, body of at most ``max_bytes``, whether it was cut).

        Raises:
            ToolFailure: a refused URL or address, too many redirects, a network error.
        """
        import httpx  # only when a fetch runs: the daemon starts without it

        from pulsed.tools.web_client import check_url, guarded_client

        target = check_url(url)
        async with guarded_client(self.cfg, self.problem) as client:
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    async with client.stream("GET", target) as resp:
                        if resp.is_redirect and "location" in resp.headers:
                            target = check_url(urljoin(str(target), resp.headers["location"]))
                            continue
                        body, cut = await self._read(resp)
                        ctype = resp.headers.get("content-type", "")
                        return resp.status_code, str(resp.url), ctype, body, cut
                except httpx.HTTPError as e:
                    raise ToolFailure(f"{target}: {type(e).__name__}: {e}") from None
        raise ToolFailure(f"{url}: more than {MAX_REDIRECTS} redirects; stopped")

    async def _read(self, resp: httpx.Response) -> tuple[bytes, bool]:
        buf = bytearray()
        async for chunk in resp.aiter_bytes():
            buf += chunk
            if len(buf) > self.cfg.max_bytes:
                return bytes(buf[: self.cfg.max_bytes]), True
        return bytes(buf), False


def _charset(ctype: str) -> str:
    for part in ctype.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            return v.strip("\"' ")
    return "utf-8"


def render(url: str, ctype: str, body: bytes) -> str:
    """The fetched body as text for the model, headed by its title and final URL.

    Raises:
        ToolFailure: binary content (named by its content type).
    """
    mime = ctype.split(";")[0].strip().lower()
    if not mime:
        head = body[:1024].lstrip().lower()
        if b"\x00" in body[:4096]:
            mime = "application/octet-stream"
        elif head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
            mime = "text/html"
        else:
            mime = "text/plain"
    if mime in HTML_TYPES:
        title, text = html_to_markdown(body, url)
        return f"# {title}\nURL: {url}\n\n{text}" if title else f"URL: {url}\n\n{text}"
    if mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml")):
        try:
            text = body.decode(_charset(ctype), errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return f"URL: {url}\n\n{text}"
    raise ToolFailure(f"{url}: binary content ({mime}, {len(body)} bytes) is not shown")


def html_to_markdown(body: bytes, url: str) -> tuple[str, str]:
    """(title, main text as Markdown) of an HTML page via trafilatura; when it finds no
    main content, the page's visible text (scripts and styles dropped)."""
    import lxml.html  # type: ignore[import-untyped]  # trafilatura's own parser
    import trafilatura

    title = ""
    text = ""
    try:
        meta = trafilatura.extract_metadata(body)
        title = (meta.title or "") if meta is not None else ""
        text = (
            trafilatura.extract(body, url=url, output_format="markdown", include_links=True) or ""
        )
    except Exception as e:  # trafilatura on hostile markup: fall back to plain text
        log.warning("trafilatura failed on %s: %s", url, e)
    if not text.strip():
        try:
            doc = lxml.html.fromstring(body)
        except Exception:
            return title, ""
        for bad in doc.xpath("//script|//style|//noscript|//template"):
            bad.drop_tree()
        if not title:
            found = doc.findtext(".//title")
            title = (found or "").strip()
        text = "\n".join(line.strip() for line in doc.text_content().splitlines() if line.strip())
    return title.strip(), text.strip()
