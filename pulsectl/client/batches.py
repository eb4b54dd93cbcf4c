"""Tail responses regrouped for a UI: ``batched``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from pulse.v1 import streams_pb2

from pulsectl.client.rows import TailRow


async def batched(
    responses: AsyncIterator[streams_pb2.TailResponse],
    flush_s: float,
    on_response: Callable[[int], None] = lambda _rows: None,
) -> AsyncIterator[list[TailRow]]:
    """Decode tail responses and regroup them: a list at most every ``flush_s`` seconds
    while rows keep coming; the first rows after a quiet spell go out at once.

    ``on_response`` is told the number of rows of each response as it arrives. An error
    of ``responses`` is raised once the rows received before it are out.
    """
    pending: list[TailRow] = []
    done = asyncio.Event()
    ready = asyncio.Event()
    failure: list[BaseException] = []

    async def read() -> None:
        try:
            async for resp in responses:
                on_response(len(resp.rows))
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
        aclose: Any = getattr(responses, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
