"""PulseClient: the daemon's API over its Unix socket, started on demand.

Each method wraps one RPC and returns the protobuf response (or a ``ServerStream`` for
server streams). gRPC errors never escape: they become ``CliError`` subclasses from
``pulsectl.diagnostics`` (UNAVAILABLE → ``DaemonUnreachable``, anything else →
``ServerError``). When nothing answers on the socket, the client starts ``pulsed``
detached and waits for it to serve, unless told not to.
"""

from __future__ import annotations

import os
import queue
import socket as socketlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Generic, TypeVar

import grpc
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

from pulsectl.diagnostics import CliError, DaemonUnreachable, ServerError

START_TIMEOUT_S = 10.0
"""How long a daemon started by the client gets to begin serving."""

CALL_TIMEOUT_S = 30.0
"""Deadline of unary calls."""

LOG_TAIL_LINES = 20

T = TypeVar("T")
_END = object()

_TRANSPORT_FAILURES = (
    "failed to connect",
    "socket closed",
    "connection reset",
    "connection refused",
    "broken pipe",
    "goaway",
    "no such file",
    "cancelling all calls",
)
"""Words of gRPC's own UNAVAILABLE details (transport down, server stopping), as opposed
to the daemon's own (a store or provider down)."""

Filter = tuple[str, str, str]
"""A filter on one column: (column, op, value), op one of eq ne contains gt ge lt le."""


def translate(err: grpc.RpcError, socket: Path | str = "") -> CliError:
    """The CliError a failed call stands for."""
    code = err.code() if isinstance(err, grpc.Call) else None
    details = (err.details() if isinstance(err, grpc.Call) else "") or ""
    name = code.name if code is not None else "UNKNOWN"
    trailers = (err.trailing_metadata() if isinstance(err, grpc.Call) else None) or ()
    if code == grpc.StatusCode.UNAVAILABLE and any(k == "pulse-error" for k, _ in trailers):
        # The daemon answered: something it depends on (store, provider) is down.
        return ServerError(name, details)
    if code == grpc.StatusCode.UNAVAILABLE:
        transport = any(t in details.lower() for t in _TRANSPORT_FAILURES)
        return DaemonUnreachable(
            f"UNAVAILABLE: {details}" if details else "UNAVAILABLE",
            f"the daemon on {socket} stopped answering; is pulsed running?"
            if socket and transport
            else "",
        )
    return ServerError(name, details)


class ServerStream(Generic[T]):
    """A server stream's messages; gRPC errors arrive as CliError.

    A background thread reads the call into a queue, so a KeyboardInterrupt while
    waiting leaves the stream intact: the caller can cancel the work on the daemon and
    keep reading until it ends. ``cancel()`` ends it from the client side; iteration
    then stops quietly.
    """

    def __init__(self, call: grpc.Call, socket: Path) -> None:
        self._call = call
        self._socket = socket
        self._cancelled = False
        self._done = False
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        threading.Thread(target=self._read, name="pulsectl-stream", daemon=True).start()

    def _read(self) -> None:
        try:
            for message in self._call:
                self._queue.put(message)
        except grpc.RpcError as err:
            self._queue.put(err)
        finally:
            self._queue.put(_END)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END or isinstance(item, grpc.RpcError):
            self._done = True
        if item is _END:
            raise StopIteration
        if isinstance(item, grpc.RpcError):
            cancelled = isinstance(item, grpc.Call) and item.code() == grpc.StatusCode.CANCELLED
            if self._cancelled and cancelled:
                raise StopIteration
            raise translate(item, self._socket)
        return item  # type: ignore[return-value]

    def cancel(self) -> None:
        """Stop the stream from the client side."""
        self._cancelled = True
        self._call.cancel()


def probe(path: Path) -> bool:
    """Whether something accepts connections on the Unix socket at ``path``.

    Raises:
        DaemonUnreachable: the socket exists but cannot be used (permissions, path length).
    """
    sock = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
    sock.settimeout(2.0)
    try:
        sock.connect(str(path))
        return True
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except TimeoutError:
        return True  # a busy daemon with a full backlog: let gRPC wait for it
    except OSError as err:
        raise DaemonUnreachable(f"cannot connect to {path}: {err.strerror or err}") from None
    finally:
        sock.close()


def _log_tail(path: Path, offset: int, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines written to ``path`` after ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class PulseClient:
    """A connection to pulsed.

    Args:
        socket: the daemon's socket; default ``pulse.paths.client_socket_path()``.
        autostart: start ``pulsed`` when nothing answers on the socket.
        notify: called with one-line notes for the person (e.g. that a daemon started).
        timeout: deadline of unary calls, seconds.
        client_name: sent as ``x-pulse-client`` metadata on Send; the daemon records it
            as the message's source (pulsectl → cli, pulsetui → tui).
    """

    def __init__(
        self,
        socket: Path | str | None = None,
        *,
        autostart: bool = True,
        notify: Callable[[str], None] | None = None,
        timeout: float = CALL_TIMEOUT_S,
        client_name: str = "pulsectl",
    ) -> None:
        self.client_name = client_name
        self.socket = Path(socket).expanduser() if socket else paths.client_socket_path()
        self.autostart = autostart
        self.timeout = timeout
        self._notify = notify or (lambda _text: None)
        self._channel: grpc.Channel | None = None

    # -- connection ---------------------------------------------------------------------

    def __enter__(self) -> PulseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    @property
    def channel(self) -> grpc.Channel:
        """The channel to the daemon, connecting (and starting it) on first use."""
        if self._channel is None:
            self.connect()
        assert self._channel is not None
        return self._channel

    def connect(self) -> None:
        """Make sure a daemon answers on the socket, starting one when allowed.

        Raises:
            DaemonUnreachable: none answers and it may not or could not be started.
        """
        if self._channel is not None:
            return
        if not probe(self.socket):
            if not self.autostart:
                raise DaemonUnreachable(
                    f"no daemon answers on {self.socket}",
                    "start it with `pulsed` (or `pulsectl service install`), "
                    "or run without --no-start",
                )
            self.start_daemon()
            return
        self._open()

    def _open(self) -> None:
        self._channel = grpc.insecure_channel(
            f"unix:{self.socket}",
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 16 * 1024 * 1024),
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 2000),
            ],
        )

    def start_daemon(self) -> int:
        """Start ``pulsed`` on this socket, detached, and wait until it serves.

        Its stdout and stderr are appended to ``<data dir>/pulsed.log``.

        Returns:
            The daemon's pid.

        Raises:
            DaemonUnreachable: it could not be spawned, exited early, or did not serve in
                time (the message holds the end of its log).
        """
        log_dir = paths.client_data_dir()
        log_path = log_dir / "pulsed.log"
        try:
            log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as err:
            raise DaemonUnreachable(f"cannot start pulsed: {log_path}: {err.strerror}") from None
        offset = os.fstat(fd).st_size
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pulsed", "--socket", str(self.socket)],
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as err:
            raise DaemonUnreachable(f"cannot start pulsed: {err}") from None
        finally:
            os.close(fd)
        self._notify(f"started pulsed (pid {proc.pid}), log: {log_path}")
        try:
            self.wait_ready(START_TIMEOUT_S, process=proc)
        except DaemonUnreachable as err:
            tail = _log_tail(log_path, offset)
            if tail:
                err.hint = f"last lines of {log_path}:\n{tail}"
            else:
                err.hint = f"see {log_path}"
            raise
        return proc.pid

    def wait_ready(self, timeout: float, *, process: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until the daemon answers its health check with SERVING.

        Args:
            timeout: seconds to wait in all.
            process: the daemon just started, whose early exit ends the wait.

        Raises:
            DaemonUnreachable: it did not serve in time, or ``process`` exited.
        """
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        deadline = time.monotonic() + timeout
        while True:
            if process is not None and process.poll() is not None:
                if not probe(self.socket):
                    raise DaemonUnreachable(
                        f"pulsed exited with code {process.returncode} before serving"
                    )
                process = None  # another client's daemon won the race; wait for that one
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DaemonUnreachable(
                    f"pulsed did not answer on {self.socket} within {timeout:g} s"
                )
            if self._channel is not None or probe(self.socket):
                if self._channel is None:
                    self._open()
                assert self._channel is not None
                stub = health_pb2_grpc.HealthStub(self._channel)
                try:
                    reply = stub.Check(
                        health_pb2.HealthCheckRequest(service=""),
                        timeout=min(1.0, max(remaining, 0.05)),
                    )
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError as err:
                    code = err.code() if isinstance(err, grpc.Call) else None
                    if code == grpc.StatusCode.UNIMPLEMENTED:
                        self.status()  # no health service: an answered Status will do
                        return
            time.sleep(0.05)

    def _call(self, method: Callable[..., T], request: object) -> T:
        try:
            return method(request, timeout=self.timeout)
        except grpc.RpcError as err:
            raise translate(err, self.socket) from None

    # -- System -------------------------------------------------------------------------

    def status(self) -> system_pb2.StatusResponse:
        """System.Status."""
        stub = system_pb2_grpc.SystemStub(self.channel)
        return self._call(stub.Status, system_pb2.StatusRequest())

    # -- Chat ---------------------------------------------------------------------------

    def send(
        self, text: str, *, session_id: str = "", interactive: bool = False, user_id: str = ""
    ) -> ServerStream[chat_pb2.TurnEvent]:
        """Chat.Send: the turn's events, accepted first and final or error last."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        request = chat_pb2.SendRequest(
            session_id=session_id, text=text, user_id=user_id, interactive=interactive
        )
        try:
            call = stub.Send(request, metadata=(("x-pulse-client", self.client_name),))
        except grpc.RpcError as err:
            raise translate(err, self.socket) from None
        return ServerStream(call, self.socket)

    def approve(self, request_id: str, approved: bool) -> chat_pb2.ApproveResponse:
        """Chat.Approve: answer a tool approval request."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        request = chat_pb2.ApproveRequest(request_id=request_id, approved=approved)
        return self._call(stub.Approve, request)

    def cancel(self, turn_id: str) -> chat_pb2.CancelResponse:
        """Chat.Cancel: stop a running or queued turn."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        return self._call(stub.Cancel, chat_pb2.CancelRequest(turn_id=turn_id))

    def list_sessions(self, limit: int = 0) -> chat_pb2.ListSessionsResponse:
        """Chat.ListSessions."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        return self._call(stub.ListSessions, chat_pb2.ListSessionsRequest(limit=limit))

    def history(self, session_id: str, limit: int = 0) -> chat_pb2.HistoryResponse:
        """Chat.History: a session's rows of the messages stream, oldest first."""
        stub = chat_pb2_grpc.ChatStub(self.channel)
        request = chat_pb2.HistoryRequest(session_id=session_id, limit=limit)
        return self._call(stub.History, request)

    # -- Streams ------------------------------------------------------------------------

    def list_streams(self) -> streams_pb2.ListStreamsResponse:
        """Streams.List."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        return self._call(stub.List, streams_pb2.ListStreamsRequest())

    def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        start: str | int = "latest",
        max_batch: int = 0,
    ) -> ServerStream[streams_pb2.TailResponse]:
        """Streams.Tail from ``start``: "earliest", "latest" or the seq to resume after."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        request = streams_pb2.TailRequest(
            stream=stream, filters=_filters(filters), max_batch=max_batch
        )
        if start == "earliest":
            request.earliest = True
        elif start == "latest":
            request.latest = True
        else:
            request.after_seq = int(start)
        try:
            call = stub.Tail(request)
        except grpc.RpcError as err:
            raise translate(err, self.socket) from None
        return ServerStream(call, self.socket)

    def query(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        since_ms: int = 0,
        until_ms: int = 0,
        order: str = "",
        limit: int = 0,
    ) -> streams_pb2.QueryResponse:
        """Streams.Query."""
        stub = streams_pb2_grpc.StreamsStub(self.channel)
        request = streams_pb2.QueryRequest(
            stream=stream,
            filters=_filters(filters),
            since_ms=since_ms,
            until_ms=until_ms,
            order=order,
            limit=limit,
        )
        return self._call(stub.Query, request)

    # -- Costs --------------------------------------------------------------------------

    def cost_summary(
        self, *, since_ms: int = 0, until_ms: int = 0, by: str = ""
    ) -> costs_pb2.CostSummaryResponse:
        """Costs.Summary."""
        stub = costs_pb2_grpc.CostsStub(self.channel)
        request = costs_pb2.CostSummaryRequest(since_ms=since_ms, until_ms=until_ms, by=by)
        return self._call(stub.Summary, request)

    # -- Tasks --------------------------------------------------------------------------

    def add_task(
        self,
        name: str,
        *,
        schedule: str,
        prompt: str,
        timezone: str = "",
        deliver_to: str = "",
        enabled: bool = True,
        catch_up: bool | None = None,
        timeout_s: float = 0.0,
        preset: str = "",
    ) -> tasks_pb2.Task:
        """Tasks.Add. With ``preset``, what is left empty comes from that preset;
        ``catch_up`` None and ``timeout_s`` 0 leave the daemon's defaults."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        task = tasks_pb2.Task(
            name=name,
            schedule=schedule,
            prompt=prompt,
            timezone=timezone,
            deliver_to=deliver_to,
            enabled=enabled,
            timeout_s=timeout_s,
            preset=preset,
        )
        if catch_up is not None:
            task.catch_up = catch_up
        return self._call(stub.Add, tasks_pb2.AddTaskRequest(task=task))

    def update_task(
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
    ) -> tasks_pb2.Task:
        """Tasks.Update: change only the fields given (None leaves one as it is)."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        request = tasks_pb2.UpdateTaskRequest(name=name)
        changes = {
            "schedule": schedule,
            "prompt": prompt,
            "timezone": timezone,
            "deliver_to": deliver_to,
            "enabled": enabled,
            "catch_up": catch_up,
            "timeout_s": timeout_s,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(request, field, value)
        return self._call(stub.Update, request)

    def remove_task(self, name: str) -> tasks_pb2.RemoveTaskResponse:
        """Tasks.Remove."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return self._call(stub.Remove, tasks_pb2.RemoveTaskRequest(name=name))

    def list_tasks(self) -> tasks_pb2.ListTasksResponse:
        """Tasks.List."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return self._call(stub.List, tasks_pb2.ListTasksRequest())

    def set_task_enabled(self, name: str, enabled: bool) -> tasks_pb2.Task:
        """Tasks.SetEnabled."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        request = tasks_pb2.SetEnabledRequest(name=name, enabled=enabled)
        return self._call(stub.SetEnabled, request)

    def run_task(self, name: str) -> tasks_pb2.RunNowResponse:
        """Tasks.RunNow."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return self._call(stub.RunNow, tasks_pb2.RunNowRequest(name=name))

    def task_history(self, name: str, limit: int = 0) -> tasks_pb2.TaskHistoryResponse:
        """Tasks.History."""
        stub = tasks_pb2_grpc.TasksStub(self.channel)
        return self._call(stub.History, tasks_pb2.TaskHistoryRequest(name=name, limit=limit))


def _filters(filters: Sequence[Filter]) -> list[common_pb2.Filter]:
    return [common_pb2.Filter(column=c, op=op, value=v) for c, op, v in filters]
