"""The HTTP API listener's lifecycle and state; aiohttp is imported only when it starts.

``start`` never raises for what the status can report instead: the listener stays down
when ``[api.http]`` is disabled, when it has no token ("off": the token is required),
or when it cannot bind or load its certificate ("error"). Each outcome is logged and
written as an ``http_api_started`` or ``http_api_down`` event. A non-loopback address
without TLS never gets here: the config refuses it at load (``validate_api``).
"""

from __future__ import annotations

import logging
import ssl
import time
from typing import TYPE_CHECKING

from pulsed.agent.status import ListenerState
from pulsed.agent.turns import TurnManager
from pulsed.config import Config
from pulsed.config.http import parse_listen
from pulsed.errors import PulseError
from pulsed.providers.pool import ProviderPool
from pulsed.store import rows
from pulsed.store.base import Store

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("pulsed.http_api")

NAME = "http_api"
"""The listener's name in the status."""


def url_of(host: str, port: int, tls: bool) -> str:
    """``http(s)://host:port``, an IPv6 host in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


class HttpApi:
    """The OpenAI-compatible API's listener: ``await start()``, ``state()`` for the
    status, ``await stop()`` with the daemon."""

    def __init__(
        self, cfg: Config, store: Store, turns: TurnManager, providers: ProviderPool
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.turns = turns
        self.providers = providers
        self._runner: web.AppRunner | None = None
        self._state = ListenerState(
            NAME, "disabled", detail="enable it in [api.http]", reason="disabled"
        )

    def state(self) -> ListenerState:
        """The listener now: serving (with its address) or why it is down."""
        return self._state

    @property
    def port(self) -> int:
        """The bound port (0 while not serving)."""
        if self._runner is None:
            return 0
        for addr in self._runner.addresses:
            if isinstance(addr, tuple) and len(addr) >= 2:
                return int(addr[1])
        return 0

    async def start(self, grace_s: float = 10.0) -> None:
        """Serve when enabled and configured; otherwise record why not. ``grace_s`` is
        how long ``stop`` lets running requests finish."""
        h = self.cfg.api.http
        if not h.enabled:
            return
        host, port = parse_listen(h.listen)
        if not h.token:
            await self._down(
                "off",
                "no token",
                "no token: set token in [api.http] or $PULSE_API_TOKEN (every request must "
                "carry it); the listener stays down",
            )
            return
        try:
            context = self._tls() if h.tls else None
        except (OSError, ssl.SSLError) as e:
            await self._down(
                "error", "bad certificate", f"cannot load cert {h.cert} and key {h.key}: {e}"
            )
            return
        from aiohttp import web

        from pulsed.http_api.app import build_app
        from pulsed.http_api.completions import HttpDeps

        deps = HttpDeps(self.cfg, self.store, self.turns, self.providers, int(time.time()))
        runner = web.AppRunner(build_app(deps), access_log=None, shutdown_timeout=grace_s)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, ssl_context=context).start()
        except OSError as e:
            await runner.cleanup()
            await self._down(
                "error", "cannot listen", f"cannot listen on {h.listen}: {e.strerror or e}"
            )
            return
        self._runner = runner
        address = url_of(host, self.port, h.tls)
        self._state = ListenerState(NAME, "serving", address=address)
        log.info("HTTP API (OpenAI-compatible) serving on %s/v1", address)
        await self._event("http_api_started", "info", {"address": address})

    def _tls(self) -> ssl.SSLContext:
        """The server's TLS context from ``cert`` and ``key``.

        Raises:
            OSError, ssl.SSLError: a file is missing or not a matching PEM pair.
        """
        h = self.cfg.api.http
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(h.cert, h.key)
        return context

    async def _down(self, state: str, reason: str, detail: str) -> None:
        self._state = ListenerState(NAME, state, detail=detail, reason=reason)
        log.warning("HTTP API not serving: %s", detail)
        await self._event("http_api_down", "warning", {"state": state, "reason": detail})

    async def _event(self, kind: str, severity: str, payload: dict[str, str]) -> None:
        try:
            await self.store.append(
                "events",
                [
                    rows.event(
                        kind,
                        source="pulsed",
                        severity=severity,
                        payload=payload,
                        tags=["http_api", "lifecycle"],
                    )
                ],
            )
        except PulseError as e:
            log.warning("could not record %s: %s", kind, e.message)

    async def stop(self) -> None:
        """Stop accepting, let running requests finish (up to ``grace_s``), close."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await runner.cleanup()
        if self._state.state == "serving":
            self._state = ListenerState(NAME, "stopped")
