"""The OpenAI adapter: streaming Chat Completions through the official SDK.

One adapter serves every provider speaking the Chat Completions protocol; they differ in
endpoint and key only:

- openai: ``cfg.base_url``, else the SDK's own (``OPENAI_BASE_URL``, else
  https://api.openai.com/v1); ``cfg.api_key``, else the SDK's own (``OPENAI_API_KEY``).
- openrouter: ``cfg.base_url`` or https://openrouter.ai/api/v1; ``cfg.api_key`` or
  ``OPENROUTER_API_KEY``.
- ollama: ``cfg.base_url``, else ``$OLLAMA_HOST`` (default http://127.0.0.1:11434, scheme
  added if missing) + ``/v1``; key "ollama" (Ollama ignores it).
- openai-compatible: ``cfg.base_url`` (required); ``cfg.api_key`` or a placeholder.

Only ``openai`` lets the SDK read its ``OPENAI_*`` variables: the others get an explicit
URL and key (and no OpenAI organization/project headers), so nothing of an OpenAI account
is sent to another endpoint. ``openai`` with a custom endpoint (a local server) and no key
gets a placeholder key, as such servers need none.

Usage convention (shared with ``pricing``): ``Usage.input_tokens`` is the *uncached* part
of the prompt, ``prompt_tokens - prompt_tokens_details.cached_tokens``; the cached part is
``cache_read_tokens``. OpenAI reports no cache writes (they are free), so
``cache_write_tokens`` stays 0 unless the endpoint reports ``cache_write_tokens`` (some
routers do), which is then also taken out of ``input_tokens``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
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

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
OLLAMA_DEFAULT_HOST = "http://127.0.0.1:11434"
PLACEHOLDER_KEY = "not-needed"
"""Sent to endpoints that need no key: the SDK refuses to run without one."""


def ollama_base_url(env: Mapping[str, str] = os.environ) -> str:
    """``$OLLAMA_HOST`` as Ollama's own client reads it, plus ``/v1``.

    ``OLLAMA_HOST`` may be ``host``, ``host:port``, ``:port`` or a URL; the scheme defaults
    to http and the port to 11434 (80/443 when the scheme is given explicitly).
    """
    raw = env.get("OLLAMA_HOST", "").strip()
    if not raw:
        return OLLAMA_DEFAULT_HOST + "/v1"
    scheme, sep, rest = raw.partition("://")
    port = "11434"
    if not sep:
        scheme, rest = "http", raw
    elif scheme == "https":
        port = "443"
    elif scheme == "http":
        port = "80"
    hostport, _, path = rest.partition("/")
    host = hostport
    if hostport.startswith("["):  # [ipv6]:port
        end = hostport.find("]")
        host, tail = hostport[: end + 1], hostport[end + 1 :]
        if tail.startswith(":") and tail[1:]:
            port = tail[1:]
    elif hostport.count(":") == 1:
        host, _, p = hostport.partition(":")
        port = p or port
    host = host or "127.0.0.1"
    path = path.strip("/")
    return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "") + "/v1"


def _is_openai_url(url: str) -> bool:
    return "api.openai.com" in url


def endpoint(
    name: str, cfg: ProviderConfig, env: Mapping[str, str] = os.environ
) -> tuple[str | None, str | None]:
    """``(base_url, api_key)`` for the SDK client; None means "the SDK's own default"."""
    if name == "openai":
        base_url = cfg.base_url or None
        key = cfg.api_key or None
        custom = base_url or env.get("OPENAI_BASE_URL", "")
        if key is None and not env.get("OPENAI_API_KEY") and custom and not _is_openai_url(custom):
            key = PLACEHOLDER_KEY
        return base_url, key
    if name == "openrouter":
        return (
            cfg.base_url or OPENROUTER_BASE_URL,
            cfg.api_key or env.get("OPENROUTER_API_KEY", "") or "",
        )
    if name == "ollama":
        return cfg.base_url or ollama_base_url(env), cfg.api_key or "ollama"
    if name == "openai-compatible":
        return cfg.base_url or "", cfg.api_key or PLACEHOLDER_KEY
    raise ValueError(f"provider {name!r} does not speak the OpenAI protocol")


def to_openai_messages(system: str, messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Neutral messages as Chat Completions ``messages`` (system first).

    A failed tool result is marked by an ``Error: `` prefix: the protocol has no flag.
    """
    out: list[dict[str, Any]] = []
    if system:
        out.append({"role": "system", "content": system})
    for m in repair_history(messages):
        if m.role == "user":
            out.append({"role": "user", "content": m.text})
        elif m.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {
                        "id": tc.id,
                        "type": "function",
                        "function": {"name": tc.name, "arguments": json.dumps(tc.arguments)},
                    }
                    for tc in m.tool_calls
                ]
            elif not m.text:
                continue  # an empty assistant message says nothing and some servers refuse it
            out.append(msg)
        elif m.role == "tool":
            text = m.text or "(no output)"
            if m.is_error and not text.startswith("Error"):
                text = f"Error: {text}"
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": text})
        else:
            raise ValueError(f"unknown message role {m.role!r}")
    return out


class OpenAIProvider(LLMProvider):
    """A Chat Completions provider: openai, openrouter, ollama or openai-compatible.

    Args:
        cfg: the [providers.<name>] table.
        model: the model id sent to the API.
        name: which provider this is (decides endpoint and key, see the module docstring).
        credential_hint: what to check on 401/403.
        env: where OPENROUTER_API_KEY / OLLAMA_HOST are read (the SDK itself reads
            OPENAI_* from ``os.environ``).
    """

    def __init__(
        self,
        cfg: ProviderConfig,
        model: str,
        *,
        name: str = "openai",
        credential_hint: str = "",
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.name = name
        self.model = model
        self._cfg = cfg
        self._env = env
        self._hint = (
            credential_hint or f"check the api_key in [providers.{name}] of the config file"
        )
        self._client: Any = None
        import openai  # here, not at module import nor on the event loop's first call

        self._sdk: Any = openai

    def _ensure_client(self) -> Any:
        """Make the client (once)."""
        if self._client is not None:
            return self._client
        base_url, key = endpoint(self.name, self._cfg, self._env)
        if self.name == "openai-compatible" and not base_url:
            raise ProviderError(
                'provider "openai-compatible" has no endpoint: set base_url in '
                "[providers.openai-compatible] of the config file",
                kind="bad_request",
            )
        if key == "":
            raise ProviderError(f'no API key for provider "{self.name}": {self._hint}', kind="auth")
        openai = self._sdk
        headers = {"X-Title": "Pulse"} if self.name == "openrouter" else None
        kwargs: dict[str, Any] = {
            "api_key": key,
            "max_retries": self._cfg.max_retries,
            "timeout": self._cfg.timeout_s,
            "default_headers": headers,
        }
        if base_url is not None:
            kwargs["base_url"] = base_url
        try:
            client = openai.AsyncOpenAI(**kwargs)
        except (openai.OpenAIError, ValueError) as e:
            raise ProviderError(
                f'provider "{self.name}" could not be set up ({e}): {self._hint}', kind="auth"
            ) from e
        if self.name != "openai":  # OPENAI_ORG_ID / OPENAI_PROJECT_ID are OpenAI's business
            client.organization = None
            client.project = None
        self._client = client
        return client

    def _params(self, request: LLMRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(request.system, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        # OpenAI's reasoning models refuse max_tokens; other servers may not know the new name.
        key = "max_completion_tokens" if self.name == "openai" else "max_tokens"
        params[key] = request.max_tokens
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters or {"type": "object", "properties": {}},
                    },
                }
                for t in request.tools
            ]
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
            return status_error(
                self.name,
                e.status_code,
                _detail(e),
                model=self.model,
                credential_hint=self._hint,
                partial=partial,
            )
        if isinstance(e, sdk.APIError):  # an error object inside the stream
            body = e.body if isinstance(e.body, dict) else {}
            code = body.get("code")
            status = int(code) if isinstance(code, int | str) and str(code).isdigit() else 0
            if status >= 400:
                return status_error(
                    self.name,
                    status,
                    e.message,
                    model=self.model,
                    credential_hint=self._hint,
                    partial=partial,
                )
            return ProviderError(
                f'provider "{self.name}" sent an error mid-answer: {e.message}',
                kind="other",
                partial=partial,
            )
        if isinstance(e, sdk.OpenAIError):
            return ProviderError(
                f'provider "{self.name}" failed: {e}', kind="other", partial=partial
            )
        if isinstance(e, TypeError) and "authentication" in str(e):
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
        calls: dict[int, dict[str, Any]] = {}
        usage = Usage()
        model = self.model
        finish = ""
        first_ms = 0
        delivered = False
        opened = sdk_stream(
            lambda: client.chat.completions.create(**params), self._error, lambda: delivered
        )
        async with contextlib.aclosing(opened) as chunks:
            async for chunk in chunks:
                model = getattr(chunk, "model", None) or model
                if getattr(chunk, "usage", None) is not None:
                    _set_usage(usage, chunk.usage)
                for choice in getattr(chunk, "choices", None) or []:
                    if getattr(choice, "index", 0) not in (0, None):
                        continue
                    delta = getattr(choice, "delta", None)
                    if delta is not None:
                        piece = getattr(delta, "content", None) or getattr(delta, "refusal", None)
                        if piece:
                            first_ms = first_ms or elapsed_ms(started)
                            text.append(piece)
                            await on_delta(piece)
                            delivered = True
                        for tc in getattr(delta, "tool_calls", None) or []:
                            first_ms = first_ms or elapsed_ms(started)
                            _accumulate(calls, tc)
                    if getattr(choice, "finish_reason", None):
                        finish = choice.finish_reason

        if not finish:
            raise ProviderError(
                f'provider "{self.name}" ended the stream before its final chunk '
                "(no finish_reason)",
                kind="dropped",
                retryable=True,
                partial=delivered,
            )
        tool_calls: list[ToolCall] = []
        for _, slot in sorted(calls.items()):
            args, why = parse_arguments("".join(slot["args"]))
            tool_calls.append(
                ToolCall(
                    id=slot["id"] or f"call_{len(tool_calls)}",
                    name=slot["name"],
                    arguments=args,
                    arguments_error=why,
                )
            )
        return LLMResponse(
            text="".join(text),
            tool_calls=tool_calls,
            usage=usage,
            model=model,
            stop_reason=finish,
            time_to_first_token_ms=first_ms,
            latency_ms=elapsed_ms(started),
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _detail(e: Any) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error", body)
    if isinstance(err, dict) and err.get("message"):
        return str(err["message"])
    return str(getattr(e, "message", "") or "")


def _accumulate(calls: dict[int, dict[str, Any]], tc: Any) -> None:
    """Fold one streamed tool-call fragment into ``calls`` (keyed by the fragment's index).

    OpenAI sends id and name in the first fragment of each call and argument text in the
    rest; some compatible servers omit ``index`` (a new id then opens a new call) or send
    each call whole in one fragment.
    """
    index = getattr(tc, "index", None)
    call_id = getattr(tc, "id", None) or ""
    if index is None:
        known = [i for i, s in calls.items() if call_id and s["id"] == call_id]
        if known:
            index = known[0]
        elif call_id or not calls:
            index = len(calls)
        else:
            index = max(calls)
    slot = calls.setdefault(index, {"id": "", "name": "", "args": []})
    if call_id and not slot["id"]:
        slot["id"] = call_id
    fn = getattr(tc, "function", None)
    if fn is not None:
        name = getattr(fn, "name", None) or ""
        if name and not slot["name"]:
            slot["name"] = name
        elif name and name != slot["name"]:
            slot["name"] += name
        if getattr(fn, "arguments", None):
            slot["args"].append(fn.arguments)


def _set_usage(usage: Usage, reported: Any) -> None:
    prompt = getattr(reported, "prompt_tokens", None) or 0
    details = getattr(reported, "prompt_tokens_details", None)
    cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
    written = (getattr(details, "cache_write_tokens", None) or 0) if details is not None else 0
    usage.input_tokens = max(0, prompt - cached - written)
    usage.cache_read_tokens = cached
    usage.cache_write_tokens = written
    usage.output_tokens = getattr(reported, "completion_tokens", None) or 0
