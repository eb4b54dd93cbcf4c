"""System: the daemon's status."""

from __future__ import annotations

from pulse.v1 import system_pb2, system_pb2_grpc

from pulsed.agent.status import DaemonStatus
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary


def status_pb(s: DaemonStatus) -> system_pb2.StatusResponse:
    """A status snapshot as the API's StatusResponse."""
    return system_pb2.StatusResponse(
        version=s.version,
        pid=s.pid,
        uptime_s=s.uptime_s,
        socket=s.socket,
        data_dir=s.data_dir,
        config_path=s.config_path,
        store_backend=s.store_backend,
        store_health=s.store_health,
        schema_version=s.schema_version,
        provider=s.provider,
        model=s.model,
        provider_problem=s.provider_problem,
        active_turns=s.active_turns,
        queued_turns=s.queued_turns,
        spent_today_usd=s.spent_today_usd,
        budget_daily_usd=s.budget_daily_usd,
        agent_name=s.agent_name,
        channels=[
            system_pb2.ChannelSummary(
                name=c.name,
                state=c.state,
                pending_outbox=c.pending_outbox,
                failed_deliveries=c.failed_deliveries,
            )
            for c in s.channels
        ],
        listeners=[
            system_pb2.ListenerSummary(
                name=x.name, state=x.state, address=x.address, detail=x.detail, reason=x.reason
            )
            for x in s.listeners
        ],
    )


class SystemServicer(system_pb2_grpc.SystemServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.status = deps.status

    @unary
    async def Status(
        self, request: system_pb2.StatusRequest, context: Context
    ) -> system_pb2.StatusResponse:
        return status_pb(await self.status.snapshot())
