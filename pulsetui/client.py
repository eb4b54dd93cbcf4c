"""TuiClient: the daemon's gRPC API for the console, on ``grpc.aio`` in the app's loop.

Each method wraps one RPC and returns its protobuf response; server streams are async
iterators. gRPC errors never escape: they become ``pulsectl.diagnostics`` errors
(UNAVAILABLE → ``DaemonUnreachable``, anything else → ``ServerError``), whose ``message``
and ``hint`` the console shows as they are. Starting the daemon when none answers reuses
``pulsectl.client.PulseClient`` (a client package; the daemon is never imported).

Connection state lives here too: ``online`` is set while the daemon answers (the app's
connection worker sets and clears it), and ``follow`` resumes a tail after a reconnect
from the last sequence number it delivered, so a daemon restart leaves no gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse import paths
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

from pulsectl.client.errors import ClientError as CliError
from pulsectl.client.errors import DaemonUnreachable, ServerError

CLIENT_NAME = "pulsetui"
"""Sent as ``x-pulse-client`` on Send; the daemon records the messages' source as ``tui``."""

CALL_TIMEOUT_S = 15.0
"""Deadline of unary calls, seconds."""

RESUME_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)
"""Pauses between attempts to resume a broken tail (the last one repeats)."""

T = TypeVar("T")

Filter = tuple[str, str, str]
"""A filter on one column: (column, op, value), op one of eq ne contains gt ge lt le."""


OPERATORS = (("!=", "ne"), (">=", "ge"), ("<=", "le"), ("=", "eq"), (">", "gt"), ("<", "lt"))
OPERATORS_HELP = "column=value, != > >= < <=, or column~text (contains)"


def parse_filters(text: str) -> list[Filter]:
    """``source=tui message_type!=error content~hello`` → column filters for the daemon.

    Raises:
        ValueError: a term without an operator (the message shows the syntax).
    """
    try:
        terms = shlex.split(text)
    except ValueError as err:
        raise ValueError(f"cannot read the filter: {err}") from None
    out: list[Filter] = []
    for term in terms:
        if "~" in term and not any(sym in term.split("~", 1)[0] for sym, _ in OPERATORS):
            column, value = term.split("~", 1)
            out.append((column.strip(), "contains", value))
            continue
        for sym, op in OPERATORS:
            if sym in term:
                column, value = term.split(sym, 1)
                if column.strip():
                    out.append((column.strip(), op, value))
                    break
        else:
            raise ValueError(f"{term!r} is not a filter; use {OPERATORS_HELP}")
    return out


def error_of(err: grpc.RpcError) -> CliError:
    """The ``CliError`` a failed aio call stands for (its message is the daemon's)."""
    code = err.code() if isinstance(err, grpc.aio.AioRpcError) else None
    details = (err.details() if isinstance(err, grpc.aio.AioRpcError) else "") or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        return DaemonUnreachable(f"daemon unreachable: {details}" if details else "UNAVAILABLE")
    name = code.name if code is not None else "UNKNOWN"
    return ServerError(name, details)


def is_transport_loss(err: BaseException) -> bool:
    """Whether ``err`` means the connection went away (as opposed to a refused request)."""
    if isinstance(err, DaemonUnreachable):
        return True
    if isinstance(err, grpc.aio.AioRpcError):
        return err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    return False


@dataclass(frozen=True, slots=True)
class TailRow:
    """One row of a tail: its stream, sequence number and decoded column values."""

    stream: str
    seq: int
    values: dict[str, Any]

    @classmethod
    def of(cls, row: common_pb2.Row) -> TailRow:
        """Decode a ``pulse.v1.Row`` (its ``json`` is an object of column values)."""
        try:
            values = json.loads(row.json)
        except ValueError:
            values = {"_raw": row.json}
        if not isinstance(values, dict):
            values = {"_value": values}
        return cls(row.stream, row.seq, values)


def ensure_daemon(socket: Path, autostart: bool, notify: Callable[[str], None]) -> None:
    """Make sure a daemon answers on ``socket``, starting ``pulsed`` when allowed.

    Blocking (up to pulsectl's start timeout): run it in a thread.

    Raises:
        DaemonUnreachable: none answers and it may not or could not be started.
    """
    from pulsectl.client import PulseClient

    with PulseClient(socket, autostart=autostart, notify=notify, client_name=CLIENT_NAME) as c:
        c.connect()


class TuiClient:
    """A connection to pulsed for the console.

    Args:
        socket: the daemon's socket; default ``pulse.paths.client_socket_path()``.
        timeout: deadline of unary calls, seconds.

    The channel is created lazily in the running event loop (grpc.aio binds to it).
    """

    def __init__(self, socket: Path | str | None = None, *, timeout: float = CALL_TIMEOUT_S):
        self.socket = Path(socket).expanduser() if socket else paths.client_socket_path()
        self.timeout = timeout
        self.online = asyncio.Event()
        """Set while the daemon answers; cleared when the connection worker loses it."""
        self._channel: grpc.aio.Channel | None = None
        self._streams: set[grpc.aio.Call] = set()
        self.tail_messages = 0
        """Tail responses received (with ``tail_rows``: how well the daemon batches)."""
        self.tail_rows = 0

    # -- connection ---------------------------------------------------------------------

    @property
    def channel(self) -> grpc.aio.Channel:
        """The aio channel, created on first use (inside the running loop)."""
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(
                f"unix:{self.socket}",
                options=[
                    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                    ("grpc.initial_reconnect_backoff_ms", 100),
                    ("grpc.max_reconnect_backoff_ms", 1000),
                ],
            )
        return self._channel

    async def close(self) -> None:
        """Cancel open streams and close the channel at once (no grace)."""
        self.drop_streams()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            with contextlib.suppress(Exception):
                await channel.close(grace=None)

    def drop_streams(self) -> None:
        """Cancel every open tail (the daemon is stopping or gone): ``follow`` resumes them
        after a reconnect, and a daemon shutting down need not wait for them."""
        for call in list(self._streams):
            call.cancel()
        self._streams.clear()

    async def _unary(self, method: Callable[..., Any], request: Any, timeout: float = 0) -> Any:
        try:
            return await method(request, timeout=timeout or self.timeout)
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None

    async def _stream(self, call: Any, *, droppable: bool = True) -> AsyncIterator[Any]:
        """Iterate a server stream; a droppable one is tracked for ``drop_streams``."""
        if droppable:
            self._streams.add(call)
        try:
            async for message in call:
                yield message
        except grpc.aio.AioRpcError as err:
            raise error_of(err) from None
        finally:
            self._streams.discard(call)
            call.cancel()

    async def watch_health(self) -> AsyncIterator[bool]:
        """grpc.health.v1 Watch on the whole server: True while SERVING, False otherwise;
        ends (or raises ``DaemonUnreachable``) when the connection breaks."""
        stub = health_pb2_grpc.HealthStub(self.channel)
        call = stub.Watch(health_pb2.HealthCheckRequest(service=""))
        async for reply in self._stream(call, droppable=False):
            yield reply.status == health_pb2.HealthCheckResponse.SERVING

    # -- System -------------------------------------------------------------------------

    async def status(self, timeout: float = 0) -> system_pb2.StatusResponse:
        """System.Status."""
        stub = system_pb2_grpc.SystemStub(self.channel)
        return await self._unary(stub.Status, system_pb2.StatusRequest(), timeout)

    # -- Chat ---------------------------------------------------------------------------

    def send(
        self, text: str, *, session_id: str = "", interactive: bool = True
    ) -> AsyncIterator[chat_pb2.TurnEvent]:
        """Chat.Send: the turn's events, accepted first and final or error last."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        request = chat_pb2.SendRequest(session_id=session_id, text=text, interactive=interactive)
        call = stub.Send(request, metadata=(("x-pulse-client", CLIENT_NAME),))
        return self._stream(call, droppable=False)

    async def approve(self, request_id: str, approved: bool) -> chat_pb2.ApproveResponse:
        """Chat.Approve: answer a tool approval request."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        req = chat_pb2.ApproveRequest(request_id=request_id, approved=approved)
        return await self._unary(stub.Approve, req)

    async def cancel(self, turn_id: str) -> chat_pb2.CancelResponse:
        """Chat.Cancel: stop a running or queued turn."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        return await self._unary(stub.Cancel, chat_pb2.CancelRequest(turn_id=turn_id))

    async def list_sessions(self, limit: int = 100) -> chat_pb2.ListSessionsResponse:
        """Chat.ListSessions, most recently active first."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        return await self._unary(stub.ListSessions, chat_pb2.ListSessionsRequest(limit=limit))

    async def history(self, session_id: str, limit: int = 200) -> chat_pb2.HistoryResponse:
        """Chat.History: a session's rows of the messages stream, oldest first."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        req = chat_pb2.HistoryRequest(session_id=session_id, limit=limit)
        return await self._unary(stub.History, req)

    async def rename_session(self, session_id: str, title: str) -> chat_pb2.RenameSessionResponse:
        """Chat.RenameSession ('' goes back to the derived title)."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        req = chat_pb2.RenameSessionRequest(session_id=session_id, title=title)
        return await self._unary(stub.RenameSession, req)

    # -- Streams ------------------------------------------------------------------------

    async def list_streams(self) -> streams_pb2.ListStreamsResponse:
        """Streams.List."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        return await self._unary(stub.List, streams_pb2.ListStreamsRequest())

    async def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        since_ms: int = 0,
        order: str = "desc",
        limit: int = 100,
    ) -> list[TailRow]:
        """Streams.Query, decoded."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        req = streams_pb2.QueryRequest(
            stream=stream, filters=_filters(filters), since_ms=since_ms, order=order, limit=limit
        )
        resp = await self._unary(stub.Query, req)
        return [TailRow.of(r) for r in resp.rows]

    async def last_seq(self, stream: str) -> int:
        """The stream's highest sequence number (0 when empty)."""
        rows = await self.query(stream, order="desc", limit=1)
        return rows[0].seq if rows else 0

    def tail(
        self, stream: str, filters: Sequence[Filter] = (), *, after_seq: int, max_batch: int = 0
    ) -> AsyncIterator[streams_pb2.TailResponse]:
        """Streams.Tail of rows after ``after_seq`` (0: from the earliest row stored)."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        req = streams_pb2.TailRequest(stream=stream, filters=_filters(filters), max_batch=max_batch)
        if after_seq:
            req.after_seq = after_seq
        else:
            req.earliest = True
        return self._stream(stub.Tail(req))

    async def follow(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        start: str | int = "latest",
        max_batch: int = 1000,
        flush_s: float = 0.05,
    ) -> AsyncIterator[list[TailRow]]:
        """A tail that survives daemon restarts, its rows batched for the UI.

        ``start`` is "earliest", "latest" or a sequence number to resume after. Rows come
        in lists: whatever arrived within ``flush_s`` of the first pending one, so a fast
        tail costs the UI a few updates a second instead of one per gRPC message. After a
        lost connection it waits for ``online`` and resumes after the last row delivered.

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
                responses = self.tail(stream, filters, after_seq=after, max_batch=max_batch)
                async for rows in _batched(responses, flush_s, self):
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

    # -- Costs --------------------------------------------------------------------------

    async def cost_summary(
        self, *, since_ms: int = 0, by: str = ""
    ) -> costs_pb2.CostSummaryResponse:
        """Costs.Summary from ``since_ms`` (epoch ms; 0 = all), grouped by ``by``."""
        stub = costs_pb2_grpc.CostsStub(self.channel)
        req = costs_pb2.CostSummaryRequest(since_ms=since_ms, by=by)
        return await self._unary(stub.Summary, req)

    # -- Tasks --------------------------------------------------------------------------

    async def list_tasks(self) -> tasks_pb2.ListTasksResponse:
        """Tasks.List."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return await self._unary(stub.List, tasks_pb2.ListTasksRequest())

    async def add_task(self, task: tasks_pb2.Task) -> tasks_pb2.Task:
        """Tasks.Add."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return await self._unary(stub.Add, tasks_pb2.AddTaskRequest(task=task))

    async def update_task(self, task: tasks_pb2.Task) -> tasks_pb2.Task:
        """Tasks.Update with every editable field of ``task`` (found by name)."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        req = tasks_pb2.UpdateTaskRequest(
            name=task.name,
            schedule=task.schedule,
            prompt=task.prompt,
            timezone=task.timezone,
            deliver_to=task.deliver_to,
            enabled=task.enabled,
        )
        return await self._unary(stub.Update, req)

    async def remove_task(self, name: str) -> None:
        """Tasks.Remove."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        await self._unary(stub.Remove, tasks_pb2.RemoveTaskRequest(name=name))

    async def set_task_enabled(self, name: str, enabled: bool) -> tasks_pb2.Task:
        """Tasks.SetEnabled."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        req = tasks_pb2.SetEnabledRequest(name=name, enabled=enabled)
        return await self._unary(stub.SetEnabled, req)

    async def run_task(self, name: str) -> tasks_pb2.RunNowResponse:
        """Tasks.RunNow."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return await self._unary(stub.RunNow, tasks_pb2.RunNowRequest(name=name))

    async def task_history(self, name: str, limit: int = 20) -> tasks_pb2.TaskHistoryResponse:
        """Tasks.History, newest run first."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        req = tasks_pb2.TaskHistoryRequest(name=name, limit=limit)
        return await self._unary(stub.History, req)

    async def preview_schedule(
        self, spec: str, timezone: str, count: int = 3
    ) -> tasks_pb2.PreviewScheduleResponse:
        """Tasks.Preview: the daemon's verdict on a schedule and its next runs."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        req = tasks_pb2.PreviewScheduleRequest(schedule=spec, timezone=timezone, count=count)
        return await self._unary(stub.Preview, req)


async def _batched(
    responses: AsyncIterator[streams_pb2.TailResponse], flush_s: float, client: TuiClient
) -> AsyncIterator[list[TailRow]]:
    """Decode tail responses and regroup them: a list at most every ``flush_s`` seconds
    while rows keep coming; the first rows after a quiet spell go out at once."""
    pending: list[TailRow] = []
    done = asyncio.Event()
    ready = asyncio.Event()
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            async for resp in responses:
                client.tail_messages += 1
                client.tail_rows += len(resp.rows)
                pending.extend(TailRow.of(r) for r in resp.rows)
                if pending:
                    ready.set()
        except BaseException as err:  # handed to the consumer below
            failure.append(err)
        finally:
            done.set()
            ready.set()

    reader = asyncio.create_task(read())
    last = 0.0
    try:
        while True:
            await ready.wait()
            wait = last + flush_s - time.monotonic()
            if wait > 0 and not done.is_set():
                await asyncio.sleep(wait)
            ready.clear()
            if pending:
                batch = pending[:]
                pending.clear()
                last = time.monotonic()
                yield batch
            if done.is_set() and not pending:
                break
        for err in failure:
            if not isinstance(err, asyncio.CancelledError):
                raise err
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        with contextlib.suppress(Exception):
            await responses.aclose()  # type: ignore[attr-defined]


def _filters(filters: Sequence[Filter]) -> list[common_pb2.Filter]:
    return [common_pb2.Filter(column=c, op=op, value=v) for c, op, v in filters]
