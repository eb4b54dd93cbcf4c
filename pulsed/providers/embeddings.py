"""Embeddings through the official OpenAI SDK (``client.embeddings.create``): OpenAI,
Ollama's OpenAI-compatible endpoint, or any OpenAI-compatible server ([memory]
embeddings). Endpoints and keys are found as for chat (``openai.endpoint``); the SDK is
imported when the first client is made.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulsed.config import ProviderConfig
from pulsed.providers.base import ProviderError
from pulsed.providers.openai import endpoint

DEFAULT_MODELS = {
    "openai": "text-embedding-3-small",
    "ollama": "nomic-embed-text",
    "openai-compatible": "text-embedding-3-small",
}
"""The model used when [memory] embedding_model is empty."""

PRICE_PER_MTOK = {
    "text-embedding-3-small": 0.02,
    "text-embedding-3-large": 0.13,
    "text-embedding-ada-002": 0.10,
}
"""USD per million input tokens of OpenAI's embedding models."""
UNKNOWN_PRICE_PER_MTOK = 0.13
"""Assumed for other models of paid endpoints (the dearest of OpenAI's)."""


def price_per_mtok(provider: str, model: str) -> float:
    """USD per million tokens of ``model`` (0 on Ollama, which runs locally)."""
    if provider == "ollama":
        return 0.0
    return PRICE_PER_MTOK.get(model, UNKNOWN_PRICE_PER_MTOK)


def estimate_tokens(texts: Sequence[str]) -> int:
    """Tokens of ``texts`` estimated at 3 characters a token (on the high side)."""
    return sum(len(t) // 3 + 1 for t in texts)


@dataclass(frozen=True, slots=True)
class Embedded:
    """The answer of one embeddings call: one vector per text, the model that answered,
    the input tokens it reported, and its latency in milliseconds."""

    vectors: list[list[float]]
    model: str
    input_tokens: int
    latency_ms: int


class EmbeddingClient:
    """Embeddings of provider ``name`` (openai | ollama | openai-compatible) with
    ``model``; ``base_url`` overrides the provider's endpoint when not empty."""

    def __init__(
        self,
        name: str,
        cfg: ProviderConfig,
        model: str = "",
        base_url: str = "",
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.name = name
        self.model = model or DEFAULT_MODELS.get(name, "text-embedding-3-small")
        self._cfg = cfg
        self._base_url = base_url
        self._env = env
        self._client: Any = None

    def _ensure(self) -> Any:
        if self._client is not None:
            return self._client
        import openai

        base_url, key = endpoint(self.name, self._cfg, self._env)
        base_url = self._base_url or base_url
        if self.name == "openai-compatible" and not base_url:
            raise ProviderError(
                "[memory] embeddings = openai-compatible needs an endpoint: set "
                "embedding_base_url in [memory] or base_url in [providers.openai-compatible]",
                kind="bad_request",
            )
        kwargs: dict[str, Any] = {
            "api_key": key or self._env.get("OPENAI_API_KEY") or "",
            "max_retries": self._cfg.max_retries,
            "timeout": self._cfg.timeout_s,
        }
        if not kwargs["api_key"]:
            raise ProviderError(
                f'no API key for the embeddings of "{self.name}": set api_key in '
                f"[providers.{self.name}] or OPENAI_API_KEY",
                kind="auth",
            )
        if base_url:
            kwargs["base_url"] = base_url
        self._client = openai.AsyncOpenAI(**kwargs)
        return self._client

    async def embed(self, texts: Sequence[str]) -> Embedded:
        """One vector per text, in order.

        Raises:
            ProviderError: not configured, or the endpoint failed (after the SDK's retries).
        """
        client = self._ensure()
        import openai

        started = time.monotonic()
        try:
            resp = await client.embeddings.create(model=self.model, input=list(texts))
        except openai.APIStatusError as e:
            raise ProviderError(
                f"the embeddings endpoint of {self.name} answered {e.status_code}: {e.message}",
                kind="rate_limited" if e.status_code == 429 else "server",
            ) from None
        except openai.APITimeoutError:
            raise ProviderError(
                f"the embeddings endpoint of {self.name} timed out", kind="timeout"
            ) from None
        except openai.APIError as e:
            raise ProviderError(
                f"the embeddings endpoint of {self.name} failed: {e}", kind="connection"
            ) from None
        data = sorted(resp.data, key=lambda d: d.index)
        vectors = [list(map(float, d.embedding)) for d in data]
        if len(vectors) != len(texts):
            raise ProviderError(
                f"the embeddings endpoint of {self.name} returned {len(vectors)} vectors "
                f"for {len(texts)} texts"
            )
        usage = getattr(resp, "usage", None)
        tokens = int(getattr(usage, "prompt_tokens", 0) or 0) or estimate_tokens(texts)
        return Embedded(
            vectors, str(resp.model or self.model), tokens, int((time.monotonic() - started) * 1000)
        )

    async def aclose(self) -> None:
        """Close the SDK client's connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None
