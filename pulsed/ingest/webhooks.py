"""The webhook listener: ``POST /hooks/<route>`` appends the request to the ingest stream.

Started only when ``[ingest.webhooks.routes.*]`` has a route, on ``[ingest.webhooks]
listen`` (loopback by default; port 0 picks a free port, reported by ``address`` and the
``webhooks_listening`` event). Every request is authenticated by its route, deny by
default:

- ``secret``: ``X-Hub-Signature-256: sha256=<hex>`` must be the HMAC-SHA256 of the raw
  body with the secret (GitHub's form), compared in constant time;
- ``token``: ``Authorization: Bearer <token>``, compared in constant time;
- a route with both needs both.

A missing credential is 401, a wrong one 403, and nothing is stored; an unknown route is
404; a body over ``max_body_bytes`` is 413; a body that is neither JSON, a form nor text
is 415 (bad JSON: 400). An accepted request is answered 202 once its row is durable
(``Ingestor.append``): source ``webhook:<route>``, kind from the route's ``kind_header``,
dedupe_key ``webhook:<route>:<id>`` from its ``id_header`` (a redelivery is stored once),
payload the parsed body. Served with aiohttp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pulsed.config.ingest import WebhookRoute, WebhooksConfig
from pulsed.errors import ConfigError, PulseError
from pulsed.ingest.appender import IngestItem, Ingestor
from pulsed.store import rows
from pulsed.store.base import Store

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("pulsed.webhooks")

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_HEADER_VALUE = 200
"""Longest kind or delivery id taken from a header."""


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 of ``body`` with ``secret``, as GitHub sends it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_auth(route: WebhookRoute, headers: Any, body: bytes) -> int:
    """0 when the request carries every credential its route asks for, else the HTTP
    status to refuse it with: 401 (missing) or 403 (wrong)."""
    if not route.secret and not route.token:
        return 403  # validate_ingest refuses such a route; deny all the same
    if route.secret:
        sent = headers.get(SIGNATURE_HEADER, "")
        if not sent:
            return 401
        if not hmac.compare_digest(sent.encode(), signature(route.secret, body).encode()):
            return 403
    if route.token:
        auth = headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401
        if not hmac.compare_digest(token.strip().encode(), route.token.encode()):
            return 403
    return 0


def parse_body(content_type: str, body: bytes) -> Any:
    """The payload of a request body: JSON as is; a form as an object of its fields (a
    form with only ``payload`` holding JSON, as GitHub sends forms, as that JSON); text as
    ``{"text": ...}``; empty as {}.

    Raises:
        ValueError: bad JSON or not UTF-8 (400). TypeError: another content type (415).
    """
    if not body:
        return {}
    ctype = content_type.split(";")[0].strip().lower()
    text = body.decode("utf-8")
    if ctype == "application/json" or ctype.endswith("+json"):
        return json.loads(text)
    if ctype == "application/x-www-form-urlencoded":
        fields = dict(parse_qsl(text, keep_blank_values=True))
        if set(fields) == {"payload"}:
            try:
                return json.loads(fields["payload"])
            except ValueError:
                pass
        return fields
    if ctype.startswith("text/") or not ctype:
        return {"text": text}
    raise TypeError(ctype)


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8787`` too) as (host, port).

    Raises:
        ConfigError: not host:port with a port in 0..65535.
    """
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f'ingest.webhooks.listen: "{listen}" should be host:port')
    return host, int(port)


class WebhookServer:
    """The listener (see the module docstring); ``await start()``, ``await stop()``."""

    def __init__(self, cfg: WebhooksConfig, ingestor: Ingestor, store: Store) -> None:
        self.cfg = cfg
        self.ingestor = ingestor
        self.store = store
        self.address = ""
        """``host:port`` bound ('' while not listening)."""
        self.accepted = 0
        self.refused = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen when a route is configured (else do nothing).

        Raises:
            ConfigError: bad ``listen``, or the address cannot be bound (in use, not
                local); the message names the key.
        """
        if not self.cfg.routes:
            return
        from aiohttp import web

        host, port = split_listen(self.cfg.listen)
        app = web.Application(client_max_size=self.cfg.max_body_bytes)
        app.router.add_post("/hooks/{route}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ConfigError(
                f'ingest.webhooks.listen: cannot listen on "{self.cfg.listen}": {e.strerror or e}'
            ) from None
        self._runner = runner
        bound = runner.addresses[0] if runner.addresses else (host, port)
        self.address = f"{bound[0]}:{bound[1]}"
        log.info("webhooks: listening on %s (routes: %s)", self.address, ", ".join(self.cfg.routes))
        await self.store.append(
            "events",
            [
                rows.event(
                    "webhooks_listening",
                    source="ingest",
                    payload={"address": self.address, "routes": sorted(self.cfg.routes)},
                    tags=["ingest", "lifecycle"],
                )
            ],
        )

    async def stop(self) -> None:
        """Stop listening (idempotent); requests in flight get a second to finish."""
        runner, self._runner = self._runner, None
        self.address = ""
        if runner is not None:
            await runner.shutdown()
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        name = request.match_info["route"]
        route = self.cfg.routes.get(name)
        if route is None:
            return self._refuse(web, 404, f"no webhook route {name!r}")
        if request.content_length is not None and request.content_length > self.cfg.max_body_bytes:
            return self._refuse(web, 413, f"body over {self.cfg.max_body_bytes} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(web, 413, f"body over {self.cfg.max_body_bytes} bytes")
        status = check_auth(route, request.headers, body)
        if status:
            log.warning("webhook %s: refused with %d (%s)", name, status, request.remote)
            why = "missing credentials" if status == 401 else "bad signature or token"
            return self._refuse(web, status, why)
        try:
            payload = parse_body(request.headers.get("Content-Type", ""), body)
        except TypeError as e:
            return self._refuse(web, 415, f"unsupported content type {e}; send JSON or a form")
        except ValueError as e:
            return self._refuse(web, 400, f"the body is not valid JSON or UTF-8: {e}")
        kind = request.headers.get(route.kind_header, "")[:MAX_HEADER_VALUE]
        delivery = request.headers.get(route.id_header, "")[:MAX_HEADER_VALUE]
        item = IngestItem(
            source=f"webhook:{name}",
            payload=payload,
            kind=kind,
            dedupe_key=f"webhook:{name}:{delivery}" if delivery else "",
        )
        try:
            result = await self.ingestor.append([item])
        except PulseError as e:
            log.error("webhook %s: cannot store the request: %s", name, e.message)
            return web.json_response({"error": "cannot store the request now"}, status=503)
        self.accepted += 1
        seq = result.seqs[0]
        return web.json_response({"seq": seq, "duplicate": seq == 0}, status=202)

    def _refuse(self, web: Any, status: int, why: str) -> web.Response:
        self.refused += 1
        return _json(web, {"error": why}, status)


def _json(web: Any, body: dict[str, Any], status: int) -> web.Response:
    """A JSON response (``web`` is aiohttp.web, imported when the listener starts)."""
    from aiohttp.web import Response

    response = web.json_response(body, status=status)
    assert isinstance(response, Response)
    return response
