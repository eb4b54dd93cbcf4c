"""The daemon's lifecycle: lock, open the store, recover, serve gRPC, stop gracefully.

On SIGTERM or SIGINT the server stops accepting calls, lets running turns finish for up
to ``[server] shutdown_grace_s`` seconds, then cancels what is left (those turns stay
unanswered in the store and resume at the next start). A second signal forces exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pulse.v1 import (
    channels_pb2,
    channels_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    costs_pb2,
    costs_pb2_grpc,
    ingest_pb2,
    ingest_pb2_grpc,
    mcp_pb2,
    mcp_pb2_grpc,
    memory_pb2,
    memory_pb2_grpc,
    skills_pb2,
    skills_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    streams_pb2,
    streams_pb2_grpc,
    system_pb2,
    system_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

from pulsed import __version__
from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.budget import Budget
from pulsed.agent.embeddings import ProviderEmbedder
from pulsed.agent.identity import IdentitySource
from pulsed.agent.loop import AgentDeps
from pulsed.agent.memory_capture import MemoryCapture
from pulsed.agent.status import McpSummary, StatusReporter
from pulsed.agent.turns import TurnManager
from pulsed.api.channels import ChannelsServicer
from pulsed.api.chat import ChatServicer
from pulsed.api.costs import CostsServicer
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import DecodeGuard, FirstCall
from pulsed.api.ingest import IngestServicer
from pulsed.api.mcp import McpServicer
from pulsed.api.memory import MemoryServicer
from pulsed.api.skills import SkillsServicer
from pulsed.api.store import StoreServicer
from pulsed.api.streams import StreamsServicer
from pulsed.api.system import SystemServicer
from pulsed.api.tasks import TasksServicer
from pulsed.channels.deps import ChannelDeps
from pulsed.channels.manager import ChannelManager
from pulsed.config import Config
from pulsed.errors import FailedPrecondition
from pulsed.http_api.listener import HttpApi
from pulsed.ingest.appender import Ingestor
from pulsed.ingest.feeds import Feeds
from pulsed.ingest.webhooks import WebhookServer
from pulsed.listener import Listeners, prepare_socket_dir
from pulsed.mcp.manager import McpManager
from pulsed.memory.prompt import MemoryPrompt
from pulsed.memory.service import MemoryService
from pulsed.memory.tools import memory_tools
from pulsed.providers.pool import ProviderPool
from pulsed.scheduling.book import TaskBook
from pulsed.scheduling.reminders import BookReminders
from pulsed.scheduling.runner import Scheduler
from pulsed.scheduling.triggers import Triggers
from pulsed.skills.catalog import SkillCatalog
from pulsed.skills.tools import SkillsPrompt, skill_tools
from pulsed.store import rows
from pulsed.store.base import Store
from pulsed.store.factory import make_store
from pulsed.tools.base import Tool
from pulsed.tools.builtin import builtin_tools
from pulsed.tools.prompt import PromptSource

log = logging.getLogger("pulsed.server")

SERVICES = [
    chat_pb2.DESCRIPTOR.services_by_name["Chat"].full_name,
    streams_pb2.DESCRIPTOR.services_by_name["Streams"].full_name,
    tasks_pb2.DESCRIPTOR.services_by_name["Tasks"].full_name,
    costs_pb2.DESCRIPTOR.services_by_name["Costs"].full_name,
    system_pb2.DESCRIPTOR.services_by_name["System"].full_name,
    channels_pb2.DESCRIPTOR.services_by_name["Channels"].full_name,
    store_pb2.DESCRIPTOR.services_by_name["Store"].full_name,
    memory_pb2.DESCRIPTOR.services_by_name["Memory"].full_name,
    skills_pb2.DESCRIPTOR.services_by_name["Skills"].full_name,
    ingest_pb2.DESCRIPTOR.services_by_name["Ingest"].full_name,
    mcp_pb2.DESCRIPTOR.services_by_name["Mcp"].full_name,
]
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class PidLock:
    """An exclusive ``flock`` on a file holding our pid. grpc unlinks and rebinds a
    socket path silently, so this is what keeps a second daemon off a live socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.holder = ""
        """The pid (as written) of the daemon that held the lock when ``acquire`` failed."""

    def acquire(self, what: str) -> None:
        """Raises FailedPrecondition naming the pid that holds the lock."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.read(fd, 32).decode().strip() or "?"
            finally:
                os.close(fd)
            self.holder = pid
            raise FailedPrecondition(
                f"another pulsed (pid {pid}) is already serving {what}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


class Server:
    """One daemon: ``await Server(cfg).serve()`` runs until a signal or ``stop()``."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.socket = cfg.socket_path
        self._stop = asyncio.Event()
        self._signals = 0
        self.ready = asyncio.Event()

    def stop(self) -> None:
        """Begin a graceful stop."""
        self._stop.set()

    def _on_signal(self, signame: str) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info("%s received: stopping (send it again to force)", signame)
            self._stop.set()
        else:
            log.warning("%s received again: exiting now", signame)
            os._exit(130)

    async def serve(self) -> None:
        """Run until stopped.

        Raises:
            FailedPrecondition: another daemon holds the socket or data dir.
            ConfigError, StoreError: the store cannot be opened.
        """
        cfg = self.cfg
        data = cfg.data_path
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        prepare_socket_dir(self.socket)
        sock_lock = PidLock(self.socket.with_name(self.socket.name + ".lock"))
        data_lock = PidLock(data / "pulsed.lock")
        try:
            sock_lock.acquire(str(self.socket))
        except FailedPrecondition:
            if self.socket.exists():
                raise
            pid, every = sock_lock.holder, self.cfg.server.socket_check_s
            soon = f"it re-creates it within {every:g} s, or " if every > 0 else ""
            raise FailedPrecondition(
                f"pulsed (pid {pid}) is running but its socket {self.socket} is gone; "
                f"{soon}restart it: `systemctl --user restart pulsed` when it runs as a "
                f"service, else `kill {pid}` and start pulsed again"
            ) from None
        try:
            data_lock.acquire(f"data dir {data}")
        except BaseException:
            sock_lock.release()
            raise
        try:
            await self._serve_locked()
        finally:
            with contextlib.suppress(OSError):
                if self.socket.is_socket():
                    self.socket.unlink()
            data_lock.release()
            sock_lock.release()

    async def _serve_locked(self) -> None:
        cfg = self.cfg
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig.name)
        store = make_store(cfg)
        await store.open()
        providers = ProviderPool(cfg)
        channels: ChannelManager | None = None
        scheduler: Scheduler | None = None
        triggers: Triggers | None = None
        webhooks: WebhookServer | None = None
        feeds: Feeds | None = None
        ingestor: Ingestor | None = None
        listeners: Listeners | None = None
        http_api: HttpApi | None = None
        watcher: asyncio.Task[None] | None = None
        mcp: McpManager | None = None
        try:
            book = TaskBook(store)
            budget = Budget(
                store, cfg.budget.daily_usd, cfg.budget.monthly_usd, cfg.budget.session_usd
            )
            approvals = ApprovalBroker()
            skills = SkillCatalog.from_config(cfg)
            on = cfg.skills.enabled
            prompt_sources: list[PromptSource] = [IdentitySource.of(cfg)]
            if on:
                prompt_sources.append(SkillsPrompt(skills))
            extra: list[Tool] = list(skill_tools(skills, cfg.tools.max_read_bytes)) if on else []
            memory = MemoryService(store, cfg.memory, ProviderEmbedder.of(cfg, store, budget))
            if cfg.memory.enabled:
                extra += memory_tools(memory)
                prompt_sources.append(MemoryPrompt(memory))
            capturer = MemoryCapture(cfg, store, providers, budget, memory)
            deps = AgentDeps(
                cfg=cfg,
                store=store,
                tools=builtin_tools(cfg, BookReminders(book), extra=extra),
                providers=providers,
                budget=budget,
                approvals=approvals,
                prompt_sources=prompt_sources,
                after_turn=[capturer],
                before_compaction=[capturer],
            )
            mcp = McpManager(cfg.mcp, cfg.data_path / "mcp", deps.tools.names(), store)
            deps.tools.add_source(mcp)  # MCP tools join as their servers connect
            turns = TurnManager(deps)
            status = StatusReporter(cfg, store, turns, providers, budget, str(self.socket))
            await turns.recover()
            scheduler = Scheduler(cfg, store, book, turns)
            await scheduler.start()  # after recovery: catch-up sees the recovered runs
            triggers = Triggers(store, book, scheduler)
            await triggers.start()  # after recovery: recovered runs count as running
            ingestor = Ingestor(store)
            feeds = Feeds(cfg.ingest.feeds, ingestor, store)  # checks every feed's interval
            webhooks = WebhookServer(cfg.ingest.webhooks, ingestor, store)
            await webhooks.start()  # only when a route is configured
            await feeds.start()
            channels = ChannelManager(ChannelDeps(cfg, store, turns, status, approvals))
            await channels.start()  # after recovery: outboxes pick up recovered answers
            status.channel_states = channels.states
            status.mcp_states = lambda: mcp_summaries(mcp)
            api = ApiDeps(
                cfg,
                store,
                turns,
                approvals,
                budget,
                status,
                book,
                scheduler,
                channels,
                ingestor,
                triggers,
                skills,
                request_stop=self.stop,
                mcp=mcp,
                memory=memory,
            )

            first_call = FirstCall(providers.warm)
            health_servicer = health.aio.HealthServicer()
            listeners = Listeners(
                self.socket, lambda: build_grpc_server(api, first_call, health_servicer)
            )
            await listeners.bind()
            http_api = HttpApi(cfg, store, turns, providers)
            status.listener_states.append(http_api.state)
            # Once gRPC is bound, before health says SERVING: ready means both are up.
            await http_api.start(cfg.server.shutdown_grace_s + 1)
            for name in ["", *SERVICES]:
                await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
            await store.append(
                "events",
                [
                    rows.event(
                        "daemon_started",
                        source="pulsed",
                        payload={
                            "pid": os.getpid(),
                            "version": __version__,
                            "socket": str(self.socket),
                        },
                        tags=["lifecycle"],
                    )
                ],
            )
            mcp.start()  # in the background: a slow server delays neither start-up nor chats
            problem = providers.problem()
            if problem:
                log.warning("no usable LLM provider: %s", problem)
            log.info(
                "pulsed %s serving on %s (store %s at %s, provider %s)",
                __version__,
                self.socket,
                store.backend,
                cfg.data_path,
                "/".join(providers.chain()[0]),
            )
            if cfg.server.socket_check_s > 0:
                watcher = asyncio.create_task(
                    listeners.watch(
                        self._stop,
                        lambda info: self._record_socket_recreated(store, info),
                        cfg.server.socket_check_s,
                    ),
                    name="socket-watch",
                )
            self.ready.set()
            await self._stop.wait()

            log.info(
                "stopping: no new calls; running turns get %.0f s", cfg.server.shutdown_grace_s
            )
            if first_call.task is not None:
                first_call.task.cancel()
            await health_servicer.enter_graceful_shutdown()
            grace = cfg.server.shutdown_grace_s
            await webhooks.stop()  # nothing more comes in
            await feeds.stop()
            await triggers.stop()  # each consumer records its position
            await scheduler.stop()  # no new runs while the turns wind down
            await asyncio.gather(turns.shutdown(grace), listeners.stop(grace + 1), http_api.stop())
            await channels.stop()
            await mcp.stop()
            await store.append(
                "events",
                [
                    rows.event(
                        "daemon_stopped",
                        source="pulsed",
                        payload={"pid": os.getpid()},
                        tags=["lifecycle"],
                    )
                ],
            )
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if listeners is not None:
                await listeners.close()  # while the loop runs: no shutdown left to grpc's __del__
            if http_api is not None:
                await http_api.stop()  # idempotent
            if webhooks is not None:
                await webhooks.stop()
            if feeds is not None:
                await feeds.stop()
            if triggers is not None:
                await triggers.stop()
            if scheduler is not None:
                await scheduler.stop()
            if channels is not None:
                await channels.stop()  # idempotent; before the store closes
            if mcp is not None:
                await mcp.stop()  # idempotent; no MCP server process outlives the daemon
            if ingestor is not None:
                await ingestor.aclose()  # appends taken in are stored before the store closes
            await providers.aclose()
            await store.close()
        log.info("stopped")

    @staticmethod
    async def _record_socket_recreated(store: Store, info: dict[str, Any]) -> None:
        """Write the ``socket_recreated`` event (severity warning) for a re-bound socket."""
        await store.append(
            "events",
            [
                rows.event(
                    "socket_recreated",
                    source="pulsed",
                    severity="warning",
                    payload={"pid": os.getpid(), **info},
                    tags=["lifecycle"],
                )
            ],
        )


def build_grpc_server(
    api: ApiDeps, first_call: FirstCall, health_servicer: health.aio.HealthServicer
) -> grpc.aio.Server:
    """A gRPC server with every servicer, health and reflection added, no port yet (each
    listener of the socket gets its own; they share the servicers and their state)."""
    server = grpc.aio.server(
        interceptors=[first_call, DecodeGuard()],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    chat_pb2_grpc.add_ChatServicer_to_server(ChatServicer(api), server)
    streams_pb2_grpc.add_StreamsServicer_to_server(StreamsServicer(api), server)
    tasks_pb2_grpc.add_TasksServicer_to_server(TasksServicer(api), server)
    costs_pb2_grpc.add_CostsServicer_to_server(CostsServicer(api), server)
    system_pb2_grpc.add_SystemServicer_to_server(SystemServicer(api), server)
    store_pb2_grpc.add_StoreServicer_to_server(StoreServicer(api), server)
    channels_pb2_grpc.add_ChannelsServicer_to_server(ChannelsServicer(api), server)
    memory_pb2_grpc.add_MemoryServicer_to_server(MemoryServicer(api), server)
    skills_pb2_grpc.add_SkillsServicer_to_server(SkillsServicer(api), server)
    ingest_pb2_grpc.add_IngestServicer_to_server(IngestServicer(api), server)
    mcp_pb2_grpc.add_McpServicer_to_server(McpServicer(api), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    return server


def mcp_summaries(mcp: McpManager | None) -> list[McpSummary]:
    """The enabled MCP servers for the status (disabled ones are left out)."""
    if mcp is None:
        return []
    return [
        McpSummary(s.name, s.state, len(s.tools), s.last_error)
        for s in mcp.states()
        if s.state != "disabled"
    ]
