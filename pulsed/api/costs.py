"""Costs: spend and tokens from llm_logs, grouped."""

from __future__ import annotations

from pulse.v1 import costs_pb2, costs_pb2_grpc

from pulsed.api.convert import ms_to_iso
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import InvalidArgument
from pulsed.store.base import COST_GROUPS, CostBucket


def bucket_pb(b: CostBucket) -> costs_pb2.CostBucket:
    return costs_pb2.CostBucket(
        key=b.key,
        requests=b.requests,
        errors=b.errors,
        input_tokens=b.input_tokens,
        output_tokens=b.output_tokens,
        cache_read_tokens=b.cache_read_tokens,
        cache_write_tokens=b.cache_write_tokens,
        cost_usd=b.cost_usd,
        avg_latency_ms=b.avg_latency_ms,
    )


class CostsServicer(costs_pb2_grpc.CostsServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    @unary
    async def Summary(
        self, request: costs_pb2.CostSummaryRequest, context: Context
    ) -> costs_pb2.CostSummaryResponse:
        if request.by and request.by not in COST_GROUPS:
            raise InvalidArgument(
                f"cannot group costs by {request.by!r} (choose: {', '.join(COST_GROUPS)})"
            )
        summary = await self.d.store.cost_summary(
            since=ms_to_iso(request.since_ms), until=ms_to_iso(request.until_ms), by=request.by
        )
        spent_today = await self.d.budget.spent_today()
        await self.d.budget.spent_this_month()
        caps = [
            costs_pb2.BudgetCap(
                name=name,
                limit_usd=limit,
                spent_usd=spent,
                reserved_usd=reserved,
                left_usd=max(0.0, limit - spent - reserved),
                resets=resets,
            )
            for name, limit, spent, reserved, resets in self.d.budget.caps()
        ]
        return costs_pb2.CostSummaryResponse(
            total=bucket_pb(summary.total),
            buckets=[bucket_pb(b) for b in summary.buckets],
            budget_daily_usd=self.d.cfg.budget.daily_usd,
            spent_today_usd=spent_today,
            caps=caps,
            budget_session_usd=self.d.cfg.budget.session_usd,
        )
