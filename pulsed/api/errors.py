"""The one place where daemon errors become gRPC status codes.

Servicer methods are wrapped with ``unary`` or ``server_stream``: a ``PulseError``
aborts the call with its mapped code and message; anything else is logged with its
traceback and reported as INTERNAL without internals. Every error the daemon itself
reports carries the trailing metadata ``pulse-error: <class name>``, so a client can tell
a daemon that answered UNAVAILABLE (its store or a provider is down) from a transport
that failed (no daemon), which gRPC also reports as UNAVAILABLE.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc

from pulsed import errors

log = logging.getLogger("pulsed.api")

CODES: dict[type[errors.PulseError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.ConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.StoreError: grpc.StatusCode.UNAVAILABLE,
}


def status_for(exc: BaseException) -> grpc.StatusCode:
    """The status code for ``exc`` (its nearest mapped base class; INTERNAL otherwise)."""
    for cls in type(exc).__mro__:
        if cls in CODES:
            return CODES[cls]
    return grpc.StatusCode.INTERNAL


MAX_DETAILS_CHARS = 1000
"""Longest status details sent. gRPC carries details in a header, and headers over its
metadata limit (8 KiB by default in grpc core, ``grpc.max_metadata_size``) make the client
fail with RESOURCE_EXHAUSTED instead of showing the error; an echoed 10 MB stream name
must not do that."""


def cut_details(message: str, limit: int = MAX_DETAILS_CHARS) -> str:
    """``message`` at most ``limit`` characters long: its head and tail (where the hint
    usually is) around a ``[… cut N chars …]`` marker. Shorter messages are unchanged."""
    if len(message) <= limit:
        return message
    marker = f" [… cut {len(message) - limit} chars …] "
    keep = max(0, limit - len(marker))
    head = keep * 2 // 3
    tail = keep - head
    return message[:head] + marker + (message[-tail:] if tail else "")


def _report(exc: Exception, method: str) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, errors.PulseError):
        code = status_for(exc)
        message = cut_details(exc.message)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL):
            log.warning("%s: %s", method, message)
        return code, message
    log.exception("%s failed", method)
    return grpc.StatusCode.INTERNAL, f"internal error in {method}; see the pulsed log"


R = TypeVar("R")

if TYPE_CHECKING:
    Context = grpc.aio.ServicerContext[Any, Any]
else:
    Context = grpc.aio.ServicerContext
"""The servicer context of a pulse.v1 call."""

ERROR_TRAILER = "pulse-error"


def _refuse(context: Context, error: str, code: grpc.StatusCode, message: str) -> None:
    """End the call with ``code`` and ``message`` by setting them, not by
    ``context.abort``: abort raises an AbortError whose traceback runs through grpc's own
    frames, which hold the request, and grpc keeps that error in a reference cycle, so a
    rejected 10 MB request stayed in memory until a full garbage collection (issue 17
    item 4: 150 such calls grew the daemon by 1.2 GB)."""
    context.set_trailing_metadata(((ERROR_TRAILER, error),))
    context.set_code(code)
    context.set_details(message)


def unary(fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Wrap a unary servicer method with the error mapping."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: Context) -> R:
        try:
            return await fn(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = _report(exc, fn.__qualname__)
            # Keep the class name only: the exception's traceback holds this frame and
            # with it the request, which must be freed at once, not at the next GC.
            error = type(exc).__name__
        del request
        _refuse(context, error, code, message)
        # grpc.aio sends the status set above and no message when a handler whose code
        # is not OK returns None.
        return cast(R, None)

    return wrapper


def server_stream(fn: Callable[..., AsyncIterator[R]]) -> Callable[..., AsyncIterator[R]]:
    """Wrap a server-streaming servicer method with the error mapping."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: Context) -> AsyncIterator[R]:
        try:
            async for item in fn(self, request, context):
                yield item
            return
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = _report(exc, fn.__qualname__)
            error = type(exc).__name__  # not the exception: see ``unary``
        del request
        _refuse(context, error, code, message)

    return wrapper


if TYPE_CHECKING:  # generic only in the stubs
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["Handler | None"]]


class FirstCall(grpc.aio.ServerInterceptor):
    """Runs ``callback`` once, in the background, when the first ``pulse.v1`` call
    arrives. The daemon uses it to import the provider SDK (about 30 MiB and a second or
    more) when a person first shows up rather than at start, so an idle daemon that
    nobody has talked to stays small, and the SDK is loaded before the first message is
    typed."""

    def __init__(self, callback: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._callback: Callable[[], Coroutine[Any, Any, None]] | None = callback
        self.task: asyncio.Task[None] | None = None

    async def intercept_service(
        self,
        continuation: Continuation,
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        if self._callback is not None and details.method.startswith("/pulse.v1."):
            callback, self._callback = self._callback, None
            self.task = asyncio.create_task(callback())
        return await continuation(details)


class DecodeGuard(grpc.aio.ServerInterceptor):
    """Answers a request whose bytes do not parse as its message with INVALID_ARGUMENT
    (grpc itself would say UNKNOWN). Applies to unary-request methods of ``pulse.v1``."""

    async def intercept_service(
        self,
        continuation: Continuation,
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        if handler is None or not details.method.startswith("/pulse.v1."):
            return handler
        if handler.request_streaming or handler.request_deserializer is None:
            return handler
        parse = handler.request_deserializer
        method = details.method
        # grpc.aio calls these with its own context and async iterators; the stubs type
        # the handler attributes for the sync server.
        inner_stream: Any = handler.unary_stream
        inner_unary: Any = handler.unary_unary

        async def decode(raw: bytes, context: Context) -> Any:
            try:
                return parse(raw)
            except Exception as exc:  # DecodeError and friends
                why = cut_details(f"malformed request for {method}: {exc}")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, why)

        if handler.response_streaming:

            async def stream_behavior(raw: bytes, context: Context) -> AsyncIterator[Any]:
                request = await decode(raw, context)
                async for item in inner_stream(request, context):
                    yield item

            return grpc.unary_stream_rpc_method_handler(
                stream_behavior, response_serializer=handler.response_serializer
            )

        async def unary_behavior(raw: bytes, context: Context) -> Any:
            return await inner_unary(await decode(raw, context), context)

        return grpc.unary_unary_rpc_method_handler(
            unary_behavior, response_serializer=handler.response_serializer
        )
