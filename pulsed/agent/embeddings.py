"""The memory service's ``Embedder`` over the configured embeddings endpoint
([memory] embeddings): each call's maximum cost reserved against the budget first and
logged as an ``llm_logs`` row with origin ``memory``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pulsed.agent.budget import Budget
from pulsed.config import Config
from pulsed.providers.base import ProviderError
from pulsed.providers.embeddings import EmbeddingClient, estimate_tokens, price_per_mtok
from pulsed.store import rows
from pulsed.store.base import Store

log = logging.getLogger("pulsed.agent")


class ProviderEmbedder:
    """Embeddings for memory (see the module docstring); None of ``of`` when
    [memory] embeddings is ``none``."""

    def __init__(self, cfg: Config, store: Store, budget: Budget, client: EmbeddingClient) -> None:
        self.cfg = cfg
        self.store = store
        self.budget = budget
        self.client = client

    @classmethod
    def of(cls, cfg: Config, store: Store, budget: Budget) -> ProviderEmbedder | None:
        """The embedder [memory] asks for, or None (embeddings = none)."""
        m = cfg.memory
        if m.embeddings == "none":
            return None
        client = EmbeddingClient(
            m.embeddings, cfg.provider(m.embeddings), m.embedding_model, m.embedding_base_url
        )
        return cls(cfg, store, budget, client)

    def __repr__(self) -> str:
        return f"ProviderEmbedder({self.client.name}:{self.client.model})"

    async def embed(self, texts: Sequence[str], session_id: str = "") -> list[list[float]]:
        """One vector per text, in order.

        Raises:
            ResourceExhausted: the budget refuses the call.
            ProviderError: the endpoint failed (its llm_logs row says so).
        """
        name, model = self.client.name, self.client.model
        price = price_per_mtok(name, model)
        held = await self.budget.reserve(estimate_tokens(texts) * price / 1e6)
        try:
            got = await self.client.embed(texts)
        except ProviderError as e:
            self.budget.settle(held, 0.0)
            await self._log(session_id, model, 0, 0.0, 0, e, texts)
            raise
        except BaseException:
            self.budget.settle(held, 0.0)
            raise
        cost = got.input_tokens * price / 1e6
        try:
            await self._log(
                session_id, got.model, got.input_tokens, cost, got.latency_ms, None, texts
            )
        finally:
            self.budget.settle(held, cost)
        return got.vectors

    async def _log(
        self,
        session_id: str,
        model: str,
        tokens: int,
        cost: float,
        latency_ms: int,
        err: ProviderError | None,
        texts: Sequence[str],
    ) -> None:
        status = "success" if err is None else ("timeout" if err.kind == "timeout" else "error")
        await self.store.append(
            "llm_logs",
            [
                rows.llm_call(
                    session_id=session_id,
                    turn_id="",
                    provider=self.client.name,
                    model=model,
                    origin="memory",
                    input_tokens=tokens,
                    estimated_cost_usd=cost,
                    latency_ms=latency_ms,
                    user_message_preview=f"embeddings of {len(texts)} text(s)",
                    status=status,
                    error_message=err.message if err else "",
                )
            ],
        )
