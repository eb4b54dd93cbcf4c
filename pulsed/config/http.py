"""[api.http]: the OpenAI-compatible HTTP API (pulsed.http_api)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulsed.errors import ConfigError


@dataclass
class HttpApiConfig:
    """[api.http]: serve ``/v1/models`` and ``/v1/chat/completions`` for other tools."""

    enabled: bool = False
    """Start the listener (it also needs a token)."""
    listen: str = "127.0.0.1:8788"
    """host:port; a non-loopback host requires cert and key unless allow_insecure."""
    token: str = ""
    """Bearer token every request must carry; empty: $PULSE_API_TOKEN; none: the
    listener does not start."""
    cert: str = ""
    """TLS certificate file (PEM)."""
    key: str = ""
    """TLS private key file (PEM)."""
    allow_insecure: bool = False
    """Allow plain HTTP on a non-loopback address."""
    max_body_bytes: int = 1024 * 1024
    """Largest request body accepted (larger: 413)."""


@dataclass
class ApiConfig:
    """[api]: listeners besides the gRPC socket."""

    http: HttpApiConfig = field(default_factory=HttpApiConfig)


def validate_api(api: ApiConfig) -> None:
    """Raises ConfigError for a bad [api.http] value (a missing token is not an error
    here: the listener reports it and stays down)."""
    h = api.http
    if ":" not in h.listen:
        raise ConfigError(f'api.http.listen: "{h.listen}" should be host:port')
    if bool(h.cert) != bool(h.key):
        raise ConfigError("api.http: set both cert and key for TLS, or neither")
    if h.max_body_bytes < 1024:
        raise ConfigError("api.http.max_body_bytes: must be at least 1024")
