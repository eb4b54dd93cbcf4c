"""PulseClient: the async core driven from synchronous code, for pulsectl.

The core runs on an event loop in a daemon thread, started at the first call; each
method submits one coroutine there and waits for its result. The waiting happens in the
caller's thread, so Ctrl+C raises ``KeyboardInterrupt`` there at once: a unary call is
then cancelled, while a ``SyncStream`` stays intact (its messages are read into a queue
on the loop), so a caller can cancel the work on the daemon and keep reading until the
stream ends. Method names, arguments and results are the core's.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from pulsectl.client.admin import SyncAdminCalls
from pulsectl.client.core import CALL_TIMEOUT_S, AsyncPulseClient
from pulsectl.client.errors import START_HINT
from pulsectl.client.filters import Filter
from pulsectl.client.mcp import SyncMcpCalls
from pulsectl.client.memory import SyncMemoryMethods
from pulsectl.client.sessions import SyncSessionCalls

if TYPE_CHECKING:
    from pulse.v1 import (
        chat_pb2,
        costs_pb2,
        ingest_pb2,
        skills_pb2,
        store_pb2,
        streams_pb2,
        system_pb2,
        tasks_pb2,
    )

T = TypeVar("T")
_END = object()


class _Loop:
    """An event loop running in a daemon thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="pulse-client", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (or raise its error).

        Raises:
            KeyboardInterrupt: Ctrl+C while waiting (``coro`` is cancelled).
        """
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def stop(self, last: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``last`` (the clean-up), cancel what is left, stop and close the loop."""

        async def shutdown() -> None:
            try:
                await last()
            finally:
                current = asyncio.current_task()
                others = [t for t in asyncio.all_tasks() if t is not current]
                for task in others:
                    task.cancel()
                await asyncio.gather(*others, return_exceptions=True)
                await self.loop.shutdown_asyncgens()
                await self.loop.shutdown_default_executor()

        try:
            self.run(shutdown())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join()
            self.loop.close()


class SyncStream(Generic[T]):
    """A server stream's messages as a blocking iterator; errors arrive as
    ``ClientError``. ``cancel()`` ends it from the client side; iteration then stops
    quietly after the messages already received."""

    def __init__(self, loop: _Loop, messages: AsyncIterator[T]) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._cancelled = False
        self._done = False
        self._future = asyncio.run_coroutine_threadsafe(self._pump(messages), loop.loop)

    async def _pump(self, messages: AsyncIterator[T]) -> None:
        try:
            async for message in messages:
                self._queue.put(message)
        except Exception as err:  # raised in the reader's thread by __next__
            self._queue.put(err)
        finally:
            self._queue.put(_END)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END or isinstance(item, Exception):
            self._done = True
        if item is _END:
            raise StopIteration
        if isinstance(item, Exception):
            if self._cancelled and getattr(item, "code", "") == "CANCELLED":
                raise StopIteration
            raise item
        return cast(T, item)

    def cancel(self) -> None:
        """Stop the stream from the client side (the call is cancelled on the loop)."""
        self._cancelled = True
        self._future.cancel()


class PulseClient(SyncMcpCalls, SyncMemoryMethods, SyncSessionCalls, SyncAdminCalls):
    """A connection to pulsed for synchronous code, started on demand.

    Args:
        socket: the daemon's socket; default ``pulse.paths.client_socket_path()``.
        autostart: start ``pulsed`` when nothing answers on the socket.
        notify: called with one-line notes for the person (e.g. that a daemon started).
        timeout: deadline of unary calls, seconds.
        client_name: sent as ``x-pulse-client`` metadata; the daemon records it as the
            source of the messages (pulsectl → cli).
        hint: the hint of the error raised when no daemon answers and ``autostart`` is
            off.

    Every call first makes sure a daemon answers (``connect``). Errors are the core's:
    ``DaemonUnreachable`` when none answers or could be started, ``ServerError`` when
    the daemon refused.
    """

    def __init__(
        self,
        socket: Path | str | None = None,
        *,
        autostart: bool = True,
        notify: Callable[[str], None] | None = None,
        timeout: float = CALL_TIMEOUT_S,
        client_name: str = "pulsectl",
        hint: str = START_HINT,
    ) -> None:
        self._core = AsyncPulseClient(socket, client_name=client_name, timeout=timeout)
        self.socket = self._core.socket
        self.client_name = client_name
        self.autostart = autostart
        self.timeout = timeout
        self.hint = hint
        self._notify = notify or (lambda _text: None)
        self._loop: _Loop | None = None
        self._connected = False

    # -- connection ---------------------------------------------------------------------

    def __enter__(self) -> PulseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel open streams, close the channel and stop the loop thread."""
        if self._loop is not None:
            loop, self._loop = self._loop, None
            self._connected = False
            loop.stop(self._core.close)

    def _loop_run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = _Loop()
        return self._loop.run(coro)

    def connect(self) -> None:
        """Make sure a daemon answers on the socket, starting one when allowed.

        Raises:
            DaemonUnreachable: none answers and it may not or could not be started.
        """
        if not self._connected:
            self._loop_run(
                self._core.ensure_daemon(
                    autostart=self.autostart, notify=self._notify, hint=self.hint
                )
            )
            self._connected = True

    def start_daemon(self) -> int:
        """Start ``pulsed`` on this socket, detached, and wait until it serves.

        Returns:
            The daemon's pid.

        Raises:
            DaemonUnreachable: it could not be spawned, exited early, or did not serve in
                time (the hint holds the end of its log).
        """
        pid = self._loop_run(self._core.start_daemon(self._notify))
        self._connected = True
        return pid

    def wait_ready(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds until the daemon serves.

        Raises:
            DaemonUnreachable: it did not serve in time.
        """
        self._loop_run(self._core.wait_ready(timeout))

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            self.connect()
        except BaseException:
            coro.close()
            raise
        return self._loop_run(coro)

    def _stream(self, messages: AsyncIterator[T]) -> SyncStream[T]:
        self.connect()
        assert self._loop is not None
        return SyncStream(self._loop, messages)

    # -- System -------------------------------------------------------------------------

    def status(self, timeout: float = 0) -> system_pb2.StatusResponse:
        """System.Status; ``timeout`` in seconds (0: the client's default)."""
        return self._run(self._core.status(timeout))

    # -- Chat ---------------------------------------------------------------------------

    def send(
        self,
        text: str,
        *,
        session_id: str = "",
        interactive: bool = False,
        user_id: str = "",
        model: str = "",
    ) -> SyncStream[chat_pb2.TurnEvent]:
        """Chat.Send: the turn's events, accepted first and final or error last."""
        return self._stream(
            self._core.send(
                text, session_id=session_id, interactive=interactive, user_id=user_id, model=model
            )
        )

    def context(self, session_id: str, text: str = "") -> chat_pb2.ContextResponse:
        """Chat.Context: the next turn's prompt of a session, part by part."""
        return self._run(self._core.context(session_id, text))

    def compact(self, session_id: str, instructions: str = "") -> chat_pb2.CompactResponse:
        """Chat.Compact: summarise the session's older history now."""
        return self._run(self._core.compact(session_id, instructions))

    def set_session_model(self, session_id: str, model: str) -> chat_pb2.SetSessionModelResponse:
        """Chat.SetSessionModel (``""`` returns the session to the configured chain)."""
        return self._run(self._core.set_session_model(session_id, model))

    def approve(
        self, request_id: str, approved: bool, for_session: bool = False
    ) -> chat_pb2.ApproveResponse:
        """Chat.Approve: answer a tool approval request (see the core's ``approve``)."""
        return self._run(self._core.approve(request_id, approved, for_session))

    def cancel(self, turn_id: str) -> chat_pb2.CancelResponse:
        """Chat.Cancel: stop a running or queued turn."""
        return self._run(self._core.cancel(turn_id))

    def list_sessions(
        self, limit: int = 0, include_removed: bool = False
    ) -> chat_pb2.ListSessionsResponse:
        """Chat.ListSessions, most recently active first (``include_removed``: removed
        sessions too)."""
        return self._run(self._core.list_sessions(limit, include_removed))

    def history(self, session_id: str, limit: int = 0) -> chat_pb2.HistoryResponse:
        """Chat.History: a session's rows of the messages stream, oldest first."""
        return self._run(self._core.history(session_id, limit))

    def rename_session(self, session_id: str, title: str) -> chat_pb2.RenameSessionResponse:
        """Chat.RenameSession ("" goes back to the derived title)."""
        return self._run(self._core.rename_session(session_id, title))

    # -- Streams ------------------------------------------------------------------------

    def list_streams(self) -> streams_pb2.ListStreamsResponse:
        """Streams.List."""
        return self._run(self._core.list_streams())

    def tail(
        self,
        stream: str,
        filters: Sequence[Filter] = (),
        *,
        start: str | int = "latest",
        max_batch: int = 0,
    ) -> SyncStream[streams_pb2.TailResponse]:
        """Streams.Tail from ``start``: "earliest", "latest" or the seq to resume after."""
        return self._stream(self._core.tail(stream, filters, start=start, max_batch=max_batch))

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
        """Streams.Query (times in unix ms, 0: unbounded; ``order`` asc or desc)."""
        return self._run(
            self._core.query(
                stream, filters, since_ms=since_ms, until_ms=until_ms, order=order, limit=limit
            )
        )

    # -- Costs --------------------------------------------------------------------------

    def cost_summary(
        self, *, since_ms: int = 0, until_ms: int = 0, by: str = ""
    ) -> costs_pb2.CostSummaryResponse:
        """Costs.Summary (times in unix ms, 0: unbounded)."""
        return self._run(self._core.cost_summary(since_ms=since_ms, until_ms=until_ms, by=by))

    # -- Tasks --------------------------------------------------------------------------

    def add_task(self, task: tasks_pb2.Task) -> tasks_pb2.Task:
        """Tasks.Add (build ``task`` with ``new_task``)."""
        return self._run(self._core.add_task(task))

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
        trigger: tasks_pb2.TriggerSpec | None = None,
        budget_usd: float | None = None,
    ) -> tasks_pb2.Task:
        """Tasks.Update: change only the fields given (None leaves one as it is)."""
        return self._run(
            self._core.update_task(
                name,
                schedule=schedule,
                prompt=prompt,
                timezone=timezone,
                deliver_to=deliver_to,
                enabled=enabled,
                catch_up=catch_up,
                timeout_s=timeout_s,
                trigger=trigger,
                budget_usd=budget_usd,
            )
        )

    def remove_task(self, name: str) -> tasks_pb2.RemoveTaskResponse:
        """Tasks.Remove."""
        return self._run(self._core.remove_task(name))

    def list_tasks(self) -> tasks_pb2.ListTasksResponse:
        """Tasks.List."""
        return self._run(self._core.list_tasks())

    def set_task_enabled(self, name: str, enabled: bool) -> tasks_pb2.Task:
        """Tasks.SetEnabled."""
        return self._run(self._core.set_task_enabled(name, enabled))

    def run_task(self, name: str) -> tasks_pb2.RunNowResponse:
        """Tasks.RunNow."""
        return self._run(self._core.run_task(name))

    def task_history(self, name: str, limit: int = 0) -> tasks_pb2.TaskHistoryResponse:
        """Tasks.History, newest run first."""
        return self._run(self._core.task_history(name, limit))

    def preview_schedule(
        self,
        schedule: str,
        timezone: str = "",
        count: int = 3,
        trigger: tasks_pb2.TriggerSpec | None = None,
    ) -> tasks_pb2.PreviewScheduleResponse:
        """Tasks.Preview: the daemon's verdict on a schedule and its next runs (with
        ``trigger``: the newest matching rows)."""
        return self._run(self._core.preview_schedule(schedule, timezone, count, trigger))

    def test_trigger(self, name: str, row_json: str) -> tasks_pb2.TestTriggerResponse:
        """Tasks.Test: would this row fire the trigger, and with what prompt."""
        return self._run(self._core.test_trigger(name, row_json))

    # -- Ingest -------------------------------------------------------------------------

    def ingest(self, rows: Sequence[ingest_pb2.IngestRow]) -> ingest_pb2.IngestAppendResponse:
        """Ingest.Append: store rows durably; counts stored and duplicates."""
        return self._run(self._core.ingest(rows))

    # -- Operations ---------------------------------------------------------------------

    def stop(self) -> system_pb2.StopResponse:
        """System.Stop: the daemon answers, then stops gracefully."""
        return self._run(self._core.stop())

    def store_backup(self, path: str, overwrite: bool = False) -> store_pb2.StoreBackupResponse:
        """Store.Backup to ``path`` (absolute)."""
        return self._run(self._core.store_backup(path, overwrite))

    # -- Skills -------------------------------------------------------------------------

    def list_skills(self) -> skills_pb2.ListSkillsResponse:
        """Skills.List."""
        return self._run(self._core.list_skills())

    def show_skill(self, name: str) -> skills_pb2.ShowSkillResponse:
        """Skills.Show."""
        return self._run(self._core.show_skill(name))
