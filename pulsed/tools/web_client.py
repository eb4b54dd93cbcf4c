"""What web_fetch connects with: an httpx client whose connections go only to vetted
addresses (``GuardedBackend``), and URL checks. Kept apart from ``pulsed.tools.web`` so
the daemon imports httpx only when a fetch runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpcore
import httpx

from pulsed.config.tools import WebConfig
from pulsed.tools.base import ToolFailure
from pulsed.tools.web import IP, USER_AGENT, BlockedAddress, address_problem, resolve


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves each host itself, refuses it unless
    every address is public (or ``allow_private``), and connects to the vetted address.

    Raises (from ``connect_tcp``):
        BlockedAddress: an address of the host is not public.
        ToolFailure: the host does not resolve.
    """

    def __init__(self, allow_private: bool, problem: Callable[[IP], str] = address_problem) -> None:
        self.allow_private = allow_private
        self.problem = problem
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port)
        if not self.allow_private:
            for ip in addresses:
                problem = self.problem(ip)
                if problem:
                    shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
                    raise BlockedAddress(
                        f"{shown}: {problem}; web_fetch does not reach internal addresses "
                        "([tools.web] allow_private = true lifts this)"
                    )
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as e:
                last = e
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_client(
    cfg: WebConfig, problem: Callable[[IP], str] = address_problem
) -> httpx.AsyncClient:
    """An httpx client whose every connection goes through ``GuardedBackend``; no
    redirects followed, no proxy or netrc from the environment."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=4,
        network_backend=GuardedBackend(cfg.allow_private, problem),
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(cfg.timeout_s),
        headers={"User-Agent": USER_AGENT, "Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"},
    )


def check_url(url: str) -> httpx.URL:
    """``url`` parsed, if it is an absolute http(s) URL with a host.

    Raises:
        ToolFailure: another scheme, no host, or not a URL.
    """
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as e:
        raise ToolFailure(f"{url!r} is not a valid URL: {e}") from None
    if u.scheme not in ("http", "https"):
        raise ToolFailure(f"{url}: only http and https URLs are fetched")
    if not u.host:
        raise ToolFailure(f"{url}: no host")
    return u
