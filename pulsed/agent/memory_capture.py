"""Automatic memory capture ([memory] auto): after a chat turn, one small extraction
call proposes what is worth keeping (``pulsed.memory.capture``).

The call goes to ``[memory] model`` (or the turn's model, else the agent's chain head),
at most ``[memory] extract_max_tokens`` of output, its maximum cost reserved against the
budget first; it is logged as an ``llm_logs`` row with origin ``memory`` and the turn's
session and id. Task runs, heartbeats, triggers and trivial turns get none. A refused or
failed call loses nothing but the extraction.
"""

from __future__ import annotations

import logging
import time

from pulsed.agent.budget import Budget
from pulsed.agent.context import text_of
from pulsed.agent.llm_log import call_row, call_status
from pulsed.agent.turn_context import TurnContext
from pulsed.config import Config
from pulsed.errors import ResourceExhausted
from pulsed.memory import capture
from pulsed.memory.service import MemoryService
from pulsed.providers import pricing
from pulsed.providers.base import ChatMessage, LLMRequest, LLMResponse, ProviderError
from pulsed.providers.pool import ProviderPool
from pulsed.store.base import Row, Store

log = logging.getLogger("pulsed.agent")

PREVIEW_CHARS = 200


class MemoryCapture:
    """The after-turn hook of automatic capture (see the module docstring)."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        providers: ProviderPool,
        budget: Budget,
        memory: MemoryService,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.providers = providers
        self.budget = budget
        self.memory = memory

    def __repr__(self) -> str:
        return "MemoryCapture"

    def wanted(self, ctx: TurnContext) -> bool:
        """Whether turn ``ctx`` gets an extraction: memory on and auto, a chat turn
        (not a task, heartbeat or trigger), not trivial."""
        m = self.cfg.memory
        if not (m.enabled and m.auto) or ctx.light or ctx.origin != "chat":
            return False
        return not capture.trivial(text_of(ctx.input))

    async def after_turn(self, ctx: TurnContext, answer: Row) -> None:
        """Extract and keep what turn ``ctx`` (answered by ``answer``) taught."""
        if not self.wanted(ctx):
            return
        request = LLMRequest(
            capture.SYSTEM,
            [ChatMessage("user", capture.exchange(text_of(ctx.input), text_of(answer)))],
            [],
            self.cfg.memory.extract_max_tokens,
        )
        resp = await self._call(ctx, request)
        if resp is None:
            return
        kept = await capture.keep(
            self.memory, capture.parse(resp.text), ctx.session_id, ctx.turn_id
        )
        if kept:
            log.info("turn %s: %d memories kept", ctx.turn_id, len(kept))

    async def before_compaction(self, session_id: str, turn_id: str, conversation: str) -> None:
        """Keep the facts of exchanges a compaction is about to summarise (memory on;
        with auto capture they were mostly kept turn by turn already, and near-duplicates
        update rather than add)."""
        if not self.cfg.memory.enabled:
            return
        request = LLMRequest(
            capture.SYSTEM,
            [ChatMessage("user", conversation[-capture.MAX_EXCHANGE_CHARS :])],
            [],
            self.cfg.memory.extract_max_tokens,
        )
        resp = await self._call_for(session_id, turn_id, "", "(before compaction)", request)
        if resp is not None:
            kept = await capture.keep(self.memory, capture.parse(resp.text), session_id, turn_id)
            log.info("session %s: %d memories kept before compaction", session_id, len(kept))

    async def _call(self, ctx: TurnContext, request: LLMRequest) -> LLMResponse | None:
        """The extraction call of turn ``ctx`` (see ``_call_for``)."""
        return await self._call_for(
            ctx.session_id, ctx.turn_id, ctx.model, text_of(ctx.input), request
        )

    async def _call_for(
        self, session_id: str, turn_id: str, model_spec: str, preview: str, request: LLMRequest
    ) -> LLMResponse | None:
        """The extraction call on the first provider of the chain; None when the budget
        refuses it or it fails (both logged; a failure also as its llm_logs row)."""
        name, model = self.providers.chain(self.cfg.memory.model or model_spec)[0]
        try:
            held = await self.budget.reserve(pricing.max_cost(name, model, request))
        except ResourceExhausted as e:
            log.info("memory extraction skipped: %s", e.message)
            return None
        started = time.monotonic()
        resp: LLMResponse | None = None
        err: ProviderError | None = None
        try:
            provider = await self.providers.get(name, model)

            async def ignore(_text: str) -> None:
                return None

            resp = await provider.stream(request, ignore)
        except ProviderError as e:
            err = e
            log.warning("memory extraction failed: %s", e.message)
        except Exception as e:
            self.budget.settle(held, 0.0)
            log.warning("memory extraction failed: %s", e)
            return None
        usage = resp.usage if resp else None
        cost = pricing.estimate_cost(name, model, usage) if usage else 0.0
        self.budget.settle(held, cost)
        await self.store.append(
            "llm_logs",
            [
                call_row(
                    session_id=session_id,
                    turn_id=turn_id,
                    provider=name,
                    model=model,
                    origin="memory",
                    request=request,
                    resp=resp,
                    cost_usd=cost,
                    started=started,
                    status=call_status(err),
                    error=err.message if err else "",
                    preview=preview,
                )
            ],
        )
        return resp
