"""Compaction: older history of a session summarised into a ``summary`` row.

When a turn's prompt would pass ``[agent] compact_at`` of the model's context window (or
on ``/compact``), the exchanges before the most recent ``KEEP_RECENT`` inputs — with the
previous summary, if any — are summarised by one LLM call with origin ``compaction``
(budgeted like every call, output capped at ``MAX_SUMMARY_TOKENS``, logged in llm_logs).
The summary row says up to which input it covers; later turns send the summary and the
exchanges after it. Nothing is deleted from the stream.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pulsed.agent.budget import BudgetRefused
from pulsed.agent.context import ContextBuilder, text_of
from pulsed.agent.llm_log import call_row
from pulsed.errors import FailedPrecondition
from pulsed.providers import pricing, windows
from pulsed.providers.base import ChatMessage, LLMRequest, LLMResponse, ProviderError, ToolSpec
from pulsed.store import rows
from pulsed.store.base import Row

if TYPE_CHECKING:
    from pulsed.agent.loop import AgentDeps

log = logging.getLogger("pulsed.agent")

KEEP_RECENT = 2
"""Inputs (with their answers) of the session kept verbatim after a compaction."""
MAX_SUMMARY_TOKENS = 1024
"""Most output tokens of the summarising call."""
INPUT_CHARS = 400_000
"""Most characters of conversation one summarising call reads (the newest kept)."""

SYSTEM = """You compact a conversation between a user and their assistant so the \
assistant can continue it with less context. Write a faithful summary in Markdown:
- the user's goals, decisions, preferences and facts they stated (names, numbers, paths);
- what the assistant did and found, with results that later turns may need;
- open questions and pending tasks.
Be concise; do not invent anything; write in the conversation's language."""


def needs_compaction(
    deps: AgentDeps,
    session_id: str,
    model: str,
    system: str,
    messages: list[ChatMessage],
    tools: list[ToolSpec],
) -> bool:
    """Whether this prompt passes ``compact_at`` of ``model``'s window (estimated at the
    session's calibrated rate, else the budget's cautious 3 characters per token)."""
    window = windows.window_for(model, deps.cfg.agent.context_window).tokens
    cpt = deps.calibration.get(session_id) or pricing.CHARS_PER_TOKEN_ESTIMATE
    chars = pricing.request_chars(LLMRequest(system, messages, tools))
    return windows.estimate_tokens(chars, cpt) > deps.cfg.agent.compact_at * window


async def compact(
    deps: AgentDeps,
    session_id: str,
    *,
    before: Row,
    model_spec: str = "",
    instructions: str = "",
    turn_id: str = "",
) -> Row | None:
    """Summarise the session's exchanges before ``before`` except the last
    ``KEEP_RECENT``; returns the new summary row, or None when there is too little to
    compact.

    Raises:
        BudgetRefused: a cap refused the summarising call (its llm_logs row says so).
        ProviderError: the call failed.
        FailedPrecondition: no provider is usable.
    """
    problem = deps.providers.problem()
    if problem:
        raise FailedPrecondition(problem)
    builder = ContextBuilder(deps.cfg, deps.store)
    previous = await builder.summary(session_id)
    after = int((previous.get("content") or {}).get("covers_until_seq") or 0) if previous else 0
    exchanges = await builder.exchanges(before, after)
    older = exchanges[:-KEEP_RECENT] if len(exchanges) > KEEP_RECENT else []
    if not older:
        return None
    lines: list[str] = []
    if previous is not None:
        lines.append(f"[summary of what came before]\n{text_of(previous)}\n")
    for question, answer in older:
        lines.append(f"USER: {text_of(question)}")
        if answer is not None:
            lines.append(f"ASSISTANT: {text_of(answer)}")
    # the summarising call must fit the window too: keep the head and tail of what is long
    window = windows.window_for(
        deps.providers.chain(model_spec)[0][1], deps.cfg.agent.context_window
    )
    cpt = deps.calibration.get(session_id) or pricing.CHARS_PER_TOKEN_ESTIMATE
    room = int((window.tokens - MAX_SUMMARY_TOKENS - 200) * cpt) - len(SYSTEM)
    conversation = "\n\n".join(lines)
    for hook in deps.before_compaction:  # e.g. memory keeps the facts first
        try:
            await hook.before_compaction(session_id, turn_id, conversation)
        except Exception:
            log.exception("a before-compaction hook failed; compacting anyway")
    limit = max(1000, min(INPUT_CHARS, room))
    if len(conversation) > limit:
        half = limit // 2
        conversation = f"{conversation[:half]}\n[… middle cut …]\n{conversation[-half:]}"
    ask = f"<conversation>\n{conversation}\n</conversation>\n\nSummarise it."
    if instructions.strip():
        ask += f"\nFocus: {instructions.strip()}"
    request = LLMRequest(
        SYSTEM, [ChatMessage("user", ask)], [], min(MAX_SUMMARY_TOKENS, deps.cfg.agent.max_tokens)
    )
    resp = await _call(deps, session_id, turn_id, model_spec, request)
    covered = len(older) + (
        int((previous.get("content") or {}).get("covered_messages") or 0) if previous else 0
    )
    row = (
        await deps.store.append(
            "messages",
            [
                rows.summary(
                    session_id=session_id,
                    text=resp.text.strip(),
                    covers_until_seq=older[-1][0].seq,
                    covered_messages=covered,
                    previous=str(previous["id"]) if previous else "",
                    instructions=instructions.strip(),
                )
            ],
            durable=True,
        )
    )[0]
    await deps.store.append(
        "events",
        [
            rows.event(
                "session_compacted",
                source="agent",
                payload={
                    "session_id": session_id,
                    "summary_id": str(row["id"]),
                    "covered_inputs": covered,
                    "covers_until_seq": older[-1][0].seq,
                },
                tags=["context"],
            )
        ],
    )
    log.info("session %s compacted: %d inputs summarised", session_id, len(older))
    return row


async def _call(
    deps: AgentDeps, session_id: str, turn_id: str, model_spec: str, request: LLMRequest
) -> LLMResponse:
    """The summarising call on the chain's first provider, reserved, logged (origin
    compaction) and settled."""
    name, model = deps.providers.chain(model_spec)[0]
    started = time.monotonic()

    async def log_row(resp: LLMResponse | None, status: str, error: str, cost: float) -> None:
        row = call_row(
            session_id=session_id,
            turn_id=turn_id,
            provider=name,
            model=model,
            origin="compaction",
            request=request,
            resp=resp,
            cost_usd=cost,
            started=started,
            status=status,
            error=error,
            preview="(compaction)",
        )
        await deps.store.append("llm_logs", [row])

    try:
        held = await deps.budget.reserve(pricing.max_cost(name, model, request), session_id)
    except BudgetRefused as e:
        await log_row(None, "refused", e.message, 0.0)
        raise
    cost = 0.0
    try:
        provider = await deps.providers.get(name, model)

        async def ignore(_: str) -> None:
            return None

        resp = await provider.stream(request, ignore)
    except ProviderError as e:
        deps.budget.settle(held, 0.0)
        await log_row(None, "error", e.message, 0.0)
        raise
    except BaseException:
        deps.budget.settle(held, 0.0)
        raise
    if resp.usage:
        cost = pricing.estimate_cost(name, model, resp.usage)
    deps.budget.settle(held, cost)
    await log_row(resp, "success", "", cost)
    return resp
