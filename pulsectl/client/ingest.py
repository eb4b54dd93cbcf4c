"""The client's calls for stream triggers and the ingest stream: Ingest.Append,
Tasks.Test, and the builders of their requests. ``AsyncPulseClient`` inherits them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pulse.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc, tasks_pb2, tasks_pb2_grpc

from pulsectl.client.filters import Filter

if TYPE_CHECKING:
    import grpc.aio

Q = TypeVar("Q")
R = TypeVar("R")


def ingest_row(
    source: str,
    payload_json: str = "",
    *,
    kind: str = "",
    dedupe_key: str = "",
    tags: Sequence[str] = (),
) -> ingest_pb2.IngestRow:
    """A row to ingest; ``payload_json`` is JSON text ('' = {})."""
    return ingest_pb2.IngestRow(
        source=source, kind=kind, payload_json=payload_json, dedupe_key=dedupe_key, tags=tags
    )


def trigger_spec(
    on: str,
    where: Sequence[Filter] = (),
    *,
    batch_s: float = 0.0,
    max_runs_per_hour: int = 0,
    overflow: str = "",
) -> tasks_pb2.TriggerSpec:
    """What makes a task a stream trigger: the stream, filters (columns may be JSON
    paths such as ``payload.action``), batch window (seconds), rate limit, overflow."""
    return tasks_pb2.TriggerSpec(
        on=on,
        where=[common_pb2.Filter(column=f.column, op=f.op, value=f.value) for f in where],
        batch_s=batch_s,
        max_runs_per_hour=max_runs_per_hour,
        overflow=overflow,
    )


class IngestCalls:
    """Mixed into ``AsyncPulseClient``, which provides ``channel`` and ``_unary``."""

    if TYPE_CHECKING:

        @property
        def channel(self) -> grpc.aio.Channel: ...

        async def _unary(
            self, method: grpc.aio.UnaryUnaryMultiCallable[Q, R], request: Q, timeout: float = 0
        ) -> R: ...

    async def ingest(self, rows: Sequence[ingest_pb2.IngestRow]) -> ingest_pb2.IngestAppendResponse:
        """Ingest.Append: store ``rows`` durably (build them with ``ingest_row``); the
        answer counts the rows stored and the duplicates dropped."""
        stub: Any = ingest_pb2_grpc.IngestStub(self.channel)
        request = ingest_pb2.IngestAppendRequest(rows=rows)
        response: ingest_pb2.IngestAppendResponse = await self._unary(stub.Append, request)
        return response

    async def test_trigger(self, name: str, row_json: str) -> tasks_pb2.TestTriggerResponse:
        """Tasks.Test: whether a row (JSON object of columns; for ingest, else the
        payload) would fire trigger task ``name``, and its run's prompt."""
        stub: Any = tasks_pb2_grpc.TasksStub(self.channel)
        request = tasks_pb2.TestTriggerRequest(name=name, row_json=row_json)
        response: tasks_pb2.TestTriggerResponse = await self._unary(stub.Test, request)
        return response
