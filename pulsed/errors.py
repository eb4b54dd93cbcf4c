"""The daemon's one error hierarchy.

Every error a user can cause or meet carries a short ``title`` and a message that says
what to do. ``pulsed.api.errors`` maps each class to one gRPC status code; nothing else
in the daemon chooses status codes.
"""

from __future__ import annotations


class PulseError(Exception):
    """Base of every error Pulse reports to a person.

    Attributes:
        title: a few words naming the kind of failure, e.g. "invalid argument".
    """

    title = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(PulseError):
    """The request is malformed: unknown column, bad filter value, bad schedule..."""

    title = "invalid argument"


class NotFound(PulseError):
    """The named thing (stream, session, task, approval request) does not exist."""

    title = "not found"


class AlreadyExists(PulseError):
    """A thing with this name exists already (e.g. a task)."""

    title = "already exists"


class FailedPrecondition(PulseError):
    """The request is well formed but the daemon's state refuses it (e.g. no provider)."""

    title = "failed precondition"


class ResourceExhausted(PulseError):
    """A limit was reached: the daily budget, a queue, a size cap."""

    title = "resource exhausted"


class Unavailable(PulseError):
    """A dependency is down (the store, a provider) or the daemon is shutting down."""

    title = "unavailable"


class ConfigError(PulseError):
    """The configuration file or environment holds a bad value; the message names the key."""

    title = "configuration error"


class StoreError(PulseError):
    """The store failed in a way the caller did not cause."""

    title = "store error"
