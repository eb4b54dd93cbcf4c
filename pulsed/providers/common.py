"""Provider-neutral helpers both adapters share: conversation repair, tool-argument
parsing, and the translation of SDK and transport failures into ``ProviderError``."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from pulsed.config import ProviderConfig
from pulsed.providers.base import ChatMessage, ProviderError

MISSING_RESULT = "(no result was recorded for this tool call)"


def repair_history(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Make a conversation acceptable to APIs that pair tool calls with their results.

    Both APIs reject a history where an assistant's tool call has no result right after it,
    or where a tool result answers no preceding call — which happens when history is cut
    to its last N messages or a turn crashed between call and result. Missing results are
    filled with an error result; orphan results become user text.
    """
    out: list[ChatMessage] = []
    pending: dict[str, str] = {}  # call id -> tool name, awaiting a result

    def flush() -> None:
        for call_id, name in pending.items():
            out.append(
                ChatMessage(
                    role="tool",
                    text=MISSING_RESULT,
                    tool_call_id=call_id,
                    tool_name=name,
                    is_error=True,
                )
            )
        pending.clear()

    for m in messages:
        if m.role == "tool":
            if m.tool_call_id in pending:
                del pending[m.tool_call_id]
                out.append(m)
            else:
                label = m.tool_name or "a tool"
                status = "error" if m.is_error else "result"
                out.append(ChatMessage(role="user", text=f"[{status} of {label}]\n{m.text}"))
            continue
        flush()
        out.append(m)
        if m.role == "assistant":
            pending = {tc.id: tc.name for tc in m.tool_calls}
    flush()
    return out


def parse_arguments(raw: str) -> tuple[dict[str, Any], str]:
    """Tool-call arguments from their JSON text: ``(arguments, "")``, or ``({}, why)``."""
    if not raw.strip():
        return {}, ""
    try:
        value = json.loads(raw)
    except ValueError as e:
        shown = raw if len(raw) <= 200 else raw[:200] + "..."
        return {}, f"invalid JSON in tool arguments ({e}): {shown}"
    if not isinstance(value, dict):
        return {}, f"tool arguments are not a JSON object: {raw[:200]}"
    return value, ""


def _http_error_types(name: str) -> tuple[type[BaseException], ...]:
    """``name`` (e.g. "TimeoutException") from whichever HTTP libraries the SDKs loaded
    (httpx2 for the current SDKs, httpx for older ones)."""
    found = []
    for lib in ("httpx2", "httpx", "httpcore2", "httpcore"):
        mod = sys.modules.get(lib)
        cls = getattr(mod, name, None) if mod is not None else None
        if isinstance(cls, type):
            found.append(cls)
    return tuple(found)


def stream_failure(provider: str, e: BaseException, *, partial: bool) -> ProviderError | None:
    """A ProviderError for a transport failure while reading a stream (the SDKs let the
    HTTP library's own exceptions through there), or None if ``e`` is not one."""
    timeouts = _http_error_types("TimeoutException") + _http_error_types("TimeoutError")
    if timeouts and isinstance(e, timeouts):
        return ProviderError(
            f'provider "{provider}" stopped sending mid-answer (read timed out)',
            kind="timeout",
            retryable=True,
            partial=partial,
        )
    transport = (
        _http_error_types("TransportError")
        + _http_error_types("StreamError")
        + _http_error_types("ProtocolError")
        + (ConnectionError,)
    )
    if isinstance(e, transport):
        return ProviderError(
            f'provider "{provider}" dropped the connection mid-answer ({type(e).__name__}: {e})',
            kind="dropped",
            retryable=True,
            partial=partial,
        )
    return None


def status_error(
    provider: str, status: int, detail: str, *, model: str, credential_hint: str, partial: bool
) -> ProviderError:
    """A ProviderError for an HTTP status the SDK gave up on."""
    where = f'provider "{provider}" answered HTTP {status}'
    detail = f": {detail}" if detail else ""
    if status in (401, 403):
        hint = credential_hint or f"check the API key of provider {provider!r}"
        word = "rejected the credentials" if status == 401 else "refused access"
        return ProviderError(
            f'provider "{provider}" {word} (HTTP {status}{detail}): {hint}',
            kind="auth",
            partial=partial,
        )
    if status == 429:
        return ProviderError(
            f"{where} (rate limited){detail}", kind="rate_limited", retryable=True, partial=partial
        )
    if status >= 500:
        return ProviderError(
            f"{where} (server error){detail}", kind="server", retryable=True, partial=partial
        )
    if status == 408:
        return ProviderError(
            f"{where} (request timeout){detail}", kind="timeout", retryable=True, partial=partial
        )
    if status == 404:
        return ProviderError(
            f"{where} (not found: is model {model!r} right?){detail}",
            kind="bad_request",
            partial=partial,
        )
    if status in (400, 413, 422):
        return ProviderError(f"{where} (bad request){detail}", kind="bad_request", partial=partial)
    return ProviderError(f"{where}{detail}", kind="other", partial=partial)


def elapsed_ms(since: float) -> int:
    return int((time.monotonic() - since) * 1000)


def transport_error(
    sdk: Any,
    provider: str,
    cfg: ProviderConfig,
    e: BaseException,
    *,
    partial: bool,
    mid_stream: bool,
) -> ProviderError | None:
    """The ProviderError for the failures both SDKs report alike (their
    ``APIConnectionError`` and ``APITimeoutError``), or None for anything else.

    ``sdk`` is the imported ``anthropic`` or ``openai`` module. ``mid_stream``: raised while
    reading an answer already under way, where a broken connection means a dropped stream
    (the SDKs do not retry those).
    """
    if mid_stream and isinstance(e, sdk.APIConnectionError):
        return stream_failure(provider, e.__cause__ or e, partial=partial) or ProviderError(
            f'provider "{provider}" dropped the connection mid-answer ({e})',
            kind="timeout" if isinstance(e, sdk.APITimeoutError) else "dropped",
            retryable=True,
            partial=partial,
        )
    if isinstance(e, sdk.APITimeoutError):
        return ProviderError(
            f'provider "{provider}" timed out (after {cfg.timeout_s:g} s per attempt, '
            f"{cfg.max_retries} retries)",
            kind="timeout",
            retryable=True,
            partial=partial,
        )
    if isinstance(e, sdk.APIConnectionError):
        return ProviderError(
            f'cannot reach provider "{provider}" ({e.request.url}): {e}',
            kind="connection",
            retryable=True,
            partial=partial,
        )
    return None


async def sdk_stream(
    open_stream: Callable[[], Awaitable[Any]],
    to_error: Callable[..., ProviderError | None],
    delivered: Callable[[], bool],
) -> AsyncGenerator[Any, None]:
    """The events of an SDK stream, with SDK and transport failures raised as
    ``ProviderError`` and the stream closed however iteration ends.

    ``open_stream`` starts the request (e.g. ``client.messages.create(..., stream=True)``);
    ``to_error(e, partial=..., mid_stream=...)`` is the adapter's translation (None: not
    an SDK failure, re-raised as is); ``delivered()`` says whether text already reached
    the caller, which makes a failure partial.
    """
    try:
        stream = await open_stream()
    except Exception as e:
        err = to_error(e, partial=False)
        if err is None:
            raise
        raise err from e
    iterator = stream.__aiter__()
    try:
        while True:
            try:
                event = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except Exception as e:
                err = to_error(e, partial=delivered(), mid_stream=True)
                if err is None:
                    raise
                raise err from e
            yield event
    finally:
        await stream.close()
