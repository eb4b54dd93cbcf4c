"""[ingest]: rows from outside (webhooks, feeds) appended to the ``ingest`` stream."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pulsed.errors import ConfigError


@dataclass
class WebhookRoute:
    """[ingest.webhooks.routes.NAME]: ``POST /hooks/NAME``; every request authenticated."""

    secret: str = ""
    """HMAC-SHA256 key: the body's signature must come in X-Hub-Signature-256
    (``sha256=<hex>``, GitHub's form)."""
    token: str = ""
    """Bearer token (``Authorization: Bearer <token>``), for senders that cannot sign."""
    kind_header: str = "X-GitHub-Event"
    """Header whose value becomes the row's kind."""
    id_header: str = "X-GitHub-Delivery"
    """Header whose value becomes the row's dedupe_key."""


@dataclass
class WebhooksConfig:
    """[ingest.webhooks]: the webhook listener (started only when a route is configured)."""

    listen: str = "127.0.0.1:8787"
    """host:port to serve on; loopback by default."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body accepted (larger: 413)."""
    routes: dict[str, WebhookRoute] = field(default_factory=dict)


@dataclass
class FeedConfig:
    """[ingest.feeds.NAME]: an RSS or Atom feed polled for new entries."""

    url: str = ""
    """The feed's http(s) URL."""
    every: str = "15m"
    """Poll interval (30s, 15m, 1h...)."""
    enabled: bool = True


@dataclass
class IngestConfig:
    """[ingest]: webhooks and feeds."""

    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    feeds: dict[str, FeedConfig] = field(default_factory=dict)


_ROUTE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_ingest(ing: IngestConfig) -> None:
    """Raises ConfigError for a bad [ingest.*] value."""
    wh = ing.webhooks
    if wh.routes and ":" not in wh.listen:
        raise ConfigError(f'ingest.webhooks.listen: "{wh.listen}" should be host:port')
    if wh.max_body_bytes < 1024:
        raise ConfigError("ingest.webhooks.max_body_bytes: must be at least 1024")
    for name, route in wh.routes.items():
        key = f"ingest.webhooks.routes.{name}"
        if not _ROUTE.fullmatch(name):
            raise ConfigError(f"{key}: a route name is 1-64 letters, digits, _ or -")
        if not route.secret and not route.token:
            raise ConfigError(
                f"{key}: needs a secret (HMAC signatures) or a token (bearer); every request "
                "is authenticated"
            )
    for name, feed in ing.feeds.items():
        if not feed.url.startswith(("http://", "https://")):
            raise ConfigError(f'ingest.feeds.{name}.url: "{feed.url}" is not an http(s) URL')
