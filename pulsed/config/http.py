"""[api.http]: the OpenAI-compatible HTTP API (pulsed.http_api)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from pulsed.errors import ConfigError


@dataclass
class HttpApiConfig:
    """[api.http]: serve ``/v1/models`` and ``/v1/chat/completions`` for other tools."""

    enabled: bool = False
    """Start the listener (it also needs a token)."""
    listen: str = "127.0.0.1:8788"
    """host:port (``[::1]:8788`` for IPv6); port 0 picks a free port, shown by
    ``pulsectl status``. A non-loopback host requires cert and key unless allow_insecure."""
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
    keepalive_s: float = 15.0
    """Seconds of silence after which a streamed answer gets an SSE comment line (so
    proxies keep the connection), and after which a stream starts even before the
    turn's first event."""

    @property
    def tls(self) -> bool:
        """Whether the listener serves HTTPS (cert and key are set)."""
        return bool(self.cert and self.key)


@dataclass
class ApiConfig:
    """[api]: listeners besides the gRPC socket."""

    http: HttpApiConfig = field(default_factory=HttpApiConfig)


def parse_listen(listen: str, key: str = "api.http.listen") -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as (host, port); port 0 means any free port.

    Raises:
        ConfigError: not host:port, or the port is not 0-65535.
    """
    text = listen.strip()
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ConfigError(f'{key}: "{listen}" should be host:port, e.g. 127.0.0.1:8788')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ConfigError(f'{key}: "{listen}": write an IPv6 address in brackets, [::1]:8788')
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f'{key}: "{listen}": the port should be a number from 0 to 65535')
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine: ``localhost`` or a loopback address
    (127.0.0.0/8, ::1). Other names count as non-loopback (they may resolve anywhere)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_api(api: ApiConfig) -> None:
    """Raises ConfigError for a bad [api.http] value, and for an enabled listener on a
    non-loopback address without TLS unless ``allow_insecure`` says so. A missing token
    is not an error here: the listener stays down and the status says why."""
    h = api.http
    host, _ = parse_listen(h.listen)
    if bool(h.cert) != bool(h.key):
        raise ConfigError("api.http: set both cert and key for TLS, or neither")
    if h.max_body_bytes < 1024:
        raise ConfigError("api.http.max_body_bytes: must be at least 1024")
    if not 0.1 <= h.keepalive_s <= 3600:
        raise ConfigError("api.http.keepalive_s: must be from 0.1 to 3600 seconds")
    if h.enabled and not h.tls and not h.allow_insecure and not is_loopback(host):
        raise ConfigError(
            f'api.http.listen: "{h.listen}" is not a loopback address, so the API would be '
            "reachable from the network in plain HTTP, bearer token included; set cert and "
            "key in [api.http] for HTTPS, listen on 127.0.0.1, or set allow_insecure = true "
            "if a TLS proxy in front of it makes that safe"
        )
