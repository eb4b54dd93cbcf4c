"""The client library's errors, and the one translation of a failed gRPC call into them.

A call fails for one of two reasons, and a client must tell them apart:

- the daemon answered with an error status. Every error pulsed reports itself carries
  the trailing metadata ``pulse-error: <class name>`` (``ERROR_TRAILER``), so an
  UNAVAILABLE *with* that trailer means "daemon up, something it needs (store, provider)
  down": a ``ServerError``;
- nothing answered, or the transport broke (gRPC reports that as UNAVAILABLE too, but
  *without* the trailer): a ``DaemonUnreachable``.

No English text is matched: the status code and the trailer decide. This module imports
no grpc at load time (pulsectl's argument parsing and exit codes use it before any call).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc

ERROR_TRAILER = "pulse-error"
"""Trailing-metadata key the daemon sets on every error it reports (value: the daemon's
error class name, e.g. ``StoreError``)."""

START_HINT = "start it with `pulsed` (or `pulsectl service install`)"
"""What a person can do when no daemon answers."""


class ClientError(Exception):
    """An error of a Pulse client, in words for the person.

    Attributes:
        message: one line saying what went wrong (``CODE: details`` for a status).
        hint: an optional second line saying what to do ("" when none).
        code: the gRPC status code's name (``NOT_FOUND``, ``UNAVAILABLE``, ...); ""
            for errors that did not come from a call.
        details: the status details as sent (the daemon's or gRPC's message).
        error: the daemon's error class from the ``pulse-error`` trailer ("" when the
            daemon did not answer).
    """

    unreachable = False
    """True when no daemon could be reached (as opposed to one refusing a request)."""

    def __init__(
        self, message: str, hint: str = "", *, code: str = "", details: str = "", error: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code
        self.details = details
        self.error = error


class ServerError(ClientError):
    """The daemon answered a call with an error status (any code, UNAVAILABLE included
    when the daemon itself says a part it needs is down).

    Args:
        code: the status code's name, e.g. ``INVALID_ARGUMENT``.
        details: the daemon's message.
        hint: what to do, if anything.
        error: the ``pulse-error`` trailer's value.
    """

    def __init__(self, code: str, details: str, hint: str = "", *, error: str = "") -> None:
        super().__init__(
            f"{code}: {details}" if details else code,
            hint,
            code=code,
            details=details,
            error=error,
        )


class DaemonUnreachable(ClientError):
    """No daemon answers on the socket and none could be started, or the connection to
    it broke. ``code`` is ``UNAVAILABLE``."""

    unreachable = True

    def __init__(self, message: str, hint: str = "", *, details: str = "") -> None:
        super().__init__(message, hint, code="UNAVAILABLE", details=details)


def no_daemon(socket: Path | str, hint: str = START_HINT) -> DaemonUnreachable:
    """The error for "nothing listens on ``socket``", worded the same in every client."""
    return DaemonUnreachable(f"no daemon answers on {socket}", hint)


def socket_gone(socket: Path | str, pid: int) -> DaemonUnreachable:
    """The error for "a daemon holds the socket's lock but its socket file is missing"
    (deleted from under it): what happened and how to recover."""
    return DaemonUnreachable(
        f"pulsed (pid {pid}) is running but its socket {socket} is gone",
        "it re-creates the socket within a few seconds; if it does not, restart it: "
        "`systemctl --user restart pulsed` when it runs as a service, "
        f"else `kill {pid}` and start `pulsed` again",
    )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def from_status(
    code: str | None,
    details: str = "",
    trailers: Iterable[tuple[str, str | bytes]] = (),
    socket: Path | str = "",
) -> ClientError:
    """The error a failed call stands for, from its parts (pure logic).

    Args:
        code: the status code's name (``grpc.StatusCode.X.name``); None when unknown.
        details: the status details.
        trailers: the call's trailing metadata as (key, value) pairs.
        socket: the daemon's socket, named in the hint of a lost connection.

    Returns:
        ``ServerError`` when the daemon answered (any code with the ``pulse-error``
        trailer, or any code but UNAVAILABLE), else ``DaemonUnreachable``.
    """
    name = code or "UNKNOWN"
    error = next((_text(v) for k, v in trailers if k == ERROR_TRAILER), "")
    if name == "UNAVAILABLE" and not error:
        return DaemonUnreachable(
            f"UNAVAILABLE: {details}" if details else "UNAVAILABLE",
            f"the daemon on {socket} stopped answering; is pulsed running?" if socket else "",
            details=details,
        )
    return ServerError(name, details, error=error)


def translate(err: grpc.RpcError, socket: Path | str = "") -> ClientError:
    """The error a failed gRPC call (sync or aio) stands for; see ``from_status``."""
    import grpc

    if not isinstance(err, grpc.Call | grpc.aio.AioRpcError):
        return from_status(None, "", (), socket)
    code = err.code()
    trailers = err.trailing_metadata() or ()
    return from_status(
        code.name if code is not None else None,
        err.details() or "",
        [(str(k), v) for k, v in trailers],
        socket,
    )
