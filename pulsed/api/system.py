"""System: the daemon's status."""

from __future__ import annotations

import os
import time

import grpc
from pulse.v1 import system_pb2, system_pb2_grpc

from pulsed import __version__
from pulsed.api.errors import unary
from pulsed.runtime import Runtime


class SystemServicer(system_pb2_grpc.SystemServicer):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @unary
    async def Status(
        self, request: system_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> system_pb2.StatusResponse:
        rt = self.rt
        name, model = rt.deps.providers.chain()[0]
        return system_pb2.StatusResponse(
            version=__version__,
            pid=os.getpid(),
            uptime_s=time.monotonic() - rt.started,
            socket=rt.socket,
            data_dir=str(rt.cfg.data_path),
            config_path=rt.cfg.source,
            store_backend=rt.store.backend,
            store_health=await rt.store.health(),
            schema_version=await rt.store.schema_version(),
            provider=name,
            model=model,
            provider_problem=rt.deps.providers.problem(),
            active_turns=rt.turns.active,
            queued_turns=rt.turns.queued,
            spent_today_usd=await rt.deps.budget.spent_today(),
            budget_daily_usd=rt.cfg.budget.daily_usd,
            agent_name=rt.cfg.agent.name,
            channels=[
                system_pb2.ChannelSummary(
                    name=c.name,
                    state=c.state,
                    pending_outbox=c.pending_outbox,
                    failed_deliveries=c.failed_deliveries,
                )
                for c in (await rt.channels.infos() if rt.channels is not None else [])
                if c.enabled
            ],
        )
