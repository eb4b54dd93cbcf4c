"""One agent turn: context → streaming LLM call → tool calls → results → ... → answer.

Every step lands as rows: each LLM call in llm_logs, each tool call in tool_logs and as
tool_call/tool_result rows in messages, and the turn ends with exactly one
agent_response or error row whose ``reply_to`` is the input's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.budget import Budget, BudgetRefused, Reservation
from pulsed.agent.compaction import compact, needs_compaction
from pulsed.agent.context import ContextBuilder, Prompt, fit, text_of
from pulsed.agent.events import (
    ApprovalRequested,
    Delta,
    Failed,
    Final,
    ToolCallStarted,
    ToolResultReady,
)
from pulsed.agent.hooks import AfterTurn, BeforeCompaction
from pulsed.agent.llm_log import call_row, call_status
from pulsed.agent.prompts import is_heartbeat_ok
from pulsed.agent.redact import MASK, redact
from pulsed.agent.turn_context import TurnContext
from pulsed.config import Config
from pulsed.errors import PulseError, ResourceExhausted
from pulsed.providers import pricing, windows
from pulsed.providers.base import (
    ChatMessage,
    LLMRequest,
    LLMResponse,
    ProviderError,
    ToolCall,
    ToolSpec,
)
from pulsed.providers.pool import ProviderPool
from pulsed.store import rows
from pulsed.store.base import Row, Store, make_filters
from pulsed.store.schema import MESSAGES
from pulsed.tools.base import MAX_DETAIL_CHARS, Tool, ToolFailure, ToolRegistry
from pulsed.tools.prompt import PromptSource

log = logging.getLogger("pulsed.agent")


PREVIEW_CHARS = 200
RESULT_PREVIEW_CHARS = 500
MAX_TOOL_RESULT_CHARS = 50_000


@dataclass
class AgentDeps:
    """What a turn needs, built once by the server."""

    cfg: Config
    store: Store
    tools: ToolRegistry
    providers: ProviderPool
    budget: Budget
    approvals: ApprovalBroker
    prompt_sources: Sequence[PromptSource] = ()
    """What adds parts to full turns' prompts (memory recall, skills index, identity)."""
    after_turn: Sequence[AfterTurn] = ()
    before_compaction: Sequence[BeforeCompaction] = ()
    """Run on what a compaction is about to summarise (memory saves its facts first)."""
    """What runs once a turn has answered (memory capture)."""
    calibration: dict[str, float] = field(default_factory=dict)
    """Characters per prompt token per session, from the provider's report of the
    session's latest call (for /context and compaction estimates)."""


class TurnStopped(PulseError):
    """The turn ends with an error row; ``code`` is the TurnError code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def answer_target(row: Row) -> str:
    """Where the answer to input ``row`` goes: ``channel_metadata.deliver_to`` when the
    input names one (``tui``, ``none``, ``telegram:<chat_id>``...), else the input's source.
    Channels and clients pick up answers by this ``target`` column of the messages stream."""
    meta = row.get("channel_metadata")
    if isinstance(meta, dict) and isinstance(meta.get("deliver_to"), str) and meta["deliver_to"]:
        return str(meta["deliver_to"])
    return str(row["source"])


class Turn:
    """Runs one turn. Create per input; ``await run()``."""

    def __init__(self, deps: AgentDeps, ctx: TurnContext) -> None:
        self.context_block = ""
        """The turn's <context> block, stored with its answer (see ``Prompt``)."""
        self.d = deps
        self.ctx = ctx
        self.answer: Row | None = None
        """The stored agent_response row, once the turn answered."""

    async def run(self) -> None:
        """Run the turn to its end row. Cancellation propagates (the caller decides
        whether a cancelled turn gets an error row)."""
        try:
            text, iterations = await self._loop()
        except TurnStopped as e:
            await self.finish_error(e.code, e.message)
            return
        except ResourceExhausted as e:
            await self._budget_refused(e)
            return
        except ProviderError as e:
            await self.finish_error("provider_error", e.message)
            return
        except asyncio.CancelledError:
            raise
        except PulseError as e:
            await self.finish_error("internal", e.message)
            return
        except Exception as e:  # a bug: answer visibly, log the traceback
            log.exception("turn %s failed", self.ctx.turn_id)
            await self.finish_error("internal", f"internal error: {type(e).__name__}: {e}")
            return
        target = answer_target(self.ctx.input)
        if self.ctx.light and is_heartbeat_ok(text):
            target = "none"  # nothing needs attention: stored, not delivered
        row = (
            await self.d.store.append(
                "messages",
                [
                    rows.agent_response(
                        session_id=self.ctx.session_id,
                        target=target,
                        content={
                            "text": text,
                            "usage": self.ctx.usage.to_dict(),
                            "context": self.context_block,
                            "iterations": iterations,
                        },
                        reply_to=self.ctx.turn_id,
                        user_id=str(self.ctx.input["user_id"]),
                    )
                ],
                durable=True,
            )
        )[0]
        self.answer = row
        ctx = self.ctx
        ctx.emit(
            Final(
                turn_id=ctx.turn_id,
                session_id=ctx.session_id,
                message_id=str(row["id"]),
                text=text,
                usage=ctx.usage.copy(),
                iterations=iterations,
            )
        )

    async def finish_error(self, code: str, message: str) -> None:
        """Append the error row answering the input and emit the error event."""
        ctx = self.ctx
        row = (
            await self.d.store.append(
                "messages",
                [
                    rows.turn_error(
                        session_id=ctx.session_id,
                        target=answer_target(ctx.input),
                        reply_to=ctx.turn_id,
                        code=code,
                        text=message,
                        user_id=str(ctx.input["user_id"]),
                    )
                ],
                durable=True,
            )
        )[0]
        ctx.emit(
            Failed(
                turn_id=ctx.turn_id,
                session_id=ctx.session_id,
                message_id=str(row["id"]),
                code=code,
                message=message,
            )
        )

    async def _budget_refused(self, e: ResourceExhausted) -> None:
        await self.d.store.append(
            "events",
            [
                rows.event(
                    "budget_exceeded",
                    source="agent",
                    severity="warning",
                    payload={
                        "session_id": self.ctx.session_id,
                        "turn_id": self.ctx.turn_id,
                        "origin": self.ctx.origin,
                        "cap": getattr(e, "cap", ""),
                        "resets": getattr(e, "resets", ""),
                        "daily_usd": self.d.budget.daily_usd,
                        "monthly_usd": self.d.budget.monthly_usd,
                        "session_usd": self.d.budget.session_usd,
                        "run_usd": self.ctx.budget_usd,
                        "message": e.message,
                    },
                    tags=["budget", "cost"],
                )
            ],
        )
        await self.finish_error("budget_exceeded", e.message)

    async def _loop(self) -> tuple[str, int]:
        problem = self.d.providers.problem()
        if problem:
            raise TurnStopped("no_provider", problem)
        specs = self.d.tools.specs()
        prompt = await self._prompt(specs)
        self.context_block = prompt.context_block
        system, messages = prompt.system, prompt.messages
        if self.ctx.recovered:
            messages.extend(await self._replay())
        max_tokens = self.d.cfg.agent.max_tokens
        if self.ctx.light:
            max_tokens = min(max_tokens, self.d.cfg.scheduler.light_max_tokens)
        if self.ctx.max_tokens:
            max_tokens = min(max_tokens, self.ctx.max_tokens)
        max_iter = self.d.cfg.agent.max_iterations
        for iteration in range(1, max_iter + 1):
            request = LLMRequest(
                system, messages, specs, max_tokens, temperature=self.ctx.temperature
            )
            resp = await self._call(request)
            if not resp.tool_calls:
                return resp.text, iteration
            messages.append(ChatMessage("assistant", resp.text, tool_calls=list(resp.tool_calls)))
            for call in resp.tool_calls:
                output, is_error = await self._tool(call)
                messages.append(
                    ChatMessage(
                        "tool", output, tool_call_id=call.id, tool_name=call.name, is_error=is_error
                    )
                )
        raise TurnStopped(
            "max_iterations",
            f"stopped after {max_iter} LLM calls without a final answer "
            "(raise [agent] max_iterations to allow longer tool chains)",
        )

    async def _prompt(self, specs: list[ToolSpec]) -> Prompt:
        """The turn's first prompt: compacted first when it would pass ``[agent]
        compact_at`` of the window, and cut (oldest history first) to fit the window."""
        builder = ContextBuilder(self.d.cfg, self.d.store, self.d.prompt_sources)
        tctx = self.ctx.tool_context()
        prompt = await builder.build(self.ctx.input, tctx, specs, light=self.ctx.light)
        if self.ctx.light:
            return prompt
        sid = self.ctx.session_id
        _, model = self.d.providers.chain(self.ctx.model)[0]
        if needs_compaction(self.d, sid, model, prompt.system, prompt.messages, specs):
            try:
                row = await compact(
                    self.d,
                    sid,
                    before=self.ctx.input,
                    model_spec=self.ctx.model,
                    turn_id=self.ctx.turn_id,
                )
            except ProviderError as e:  # answer anyway, on a cut history
                log.warning("compaction of session %s failed: %s", sid, e.message)
                row = None
            if row is not None:
                prompt = await builder.build(self.ctx.input, tctx, specs)
        window = windows.window_for(model, self.d.cfg.agent.context_window).tokens
        cpt = self.d.calibration.get(sid) or pricing.CHARS_PER_TOKEN_ESTIMATE
        prompt, dropped = fit(prompt, specs, window, self.d.cfg.agent.max_tokens, cpt)
        if dropped:
            log.warning("session %s: %d oldest history messages left out to fit", sid, dropped)
        return prompt

    async def _replay(self) -> list[ChatMessage]:
        """What this turn recorded before it was interrupted, as conversation: each
        ``tool_call`` row as the assistant's call and its ``tool_result`` row as the
        result, so the model goes on from there and no recorded call runs again. A call
        with no recorded result is run again only if its tool is ``idempotent``; else the
        model is told it was interrupted and its effect is unknown."""
        filters = make_filters(
            MESSAGES,
            [("session_id", "eq", self.ctx.session_id), ("reply_to", "eq", self.ctx.turn_id)],
        )
        recorded = await self.d.store.query("messages", filters, order="asc", limit=10_000)
        calls: list[ToolCall] = []
        results: dict[str, Row] = {}
        for r in recorded:
            content = r["content"] if isinstance(r["content"], dict) else {}
            call_id = str(content.get("call_id", ""))
            if not call_id:
                continue
            if r["message_type"] == "tool_call":
                args = content.get("arguments")
                calls.append(
                    ToolCall(
                        call_id,
                        str(content.get("name", "")),
                        args if isinstance(args, dict) else {},
                    )
                )
            elif r["message_type"] == "tool_result":
                results[call_id] = r
        out: list[ChatMessage] = []
        for call in calls:
            out.append(ChatMessage("assistant", "", tool_calls=[call]))
            result = results.get(call.id)
            if result is not None:
                content = result["content"]
                out.append(
                    ChatMessage(
                        "tool",
                        str(content.get("text", "")),
                        tool_call_id=call.id,
                        tool_name=call.name,
                        is_error=content.get("status") != "ok",
                    )
                )
                continue
            tool = self.d.tools.get(call.name)
            # Stored arguments are redacted: a call whose arguments lost a secret cannot
            # be repeated as it was made.
            if tool is not None and tool.idempotent and MASK not in json.dumps(call.arguments):
                text, is_error = await self._tool(call)
            else:
                text, is_error = (
                    f"interrupted: pulsed stopped while {call.name} was running, so whether "
                    "it took effect is unknown; it was not run again. Check before calling "
                    "it again.",
                    True,
                )
                await self._record_result(call, "interrupted", text)
            out.append(
                ChatMessage(
                    "tool", text, tool_call_id=call.id, tool_name=call.name, is_error=is_error
                )
            )
        if calls:
            log.warning(
                "turn %s resumed: %d recorded tool call(s) replayed, %d interrupted",
                self.ctx.turn_id,
                len(calls),
                sum(1 for c in calls if c.id not in results),
            )
        return out

    async def _call(self, request: LLMRequest) -> LLMResponse:
        """One LLM call through the provider chain; one llm_logs row per attempt."""
        chain = self.d.providers.chain(self.ctx.model)
        last: ProviderError | None = None
        for i, (name, model) in enumerate(chain):
            held = await self._reserve(name, model, request)
            try:
                resp = await self._attempt(name, model, request, held)
            except ProviderError as e:
                last = e
                if e.retryable and not e.partial and i + 1 < len(chain):
                    log.warning(
                        "provider %s failed (%s); trying fallback %s", name, e.kind, chain[i + 1][0]
                    )
                    continue
                raise
            finally:
                self.d.budget.settle(held, 0.0)  # no-op once _log_call settled it
            return resp
        assert last is not None
        raise last

    async def _reserve(self, name: str, model: str, request: LLMRequest) -> Reservation:
        """Hold the call's maximum cost against every cap that applies: the daemon's
        (daily, monthly), the session's, and the run's own budget (a task's
        ``--budget``, checked against what the turn has spent so far). A refusal is an
        llm_logs row with status ``refused``.

        Raises:
            BudgetRefused: a cap would be passed.
        """
        most = pricing.max_cost(name, model, request)
        try:
            limit = self.ctx.budget_usd
            if limit > 0 and self.ctx.usage.cost_usd + most > limit:
                raise BudgetRefused(
                    f"run budget too low for this call: ${self.ctx.usage.cost_usd:.4f} spent "
                    f"of ${limit:.2f} for this run; the call may cost up to ${most:.4f}. "
                    "Raise the task's budget (pulsectl tasks edit NAME --budget USD).",
                    "run",
                    "at the task's next run",
                )
            return await self.d.budget.reserve(most, self.ctx.session_id)
        except BudgetRefused as e:
            await self._log_call(
                name,
                model,
                request,
                None,
                None,
                time.monotonic(),
                Reservation(0.0),
                status="refused",
                message=e.message,
            )
            raise

    async def _attempt(
        self, name: str, model: str, request: LLMRequest, held: Reservation
    ) -> LLMResponse:
        """One attempt on one provider; its llm_logs row settles ``held``."""
        started = time.monotonic()
        delivered = False

        async def on_delta(text: str) -> None:
            nonlocal delivered
            delivered = True
            self.ctx.emit(
                Delta(turn_id=self.ctx.turn_id, session_id=self.ctx.session_id, text=text)
            )

        try:
            provider = await self.d.providers.get(name, model)
            resp = await provider.stream(request, on_delta)
        except ProviderError as e:
            e.partial = e.partial or delivered
            await self._log_call(name, model, request, None, e, started, held)
            raise
        except asyncio.CancelledError:
            # The call was stopped (Cancel, shutdown, a timeout): its row says so.
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._log_call(
                        name,
                        model,
                        request,
                        None,
                        None,
                        started,
                        held,
                        status="cancelled",
                        message="the turn was cancelled during the call",
                    )
                )
            raise
        await self._log_call(name, model, request, resp, None, started, held)
        return resp

    async def _log_call(
        self,
        provider: str,
        model: str,
        request: LLMRequest,
        resp: LLMResponse | None,
        err: ProviderError | None,
        started: float,
        held: Reservation,
        *,
        status: str = "",
        message: str = "",
    ) -> None:
        usage = resp.usage if resp else None
        cost = pricing.estimate_cost(provider, model, usage) if usage else 0.0
        if status != "refused":
            self.ctx.usage.add(usage, cost)
        if usage is not None:
            prompt_tokens = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
            if prompt_tokens > 0:
                self.d.calibration[self.ctx.session_id] = (
                    pricing.request_chars(request) / prompt_tokens
                )
        self.d.budget.settle(held, cost)
        await self.d.store.append(
            "llm_logs",
            [
                call_row(
                    session_id=self.ctx.session_id,
                    turn_id=self.ctx.turn_id,
                    provider=provider,
                    model=model,
                    origin=self.ctx.origin,
                    request=request,
                    resp=resp,
                    cost_usd=cost,
                    started=started,
                    status=status or call_status(err),
                    error=err.message if err else message,
                    preview=text_of(self.ctx.input),  # without the turn's <context> block
                )
            ],
        )

    async def _tool(self, call: ToolCall) -> tuple[str, bool]:
        """Run one tool call under its policy; returns (text for the model, is_error)."""
        ctx = self.ctx
        args_json = json.dumps(call.arguments, ensure_ascii=False)
        stored_args = redact(call.arguments, PREVIEW_CHARS)  # for both rows below
        ctx.emit(
            ToolCallStarted(
                turn_id=ctx.turn_id,
                session_id=ctx.session_id,
                call_id=call.id,
                name=call.name,
                arguments_json=args_json,
            )
        )
        await self.d.store.append(
            "messages",
            [
                rows.tool_call(
                    session_id=ctx.session_id,
                    turn_id=ctx.turn_id,
                    call_id=call.id,
                    name=call.name,
                    arguments=stored_args,
                )
            ],
        )
        started = time.monotonic()
        tool = self.d.tools.get(call.name)
        policy = self.d.tools.policy(call.name)
        approval = "allow"
        status = "ok"
        if tool is None:
            status, text = "error", f"unknown tool {call.name!r}"
        elif call.arguments_error:
            status, text = "error", f"invalid arguments: {call.arguments_error}"
        elif policy == "deny":
            approval, status, text = "deny", "denied", f"tool {call.name} is disabled by policy"
        else:
            if policy == "ask":
                approval = await self._ask(tool, call, args_json)
            if approval in ("denied", "timeout"):
                status = "denied"
                text = (
                    f"the user did not approve {call.name}"
                    if approval == "denied"
                    else f"no approval for {call.name} arrived in time; not run"
                )
            else:
                status, text = await self._execute(tool, call)
        duration_ms = (time.monotonic() - started) * 1000
        if len(text) > MAX_TOOL_RESULT_CHARS:
            text = text[:MAX_TOOL_RESULT_CHARS] + f"\n[cut: {len(text)} characters in all]"
        preview = text[:RESULT_PREVIEW_CHARS]
        await self.d.store.append(
            "tool_logs",
            [
                rows.tool_log(
                    session_id=ctx.session_id,
                    turn_id=ctx.turn_id,
                    call_id=call.id,
                    tool=call.name,
                    arguments=stored_args,
                    status=status,
                    duration_ms=duration_ms,
                    result_preview=preview,
                    approval=approval,
                    error_message=text[:RESULT_PREVIEW_CHARS] if status != "ok" else "",
                )
            ],
        )
        await self._record_result(call, status, text)
        ctx.emit(
            ToolResultReady(
                turn_id=ctx.turn_id,
                session_id=ctx.session_id,
                call_id=call.id,
                name=call.name,
                status=status,
                preview=preview,
                duration_ms=duration_ms,
            )
        )
        return text, status != "ok"

    async def _record_result(self, call: ToolCall, status: str, text: str) -> None:
        """The ``tool_result`` row of ``call``: the whole text the model got (at most
        ``MAX_TOOL_RESULT_CHARS``), so a recovered turn can replay it."""
        await self.d.store.append(
            "messages",
            [
                rows.tool_result(
                    session_id=self.ctx.session_id,
                    turn_id=self.ctx.turn_id,
                    call_id=call.id,
                    name=call.name,
                    status=status,
                    text=text,
                )
            ],
        )

    async def _ask(self, tool: Tool, call: ToolCall, args_json: str) -> str:
        """The approval of an "ask" call: ``pre_approved`` (the tool allows these
        arguments), ``session`` (allowed for the session earlier), ``approved``,
        ``approved_session``, ``denied`` (also: nobody is watching) or ``timeout``."""
        tctx = self.ctx.tool_context()
        if tool.pre_approved(call.arguments, tctx):
            return "pre_approved"
        key = tool.approval_key(call.arguments, tctx)
        if self.d.approvals.allowed(self.ctx.session_id, call.name, key):
            return "session"
        if not self.ctx.interactive:
            return "denied"
        timeout = self.d.cfg.tools.approval_timeout_s
        try:
            detail = tool.approval_detail(call.arguments, tctx)[:MAX_DETAIL_CHARS]
        except Exception:  # a detail is a courtesy: its failure never blocks the ask
            log.exception("approval detail of %s failed", call.name)
            detail = ""
        rid, fut = self.d.approvals.open(self.ctx.session_id, call.name, key)
        self.ctx.emit(
            ApprovalRequested(
                turn_id=self.ctx.turn_id,
                session_id=self.ctx.session_id,
                request_id=rid,
                tool=call.name,
                arguments_json=args_json,
                timeout_s=timeout,
                approval_key=key,
                detail=detail,
            )
        )
        return await self.d.approvals.wait(rid, fut, timeout)

    async def _execute(self, tool: Tool, call: ToolCall) -> tuple[str, str]:
        limit = tool.time_limit(call.arguments) or self.d.cfg.tools.tool_timeout_s
        try:
            out = await asyncio.wait_for(
                tool.execute(call.arguments, self.ctx.tool_context()), limit
            )
        except TimeoutError as e:
            return "timeout", str(e) or f"{call.name} did not finish within {limit:g} s"
        except ToolFailure as e:
            return "error", str(e)
        except Exception as e:
            log.exception("tool %s crashed", call.name)
            return "error", f"{call.name} failed: {type(e).__name__}: {e}"
        return ("error" if out.is_error else "ok"), out.text
