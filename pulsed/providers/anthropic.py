"""The Anthropic adapter: the streaming Messages API through the official SDK.

The SDK is imported when the adapter is constructed (``import anthropic`` takes over a
second: build adapters off the event loop), never at module import. The client is
``anthropic.AsyncAnthropic(api_key=cfg.api_key or None, base_url=cfg.base_url or None,
max_retries=cfg.max_retries, timeout=cfg.timeout_s)``, so with an empty config the
SDK's own ``ANTHROPIC_API_KEY`` / ``ANTHROPIC_BASE_URL`` apply.
The SDK retries 429, 408/409, 5xx, connection errors and timeouts itself (honouring
``retry-after-ms`` / ``retry-after``); what is left is raised as ``ProviderError``.

Prompt caching: the system prompt (or, without one, the last tool), the last block of the
message before the last (the end of the history) and the last block of the last message
carry ``cache_control: ephemeral`` breakpoints (Anthropic allows four), so the next turn
and an agent loop re-read their growing prefix at the cache-read rate. Prompts below the
model's minimum cacheable length are simply not cached.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from pulsed.config import ProviderConfig
from pulsed.providers.base import (
    ChatMessage,
    DeltaCallback,
    LLMProvider,
    LLMRequest,
    LLMResponse,
    ProviderError,
    ToolCall,
    Usage,
)
from pulsed.providers.common import (
    elapsed_ms,
    parse_arguments,
    repair_history,
    sdk_stream,
    status_error,
    stream_failure,
    transport_error,
)

# --- the adapter ----------------------------------------------------------------------------

_EPHEMERAL = {"type": "ephemeral"}

# Error types Anthropic sends as an SSE `error` event mid-stream, as the status they mean.
_STREAM_ERROR_STATUS = {
    "overloaded_error": 529,
    "api_error": 500,
    "rate_limit_error": 429,
    "timeout_error": 504,
}


def to_anthropic_messages(
    messages: list[ChatMessage], *, cache: bool = False
) -> list[dict[str, Any]]:
    """Neutral messages as Messages API ``messages``.

    Assistant text and tool calls become ``text`` and ``tool_use`` blocks; tool results
    become ``tool_result`` blocks (``is_error`` when failed) in user messages, consecutive
    ones (and any user text next to them) merged into one user message, results first.
    """
    out: list[dict[str, Any]] = []
    for m in repair_history(messages):
        blocks: list[dict[str, Any]]
        if m.role == "user":
            role, blocks = "user", [{"type": "text", "text": m.text}] if m.text else []
        elif m.role == "assistant":
            role, blocks = "assistant", [{"type": "text", "text": m.text}] if m.text else []
            for tc in m.tool_calls:
                blocks.append(
                    {"type": "tool_use", "id": tc.id, "name": tc.name, "input": tc.arguments}
                )
        elif m.role == "tool":
            role = "user"
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": m.tool_call_id,
                "content": m.text or "(no output)",
            }
            if m.is_error:
                block["is_error"] = True
            blocks = [block]
        else:
            raise ValueError(f"unknown message role {m.role!r}")
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for msg in out:
        if msg["role"] == "user":  # tool results must open the user message
            msg["content"].sort(key=lambda b: b["type"] != "tool_result")
    if cache and out:
        out[-1]["content"][-1] = {**out[-1]["content"][-1], "cache_control": _EPHEMERAL}
        if len(out) >= 2:  # the end of the history: the next turn's prefix
            out[-2]["content"][-1] = {**out[-2]["content"][-1], "cache_control": _EPHEMERAL}
    return out


class AnthropicProvider(LLMProvider):
    """Claude through the Messages API (streaming).

    Args:
        cfg: the [providers.anthropic] table.
        model: the model id sent to the API.
        name: the provider's config name (for messages and llm_logs).
        credential_hint: what to check on 401/403, e.g. "check ANTHROPIC_API_KEY or api_key
            in [providers.anthropic] of ~/.config/pulse/config.toml".
        prompt_cache: set cache_control breakpoints (see the module docstring).
    """

    def __init__(
        self,
        cfg: ProviderConfig,
        model: str,
        *,
        name: str = "anthropic",
        credential_hint: str = "",
        prompt_cache: bool = True,
    ) -> None:
        self.name = name
        self.model = model
        self._cfg = cfg
        self._hint = credential_hint or (
            "check ANTHROPIC_API_KEY or api_key in [providers.anthropic] of the config file"
        )
        self._cache = prompt_cache
        self._client: Any = None
        # The import (about a second, once per process) happens here rather than on the
        # first call, so that a caller building the provider in a thread keeps the event
        # loop free of it. Importing this module does not import the SDK.
        import anthropic

        self._sdk: Any = anthropic

    def _ensure_client(self) -> Any:
        """Make the client (once)."""
        if self._client is None:
            anthropic = self._sdk
            cfg = self._cfg
            try:
                self._client = anthropic.AsyncAnthropic(
                    api_key=cfg.api_key or None,
                    base_url=cfg.base_url or None,
                    max_retries=cfg.max_retries,
                    timeout=cfg.timeout_s,
                )
            except (anthropic.AnthropicError, ValueError) as e:
                raise ProviderError(
                    f'provider "{self.name}" could not be set up ({e}): {self._hint}', kind="auth"
                ) from e
        return self._client

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": to_anthropic_messages(request.messages, cache=self._cache),
        }
        if request.temperature is not None:  # Anthropic takes 0..1
            params["temperature"] = min(1.0, max(0.0, request.temperature))
        if request.tools:
            params["tools"] = [
                {
                    "name": t.name,
                    "description": t.description,
                    "input_schema": t.parameters or {"type": "object", "properties": {}},
                }
                for t in request.tools
            ]
        if request.system:
            block: dict[str, Any] = {"type": "text", "text": request.system}
            if self._cache:
                block["cache_control"] = _EPHEMERAL
            params["system"] = [block]
        elif self._cache and request.tools:
            params["tools"][-1]["cache_control"] = _EPHEMERAL
        return params

    def _error(
        self, e: BaseException, *, partial: bool, mid_stream: bool = False
    ) -> ProviderError | None:
        """The ProviderError for an SDK or transport exception, or None if it is neither.

        ``mid_stream``: raised while reading an answer already under way, where a broken
        connection means a dropped stream (the SDK does not retry those).
        """
        sdk = self._sdk
        shared = transport_error(
            sdk, self.name, self._cfg, e, partial=partial, mid_stream=mid_stream
        )
        if shared is not None:
            return shared
        if isinstance(e, sdk.APIStatusError):
            body: dict[str, Any] = e.body if isinstance(e.body, dict) else {}
            err: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
            detail = str(err.get("message") or e.message)
            status = e.status_code
            if status < 400:  # an `error` event inside a 200 stream
                status = _STREAM_ERROR_STATUS.get(str(err.get("type")), 0)
                detail = f"{err.get('type')} mid-answer: {detail}"
                if not status:
                    return ProviderError(
                        f'provider "{self.name}" sent an error mid-answer: {detail}',
                        kind="other",
                        partial=partial,
                    )
            return status_error(
                self.name,
                status,
                detail,
                model=self.model,
                credential_hint=self._hint,
                partial=partial,
            )
        if isinstance(e, sdk.AnthropicError):
            return ProviderError(
                f'provider "{self.name}" failed: {e}', kind="other", partial=partial
            )
        if isinstance(e, TypeError) and "authentication" in str(e):
            # The SDK found no API key, auth token or credentials profile.
            return ProviderError(
                f'no credentials for provider "{self.name}": {self._hint}',
                kind="auth",
                partial=partial,
            )
        return stream_failure(self.name, e, partial=partial)

    async def stream(self, request: LLMRequest, on_delta: DeltaCallback) -> LLMResponse:
        client = self._ensure_client()
        params = self._params(request)
        started = time.monotonic()
        text: list[str] = []
        tools: dict[int, dict[str, Any]] = {}
        usage = Usage()
        model = self.model
        stop_reason = ""
        first_ms = 0
        delivered = False
        finished = False
        opened = sdk_stream(
            lambda: client.messages.create(**params, stream=True), self._error, lambda: delivered
        )
        async with contextlib.aclosing(opened) as events:
            async for event in events:
                kind = getattr(event, "type", "")
                if kind == "message_start":
                    msg = event.message
                    model = getattr(msg, "model", None) or model
                    _add_usage(usage, getattr(msg, "usage", None))
                elif kind == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        first_ms = first_ms or elapsed_ms(started)
                        tools[event.index] = {
                            "id": block.id,
                            "name": block.name,
                            "json": [],
                            "input": getattr(block, "input", None),
                        }
                    elif block.type == "text" and getattr(block, "text", ""):
                        first_ms = first_ms or elapsed_ms(started)
                        text.append(block.text)
                        await on_delta(block.text)
                        delivered = True
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        first_ms = first_ms or elapsed_ms(started)
                        text.append(delta.text)
                        await on_delta(delta.text)
                        delivered = True
                    elif delta.type == "input_json_delta" and event.index in tools:
                        tools[event.index]["json"].append(delta.partial_json or "")
                elif kind == "message_delta":
                    stop_reason = getattr(event.delta, "stop_reason", None) or stop_reason
                    _add_usage(usage, getattr(event, "usage", None))
                elif kind == "message_stop":
                    finished = True

        if not finished:
            raise ProviderError(
                f'provider "{self.name}" ended the stream before its final event (message_stop)',
                kind="dropped",
                retryable=True,
                partial=delivered,
            )
        calls = []
        for _, block in sorted(tools.items()):
            raw = "".join(block["json"])
            if raw.strip():
                args, why = parse_arguments(raw)
            else:
                given = block["input"]
                args, why = (dict(given) if isinstance(given, dict) else {}), ""
            calls.append(
                ToolCall(id=block["id"], name=block["name"], arguments=args, arguments_error=why)
            )
        return LLMResponse(
            text="".join(text),
            tool_calls=calls,
            usage=usage,
            model=model,
            stop_reason=stop_reason,
            time_to_first_token_ms=first_ms,
            latency_ms=elapsed_ms(started),
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _add_usage(usage: Usage, reported: Any) -> None:
    """Fold a usage object from message_start or message_delta into ``usage``.

    message_start carries the input side; message_delta the final output count (and, in
    newer API versions, the input side again, cumulatively) — so the latest non-null value
    of each field wins. Anthropic's ``input_tokens`` already excludes cache reads and
    writes, which is Pulse's convention.
    """
    if reported is None:
        return
    for ours, theirs in (
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cache_read_tokens", "cache_read_input_tokens"),
        ("cache_write_tokens", "cache_creation_input_tokens"),
    ):
        value = getattr(reported, theirs, None)
        if isinstance(value, int):
            setattr(usage, ours, value)
