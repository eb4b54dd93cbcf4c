"""AsyncPulseClient: every pulse.v1 service (and grpc.health.v1) on ``grpc.aio``.

One method per RPC, returning its protobuf response; server streams are async iterators
of their messages. A failed call raises the ``ClientError`` that ``errors.translate``
makes of it (``DaemonUnreachable`` when nothing answered, ``ServerError`` when the daemon
refused). The channel is created on first use inside the running event loop (grpc.aio
binds to it). ``ensure_daemon`` probes the socket and starts ``pulsed`` when allowed;
``follow`` is a tail that survives daemon restarts, batched for a UI.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import grpc
import grpc.aio
from pulse.v1 import (
    chat_pb2,
    chat_pb2_grpc,
    common_pb2,
    costs_pb2,
    costs_pb2_grpc,
    streams_pb2,
    streams_pb2_grpc,
    system_pb2,
    system_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

from pulsectl.client import daemon
from pulsectl.client.admin import AdminCalls
from pulsectl.client.batches import batched
from pulsectl.client.errors import (
    START_HINT,
    DaemonUnreachable,
    ServerError,
    no_daemon,
    socket_gone,
    translate,
)
from pulsectl.client.filters import Filter
from pulsectl.client.ingest import IngestCalls
from pulsectl.client.mcp import AsyncMcpCalls
from pulsectl.client.memory import MemoryMethods
from pulsectl.client.ops import OpsCalls
from pulsectl.client.rows import TailRow
from pulsectl.client.sessions import SessionCalls
from pulsectl.client.skills import SkillsCalls

CLIENT_METADATA = "x-pulse-client"
"""Metadata key naming the client on every call; the daemon maps the name to the source
of the messages it records (its ``CLIENT_SOURCES``: pulsectl → cli, pulsetui → tui)."""

CALL_TIMEOUT_S = 30.0
"""Default deadline of unary calls, seconds."""

CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)

WAIT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 20),
    ("grpc.min_reconnect_backoff_ms", 20),
    ("grpc.max_reconnect_backoff_ms", 50),
)
"""The channel that waits for a starting daemon retries its socket every 20-50 ms."""

WAIT_ATTEMPT_S = 0.25
"""Longest single wait for the health service, seconds; between two, an early exit of a
daemon just started is noticed."""

RESUME_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
"""Pauses between attempts to resume a broken ``follow`` (the last one repeats), seconds."""

Q = TypeVar("Q")
R = TypeVar("R")


def new_task(
    name: str,
    *,
    schedule: str = "",
    prompt: str = "",
    timezone: str = "",
    deliver_to: str = "",
    enabled: bool = True,
    catch_up: bool | None = None,
    timeout_s: float = 0.0,
    preset: str = "",
    trigger: tasks_pb2.TriggerSpec | None = None,
    budget_usd: float = 0.0,
) -> tasks_pb2.Task:
    """A task to add. With ``preset``, what is left empty comes from that preset;
    ``catch_up`` None and ``timeout_s`` 0 (seconds) leave the daemon's defaults;
    ``trigger`` (``ingest.trigger_spec``) makes it a stream trigger; ``budget_usd``
    caps each run's LLM spend (0: no per-run cap)."""
    task = tasks_pb2.Task(
        name=name,
        schedule=schedule,
        prompt=prompt,
        timezone=timezone,
        deliver_to=deliver_to,
        enabled=enabled,
        timeout_s=timeout_s,
        preset=preset,
        budget_usd=budget_usd,
    )
    if catch_up is not None:
        task.catch_up = catch_up
    if trigger is not None:
        task.trigger.CopyFrom(trigger)
    return task


HEALTH_WATCH = "/grpc.health.v1.Health/Watch"

if TYPE_CHECKING:
    # Store and Channels (and the health stubs, ~20 ms) are imported where they are
    # called: most runs of pulsectl never use them, and their modules cost a few
    # milliseconds of every start.
    from grpc_health.v1 import health_pb2
    from pulse.v1 import channels_pb2_grpc, store_pb2_grpc

    # generic only in the stubs
    HealthWatch = grpc.aio.UnaryStreamMultiCallable[
        health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
    ]


def health_watch(channel: grpc.aio.Channel) -> HealthWatch:
    """grpc.health.v1 Health.Watch on ``channel`` (the health stubs are untyped)."""
    from grpc_health.v1 import health_pb2

    return channel.unary_stream(
        HEALTH_WATCH,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )


def filters_pb(filters: Sequence[Filter]) -> list[common_pb2.Filter]:
    """Filters as the API's messages."""
    return [common_pb2.Filter(column=f.column, op=f.op, value=f.value) for f in filters]


class AsyncPulseClient(
    SkillsCalls, IngestCalls, OpsCalls, AsyncMcpCalls, MemoryMethods, SessionCalls, AdminCalls
):
    """A connection to pulsed on ``grpc.aio``; use it from one event loop.

    Args:
        socket: the daemon's socket; default ``pulse.paths.client_socket_path()``.
        client_name: sent as ``x-pulse-client`` metadata (``pulsectl``, ``pulsetui``).
        timeout: default deadline of unary calls, seconds.

    Attributes:
        online: set while the daemon answers; a UI's connection watcher sets and clears
            it, and ``follow`` waits for it before (re)opening a tail.
        tail_messages: tail responses ``follow`` received (with ``tail_rows``, the rows
            in them: how well the daemon batches).
    """

    def __init__(
        self,
        socket: Path | str | None = None,
        *,
        client_name: str,
        timeout: float = CALL_TIMEOUT_S,
    ) -> None:
        self.socket = Path(socket).expanduser() if socket else daemon.default_socket()
        self.client_name = client_name
        self.timeout = timeout
        self.online = asyncio.Event()
        self.tail_messages = 0
        self.tail_rows = 0
        self._metadata = ((CLIENT_METADATA, client_name),)
        self._channel: grpc.aio.Channel | None = None
        self._streams: set[grpc.aio.Call] = set()

    # -- connection ---------------------------------------------------------------------

    @property
    def target(self) -> str:
        """The gRPC target of the socket, ``unix:<path>``."""
        return f"unix:{self.socket}"

    @property
    def channel(self) -> grpc.aio.Channel:
        """The aio channel, created on first use (inside the running loop)."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        return self._channel

    # The services' stubs on the channel (cheap to make: a few callables each).

    @property
    def _system(self) -> system_pb2_grpc.SystemAsyncStub:
        return system_pb2_grpc.SystemStub(self.channel)

    @property
    def _chat(self) -> chat_pb2_grpc.ChatAsyncStub:
        return chat_pb2_grpc.ChatStub(self.channel)

    @property
    def _streams_stub(self) -> streams_pb2_grpc.StreamsAsyncStub:
        return streams_pb2_grpc.StreamsStub(self.channel)

    @property
    def _costs(self) -> costs_pb2_grpc.CostsAsyncStub:
        return costs_pb2_grpc.CostsStub(self.channel)

    @property
    def _tasks(self) -> tasks_pb2_grpc.TasksAsyncStub:
        return tasks_pb2_grpc.TasksStub(self.channel)

    @property
    def _store(self) -> store_pb2_grpc.StoreAsyncStub:
        from pulse.v1 import store_pb2_grpc

        return store_pb2_grpc.StoreStub(self.channel)

    @property
    def _channels(self) -> channels_pb2_grpc.ChannelsAsyncStub:
        from pulse.v1 import channels_pb2_grpc

        return channels_pb2_grpc.ChannelsStub(self.channel)

    async def close(self) -> None:
        """Cancel open streams and close the channel at once (no grace)."""
        self.drop_streams()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            with contextlib.suppress(Exception):
                await channel.close(grace=None)

    def drop_streams(self) -> None:
        """Cancel every open tail (the daemon is stopping or gone): ``follow`` resumes its
        tails after a reconnect, and a daemon shutting down need not wait for them."""
        for call in list(self._streams):
            call.cancel()
        self._streams.clear()

    async def ensure_daemon(
        self,
        *,
        autostart: bool = True,
        notify: Callable[[str], None] | None = None,
        hint: str = START_HINT,
    ) -> None:
        """Make sure something answers on the socket, starting ``pulsed`` when allowed.

        Args:
            autostart: start a daemon when none answers.
            notify: told one line for the person when a daemon is started.
            hint: the hint of the error when none answers and ``autostart`` is False.

        Raises:
            DaemonUnreachable: none answers and it may not or could not be started.
        """
        if await asyncio.to_thread(daemon.probe, self.socket):
            return
        holder = None if self.socket.exists() else daemon.lock_holder(self.socket)
        if holder is not None:
            # A live daemon whose socket file was deleted: it binds it again shortly, and a
            # second daemon would only be refused by its lock.
            if not autostart:
                raise socket_gone(self.socket, holder)
            if notify is not None:
                notify(
                    f"pulsed (pid {holder}) is running but its socket {self.socket} is gone; "
                    "waiting for it to re-create it"
                )
            try:
                await self.wait_ready(daemon.START_TIMEOUT_S)
            except DaemonUnreachable:
                raise socket_gone(self.socket, holder) from None
            return
        if not autostart:
            raise no_daemon(self.socket, hint)
        await self.start_daemon(notify)

    async def start_daemon(self, notify: Callable[[str], None] | None = None) -> int:
        """Start ``pulsed`` on this socket, detached, and wait until it serves.

        Its stdout and stderr are appended to ``<data dir>/pulsed.log``.

        Returns:
            The daemon's pid.

        Raises:
            DaemonUnreachable: it could not be spawned, exited early, or did not serve in
                ``daemon.START_TIMEOUT_S`` (the hint holds the end of its log).
        """
        spawned = daemon.spawn(self.socket, notify or (lambda _text: None))
        try:
            await self.wait_ready(daemon.START_TIMEOUT_S, spawned=spawned)
        except DaemonUnreachable as err:
            tail = spawned.log_tail()
            err.hint = f"last lines of {spawned.log}:\n{tail}" if tail else f"see {spawned.log}"
            raise
        return spawned.pid

    async def wait_ready(self, timeout: float, *, spawned: daemon.Spawned | None = None) -> None:
        """Wait until the daemon's health service says SERVING (or, without one, until
        System.Status answers).

        Args:
            timeout: seconds to wait in all.
            spawned: the daemon just started, whose early exit ends the wait.

        Raises:
            DaemonUnreachable: it did not serve in time, or ``spawned`` exited first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with grpc.aio.insecure_channel(self.target, options=WAIT_OPTIONS) as channel:
            watch = health_watch(channel)
            while True:
                if spawned is not None and (code := spawned.exit_code()) is not None:
                    answers = await asyncio.to_thread(daemon.probe, self.socket)
                    if not answers and (
                        code != daemon.EXIT_HELD or not daemon.lock_holder(self.socket)
                    ):
                        raise DaemonUnreachable(f"pulsed exited with code {code} before serving")
                    # Another daemon holds the socket (it won a race, or re-creates its
                    # deleted socket file): wait for that one.
                    spawned = None
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise DaemonUnreachable(
                        f"pulsed did not answer on {self.socket} within {timeout:g} s"
                    )
                attempt = min(WAIT_ATTEMPT_S, remaining)
                started = loop.time()
                if await self._serving(watch, attempt):
                    return
                rest = started + attempt - loop.time()
                if rest > 0:  # the attempt ended early without an answer: do not spin
                    await asyncio.sleep(rest)

    async def _serving(self, watch: HealthWatch, attempt: float) -> bool:
        """One health Watch of at most ``attempt`` seconds: whether it said SERVING."""
        from grpc_health.v1 import health_pb2

        request = health_pb2.HealthCheckRequest(service="")
        call = watch(request, timeout=attempt, wait_for_ready=True)
        try:
            async for reply in call:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                await self.status()  # no health service: an answered Status will do
                return True
        finally:
            call.cancel()
        return False

    async def _unary(
        self, method: grpc.aio.UnaryUnaryMultiCallable[Q, R], request: Q, timeout: float = 0
    ) -> R:
        try:
            return await method(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.aio.AioRpcError as err:
            raise translate(err, self.socket) from None

    async def _stream(
        self,
        method: Callable[[], grpc.aio.UnaryStreamMultiCallable[Q, R]],
        request: Q,
        *,
        droppable: bool = True,
    ) -> AsyncIterator[R]:
        """A server stream's messages; a droppable one is tracked for ``drop_streams``.

        ``method`` gives the stub's method when the stream is first iterated, so the
        channel and the call are made inside the running loop however the iterator was
        created (the sync wrapper creates it in its caller's thread).
        """
        call = method()(request, metadata=self._metadata)
        if droppable:
            self._streams.add(call)
        try:
            async for message in call:
                yield message
        except grpc.aio.AioRpcError as err:
            raise translate(err, self.socket) from None
        finally:
            self._streams.discard(call)
            call.cancel()

    # -- grpc.health.v1 -----------------------------------------------------------------

    async def watch_health(self) -> AsyncIterator[bool]:
        """Health Watch on the whole server: True while SERVING, False otherwise.

        Ends, or raises ``DaemonUnreachable``, when the connection breaks.
        """
        from grpc_health.v1 import health_pb2

        request = health_pb2.HealthCheckRequest(service="")
        watch = lambda: health_watch(self.channel)  # noqa: E731
        async for reply in self._stream(watch, request, droppable=False):
            yield reply.status == health_pb2.HealthCheckResponse.SERVING

    # -- System -------------------------------------------------------------------------

    async def status(self, timeout: float = 0) -> system_pb2.StatusResponse:
        """System.Status; ``timeout`` in seconds (0: the client's default)."""
        return await self._unary(self._system.Status, system_pb2.StatusRequest(), timeout)

    # -- Chat ---------------------------------------------------------------------------

    def send(
        self,
        text: str,
        *,
        session_id: str = "",
        interactive: bool = False,
        user_id: str = "",
        model: str = "",
    ) -> AsyncIterator[chat_pb2.TurnEvent]:
        """Chat.Send: the turn's events, accepted first and final or error last.

        ``interactive``: the person can answer approval requests (else "ask" tools are
        denied); an empty ``session_id`` starts a new session; ``model``
        (``[PROVIDER:]MODEL``) becomes the session's model from this message on.
        """
        request = chat_pb2.SendRequest(
            session_id=session_id, text=text, user_id=user_id, interactive=interactive, model=model
        )
        return self._stream(lambda: self._chat.Send, request, droppable=False)

    async def approve(
        self, request_id: str, approved: bool, for_session: bool = False
    ) -> chat_pb2.ApproveResponse:
        """Chat.Approve: answer a tool approval request; ``for_session`` also allows the
        same call unasked for the rest of the session."""
        request = chat_pb2.ApproveRequest(
            request_id=request_id, approved=approved or for_session, for_session=for_session
        )
        return await self._unary(self._chat.Approve, request)

    async def cancel(self, turn_id: str) -> chat_pb2.CancelResponse:
        """Chat.Cancel: stop a running or queued turn."""
        return await self._unary(self._chat.Cancel, chat_pb2.CancelRequest(turn_id=turn_id))

    async def list_sessions(
        self, limit: int = 0, include_removed: bool = False
    ) -> chat_pb2.ListSessionsResponse:
        """Chat.ListSessions, most recently active first; ``limit`` 0: the daemon's;
        ``include_removed``: removed sessions too (marked ``removed``)."""
        request = chat_pb2.ListSessionsRequest(limit=limit, include_removed=include_removed)
        return await self._unary(self._chat.ListSessions, request)

    async def history(self, session_id: str, limit: int = 0) -> chat_pb2.HistoryResponse:
        """Chat.History: a session's rows of the messages stream, oldest first (the most
        recent ``limit``; 0: the daemon's default)."""
        request = chat_pb2.HistoryRequest(session_id=session_id, limit=limit)
        return await self._unary(self._chat.History, request)

    async def rename_session(self, session_id: str, title: str) -> chat_pb2.RenameSessionResponse:
        """Chat.RenameSession ("" goes back to the derived title)."""
        request = chat_pb2.RenameSessionRequest(session_id=session_id, title=title)
        return await self._unary(self._chat.RenameSession, request)

    async def context(self, session_id: str, text: str = "") -> chat_pb2.ContextResponse:
        """Chat.Context: the next turn's prompt of a session, part by part."""
        request = chat_pb2.ContextRequest(session_id=session_id, text=text)
        return await self._unary(self._chat.Context, request)

    async def set_session_model(
        self, session_id: str, model: str
    ) -> chat_pb2.SetSessionModelResponse:
        """Chat.SetSessionModel (``""`` returns the session to the configured chain)."""
        request = chat_pb2.SetSessionModelRequest(session_id=session_id, model=model)
        return await self._unary(self._chat.SetSessionModel, request)

    async def compact(self, session_id: str, instructions: str = "") -> chat_pb2.CompactResponse:
        """Chat.Compact: summarise the session's older history now."""
        request = chat_pb2.CompactRequest(session_id=session_id, instructions=instructions)
        return await self._unary(self._chat.Compact, request)

    # -- Streams ------------------------------------------------------------------------

    async def list_streams(self) -> streams_pb2.ListStreamsResponse:
        """Streams.List."""
        return await self._unary(self._streams_stub.List, streams_pb2.ListStreamsRequest())

    def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        start: str | int = "latest",
        max_batch: int = 0,
    ) -> AsyncIterator[streams_pb2.TailResponse]:
        """Streams.Tail from ``start``: "earliest", "latest" or the seq to resume after;
        ``max_batch`` caps the rows per response (0: the daemon's)."""
        request = streams_pb2.TailRequest(
            stream=stream, filters=filters_pb(filters), max_batch=max_batch
        )
        if start == "earliest":
            request.earliest = True
        elif start == "latest":
            request.latest = True
        else:
            request.after_seq = int(start)
        return self._stream(lambda: self._streams_stub.Tail, request)

    async def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        since_ms: int = 0,
        until_ms: int = 0,
        order: str = "",
        limit: int = 0,
    ) -> streams_pb2.QueryResponse:
        """Streams.Query: stored rows between ``since_ms`` and ``until_ms`` (unix ms; 0:
        unbounded), ``order`` "asc" or "desc" ("": the daemon's), at most ``limit``."""
        request = streams_pb2.QueryRequest(
            stream=stream,
            filters=filters_pb(filters),
            since_ms=since_ms,
            until_ms=until_ms,
            order=order,
            limit=limit,
        )
        return await self._unary(self._streams_stub.Query, request)

    async def query_rows(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        since_ms: int = 0,
        order: str = "desc",
        limit: int = 100,
    ) -> list[TailRow]:
        """Streams.Query, decoded: newest first unless ``order`` is "asc"."""
        resp = await self.query(stream, filters, since_ms=since_ms, order=order, limit=limit)
        return [TailRow.of(r) for r in resp.rows]

    async def last_seq(self, stream: str) -> int:
        """The stream's highest sequence number (0 when empty)."""
        rows = await self.query_rows(stream, order="desc", limit=1)
        return rows[0].seq if rows else 0

    async def follow(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        start: str | int = "latest",
        max_batch: int = 1000,
        flush_s: float = 0.05,
    ) -> AsyncIterator[list[TailRow]]:
        """A tail that survives daemon restarts, its rows batched for a UI.

        ``start`` is "earliest", "latest" or a sequence number to resume after. Rows come
        in lists: whatever arrived within ``flush_s`` seconds of the first pending one,
        so a fast tail costs the UI a few updates a second instead of one per gRPC
        message. After a lost connection it waits for ``online`` and resumes after the
        last row delivered, so a restart leaves no gap.

        Raises:
            ServerError: the daemon refused the tail (unknown stream, bad filter).
        """
        after: int | None
        if start == "earliest":
            after = 0
        elif start == "latest":
            after = None
        else:
            after = int(start)
        attempt = 0
        while True:
            await self.online.wait()
            try:
                if after is None:
                    after = await self.last_seq(stream)
                responses = self.tail(
                    stream, filters, start=after or "earliest", max_batch=max_batch
                )
                async for rows in batched(responses, flush_s, self._count_tail):
                    attempt = 0
                    after = rows[-1].seq
                    yield rows
            except DaemonUnreachable:
                pass
            except ServerError as err:
                if err.code != "CANCELLED":
                    raise
            await asyncio.sleep(RESUME_BACKOFF_S[min(attempt, len(RESUME_BACKOFF_S) - 1)])
            attempt += 1

    def _count_tail(self, rows: int) -> None:
        self.tail_messages += 1
        self.tail_rows += rows

    # -- Costs --------------------------------------------------------------------------

    async def cost_summary(
        self, *, since_ms: int = 0, until_ms: int = 0, by: str = ""
    ) -> costs_pb2.CostSummaryResponse:
        """Costs.Summary between ``since_ms`` and ``until_ms`` (unix ms; 0: unbounded),
        broken down ``by`` model, hour, day, session, origin or provider ("": total)."""
        request = costs_pb2.CostSummaryRequest(since_ms=since_ms, until_ms=until_ms, by=by)
        return await self._unary(self._costs.Summary, request)

    # -- Tasks --------------------------------------------------------------------------

    async def add_task(self, task: tasks_pb2.Task) -> tasks_pb2.Task:
        """Tasks.Add (build ``task`` with ``new_task``); returns the task as stored."""
        return await self._unary(self._tasks.Add, tasks_pb2.AddTaskRequest(task=task))

    async def update_task(
        self,
        name: str,
        *,
        schedule: str | None = None,
        prompt: str | None = None,
        timezone: str | None = None,
        deliver_to: str | None = None,
        enabled: bool | None = None,
        catch_up: bool | None = None,
        timeout_s: float | None = None,
        trigger: tasks_pb2.TriggerSpec | None = None,
        budget_usd: float | None = None,
    ) -> tasks_pb2.Task:
        """Tasks.Update: change only the fields given (None leaves one as it is;
        ``timeout_s`` in seconds, 0 back to the daemon's default; ``trigger`` replaces
        a stream trigger's definition)."""
        request = tasks_pb2.UpdateTaskRequest(name=name)
        if trigger is not None:
            request.trigger.CopyFrom(trigger)
        if schedule is not None:
            request.schedule = schedule
        if prompt is not None:
            request.prompt = prompt
        if timezone is not None:
            request.timezone = timezone
        if deliver_to is not None:
            request.deliver_to = deliver_to
        if enabled is not None:
            request.enabled = enabled
        if catch_up is not None:
            request.catch_up = catch_up
        if timeout_s is not None:
            request.timeout_s = timeout_s
        if budget_usd is not None:
            request.budget_usd = budget_usd
        return await self._unary(self._tasks.Update, request)

    async def remove_task(self, name: str) -> tasks_pb2.RemoveTaskResponse:
        """Tasks.Remove."""
        return await self._unary(self._tasks.Remove, tasks_pb2.RemoveTaskRequest(name=name))

    async def list_tasks(self) -> tasks_pb2.ListTasksResponse:
        """Tasks.List."""
        return await self._unary(self._tasks.List, tasks_pb2.ListTasksRequest())

    async def set_task_enabled(self, name: str, enabled: bool) -> tasks_pb2.Task:
        """Tasks.SetEnabled."""
        request = tasks_pb2.SetEnabledRequest(name=name, enabled=enabled)
        return await self._unary(self._tasks.SetEnabled, request)

    async def run_task(self, name: str) -> tasks_pb2.RunNowResponse:
        """Tasks.RunNow: run a task outside its schedule."""
        return await self._unary(self._tasks.RunNow, tasks_pb2.RunNowRequest(name=name))

    async def task_history(self, name: str, limit: int = 0) -> tasks_pb2.TaskHistoryResponse:
        """Tasks.History, newest run first (``limit`` 0: the daemon's default)."""
        request = tasks_pb2.TaskHistoryRequest(name=name, limit=limit)
        return await self._unary(self._tasks.History, request)

    async def preview_schedule(
        self,
        schedule: str,
        timezone: str = "",
        count: int = 3,
        trigger: tasks_pb2.TriggerSpec | None = None,
    ) -> tasks_pb2.PreviewScheduleResponse:
        """Tasks.Preview: the daemon's verdict on a schedule and its next ``count`` runs
        (``timezone`` "" : the daemon's zone); with ``trigger``, the newest ``count``
        rows of its stream that match it."""
        request = tasks_pb2.PreviewScheduleRequest(
            schedule=schedule, timezone=timezone, count=count, trigger=trigger
        )
        return await self._unary(self._tasks.Preview, request)
