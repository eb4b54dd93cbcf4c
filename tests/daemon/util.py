"""Helpers for tests that talk to a real daemon."""

from __future__ import annotations

import json
import time
from typing import Any

from pulse.v1 import chat_pb2, common_pb2, streams_pb2

from tests.harness import Daemon


def send(
    d: Daemon, text: str, session: str = "", interactive: bool = False, timeout: float = 30
) -> list[chat_pb2.TurnEvent]:
    """Send a message and collect the turn's events up to the final or error one."""
    return list(
        d.chat().Send(
            chat_pb2.SendRequest(session_id=session, text=text, interactive=interactive),
            timeout=timeout,
        )
    )


def kinds(events: list[chat_pb2.TurnEvent]) -> list[str]:
    return [e.WhichOneof("event") for e in events]


def deltas(events: list[chat_pb2.TurnEvent]) -> str:
    return "".join(e.delta.text for e in events if e.WhichOneof("event") == "delta")


def rows(
    d: Daemon, stream: str, order: str = "asc", limit: int = 1000, **where: Any
) -> list[dict[str, Any]]:
    """Rows of ``stream`` (values plus ``_seq``) matching column=value filters."""
    req = streams_pb2.QueryRequest(
        stream=stream,
        order=order,
        limit=limit,
        filters=[common_pb2.Filter(column=k, op="eq", value=str(v)) for k, v in where.items()],
    )
    out = []
    for r in d.streams().Query(req, timeout=10).rows:
        values = json.loads(r.json)
        values["_seq"] = r.seq
        out.append(values)
    return out


def wait_for(predicate, timeout: float = 15.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
