"""The LLM provider interface: one streaming call with tools, in provider-neutral shapes.

Adapters (``anthropic.py``, ``openai.py``) translate these shapes to and from each
provider's wire format through the official SDKs, which they import lazily (``import
anthropic`` alone takes over a second).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pulsed.errors import PulseError


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it: name, description, JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(slots=True)
class ToolCall:
    """A tool call the model asked for. ``arguments`` is the parsed JSON object; when the
    model sent invalid JSON it is ``{}`` and ``arguments_error`` says why."""

    id: str
    name: str
    arguments: dict[str, Any]
    arguments_error: str = ""


@dataclass(slots=True)
class ChatMessage:
    """One message of the conversation sent to the model.

    - ``role="user"``: ``text``.
    - ``role="assistant"``: ``text`` and/or ``tool_calls``.
    - ``role="tool"``: the result of ``tool_call_id`` (``tool_name``) in ``text``;
      ``is_error`` marks a failed call.
    """

    role: str
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False


@dataclass(slots=True)
class LLMRequest:
    """Everything one call needs."""

    system: str
    messages: list[ChatMessage]
    tools: list[ToolSpec] = field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    """Sampling temperature passed to the provider; None: the provider's default."""


@dataclass(slots=True)
class Usage:
    """Token counts reported by the provider for one call."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(slots=True)
class LLMResponse:
    """A finished call: the text, the tool calls, usage and timing (milliseconds)."""

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    model: str
    stop_reason: str = ""
    time_to_first_token_ms: int = 0
    latency_ms: int = 0


DeltaCallback = Callable[[str], Awaitable[None]]
"""Called with each text fragment as it streams in."""


class ProviderError(PulseError):
    """An LLM call failed after the SDK's own retries.

    Attributes:
        kind: rate_limited | timeout | server | connection | dropped | auth | bad_request
            | other — ``llm_logs.status`` is derived from it.
        retryable: whether another provider (a fallback) may succeed where this failed.
        partial: whether text deltas had already been delivered before the failure.
    """

    title = "provider error"

    def __init__(
        self, message: str, *, kind: str = "other", retryable: bool = False, partial: bool = False
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.partial = partial


class LLMProvider(ABC):
    """One configured provider and model.

    Attributes:
        name: the provider's config name (anthropic, openai, openrouter, ollama, ...).
        model: the model id sent to the API.
    """

    name: str
    model: str

    @abstractmethod
    async def stream(self, request: LLMRequest, on_delta: DeltaCallback) -> LLMResponse:
        """Make one streaming call, awaiting ``on_delta`` for every text fragment.

        Raises:
            ProviderError: the call failed (after retries on 429/5xx/timeouts).
        """

    async def aclose(self) -> None:
        """Release the HTTP client."""
        return None
