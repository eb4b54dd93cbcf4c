"""OpenAI-style errors: ``{"error": {"message", "type", "code", "param"}}`` with the
HTTP status the openai SDKs map to their exception classes (400 BadRequestError, 401
AuthenticationError, 404 NotFoundError, 413, 429 RateLimitError, 5xx
InternalServerError)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulsed.agent.events import Failed
from pulsed.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PulseError,
    ResourceExhausted,
    StoreError,
    Unavailable,
)

NO_RETRY = {"x-should-retry": "false"}
"""Tells the openai SDKs not to retry (a budget cap or a missing provider does not go
away in seconds)."""

_CAP = re.compile(r"^(\w+) budget\b")


class ApiError(Exception):
    """An error answer: HTTP ``status`` and the OpenAI error object's fields.

    Attributes:
        status: HTTP status code.
        message: what is wrong and what to do, for a person.
        type: OpenAI's error type (invalid_request_error, authentication_error, ...).
        code: a stable machine code (invalid_api_key, model_not_found, budget_exceeded...).
        param: the request field at fault, or None.
        extra: further fields of the error object (``cap`` for budget errors).
        headers: response headers to add (e.g. ``x-should-retry``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - OpenAI's field name
        code: str | None = None,
        param: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON error object."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "code": self.code,
                "param": self.param,
                **self.extra,
            }
        }


def bad_request(message: str, param: str | None = None, code: str = "invalid_request") -> ApiError:
    """A 400 naming the field at fault."""
    return ApiError(400, message, param=param, code=code)


def budget_cap(message: str) -> str:
    """The cap a budget refusal names (``daily``, ``monthly``, ``session``...), from the
    message ``pulsed.agent.budget`` writes (it starts with "<cap> budget"); else
    ``budget``."""
    m = _CAP.match(message)
    return m.group(1) if m else "budget"


TURN_ERRORS: dict[str, tuple[int, str]] = {
    "budget_exceeded": (429, "insufficient_quota"),
    "no_provider": (503, "service_unavailable"),
    "provider_error": (503, "provider_error"),
    "store_unavailable": (503, "service_unavailable"),
    "shutdown": (503, "service_unavailable"),
    "timeout": (504, "timeout"),
    "cancelled": (500, "server_error"),
    "interrupted": (500, "server_error"),
    "max_iterations": (500, "server_error"),
    "internal": (500, "server_error"),
}
"""A failed turn's code → (HTTP status, OpenAI error type)."""


def from_failed(ev: Failed) -> ApiError:
    """The answer to a turn that ended with ``ev`` (its code stays the error's code)."""
    status, kind = TURN_ERRORS.get(ev.code, (500, "server_error"))
    extra: dict[str, Any] = {"turn_id": ev.turn_id}
    if ev.code == "budget_exceeded":
        extra["cap"] = budget_cap(ev.message)
    no_retry = ev.code in ("budget_exceeded", "no_provider")
    return ApiError(
        status,
        ev.message,
        type=kind,
        code=ev.code,
        extra=extra,
        headers=NO_RETRY if no_retry else None,
    )


def from_pulse_error(e: PulseError) -> ApiError:
    """The answer to a PulseError raised before a turn started (e.g. by the intake)."""
    if isinstance(e, InvalidArgument):
        return bad_request(e.message)
    if isinstance(e, NotFound):
        return ApiError(404, e.message, code="not_found")
    if isinstance(e, ResourceExhausted):
        return ApiError(429, e.message, type="rate_limit_error", code="resource_exhausted")
    if isinstance(e, Unavailable | StoreError | FailedPrecondition):
        return ApiError(503, e.message, type="service_unavailable", code="unavailable")
    return ApiError(500, e.message, type="server_error", code="internal")
