"""Ingest: rows from outside appended to the ingest stream (``pulsed.ingest.appender``)."""

from __future__ import annotations

import json

from pulse.v1 import ingest_pb2, ingest_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import InvalidArgument
from pulsed.ingest.appender import IngestItem

MAX_PAYLOAD_CHARS = 1024 * 1024
"""Longest payload_json of one row."""


def item_pb(row: ingest_pb2.IngestRow, index: int) -> IngestItem:
    """A request row as an IngestItem, its payload parsed.

    Raises:
        InvalidArgument: the payload is too long or not JSON (the message names the row).
    """
    text = row.payload_json
    if len(text) > MAX_PAYLOAD_CHARS:
        raise InvalidArgument(
            f"row {index}: payload_json is {len(text)} characters; the limit is {MAX_PAYLOAD_CHARS}"
        )
    try:
        payload = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise InvalidArgument(f"row {index}: payload_json is not JSON: {e}") from None
    return IngestItem(
        source=row.source,
        payload=payload,
        kind=row.kind,
        dedupe_key=row.dedupe_key,
        tags=tuple(row.tags),
    )


class IngestServicer(ingest_pb2_grpc.IngestServicer):
    """The Ingest service over the daemon's Ingestor."""

    def __init__(self, deps: ApiDeps) -> None:
        self.ingestor = deps.ingestor

    @unary
    async def Append(
        self, request: ingest_pb2.IngestAppendRequest, context: Context
    ) -> ingest_pb2.IngestAppendResponse:
        items = [item_pb(r, i) for i, r in enumerate(request.rows)]
        result = await self.ingestor.append(items)
        return ingest_pb2.IngestAppendResponse(
            appended=len(result.stored), duplicates=result.duplicates, seqs=result.seqs
        )
