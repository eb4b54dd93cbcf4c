"""Streams: describe, tail live (rows batched per message), query history."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from pulse.v1 import streams_pb2, streams_pb2_grpc

from pulsed.api.convert import filters, ms_to_iso, row_pb
from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, server_stream, unary
from pulsed.errors import InvalidArgument
from pulsed.store import schema
from pulsed.store.base import TailStart

MAX_BATCH = 5000
FAST_TAIL_S = 0.01
"""Two sends closer than this (seconds) mark a fast tail."""
GATHER_S = 0.005
"""How long a fast tail waits for rows to gather before the next send (seconds)."""


class StreamsServicer(streams_pb2_grpc.StreamsServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    @unary
    async def List(
        self, request: streams_pb2.ListStreamsRequest, context: Context
    ) -> streams_pb2.ListStreamsResponse:
        out = []
        for s in schema.STREAMS.values():
            out.append(
                streams_pb2.StreamInfo(
                    name=s.name,
                    description=s.description,
                    columns=[
                        streams_pb2.Column(name=c.name, type=c.type, description=c.description)
                        for c in s.columns
                    ],
                    last_seq=await self.d.store.last_seq(s.name),
                    row_count=await self.d.store.count(s.name),
                )
            )
        return streams_pb2.ListStreamsResponse(streams=out)

    @server_stream
    async def Tail(
        self, request: streams_pb2.TailRequest, context: Context
    ) -> AsyncIterator[streams_pb2.TailResponse]:
        stream = schema.stream(request.stream)
        checked = filters(stream, request.filters)
        which = request.WhichOneof("start")
        if which == "earliest":
            start = TailStart.earliest()
        elif which == "after_seq":
            start = TailStart.after(request.after_seq)
        else:
            start = TailStart.latest()
        max_batch = request.max_batch or 500
        if not 1 <= max_batch <= MAX_BATCH:
            raise InvalidArgument(f"max_batch must be between 1 and {MAX_BATCH}")
        async with contextlib.aclosing(
            self.d.store.tail(stream.name, checked, start, max_batch)
        ) as tail:
            last_send = 0.0
            async for batch in tail:
                if stream.name == "memory" and self.d.memory is not None:
                    batch = await self.d.memory.mask_forgotten(batch)
                yield streams_pb2.TailResponse(rows=[row_pb(r) for r in batch])
                now = time.monotonic()
                if len(batch) < max_batch and now - last_send < FAST_TAIL_S:
                    # Rows are arriving fast: let a few milliseconds of them gather so
                    # each gRPC message carries a batch rather than a row.
                    await asyncio.sleep(GATHER_S)
                last_send = now

    @unary
    async def Query(
        self, request: streams_pb2.QueryRequest, context: Context
    ) -> streams_pb2.QueryResponse:
        stream = schema.stream(request.stream)
        order = request.order or "desc"
        if order not in ("asc", "desc"):
            raise InvalidArgument(f"order must be asc or desc, not {order!r}")
        limit = request.limit or 100
        if not 1 <= limit <= 10000:
            raise InvalidArgument("limit must be between 1 and 10000")
        rows = await self.d.store.query(
            stream.name,
            filters(stream, request.filters),
            since=ms_to_iso(request.since_ms),
            until=ms_to_iso(request.until_ms),
            order=order,
            limit=limit,
        )
        if stream.name == "memory" and self.d.memory is not None:
            rows = await self.d.memory.mask_forgotten(rows)
        return streams_pb2.QueryResponse(rows=[row_pb(r) for r in rows])
