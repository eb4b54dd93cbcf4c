"""Stream trigger benchmarks on the real daemon: append -> run start latency, and a
sustained 1,000 ingested rows/s with a filter matching 1% (does the trigger keep up?).

Times come from the rows themselves (the ingest row's and the run's input row's
timestamps, both the daemon's clock, millisecond precision), with a zero-latency
loopback LLM.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from pulse.v1 import common_pb2, ingest_pb2, ingest_pb2_grpc, streams_pb2

from tests.bench.common import Figure, median, percentile
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon, fake_llm_config

LATENCY_SAMPLES = 30
RATE = 1000
"""Rows per second ingested in the sustained run."""
SECONDS = 10
TICK_S = 0.05
"""One Append every tick: RATE * TICK_S rows, every 100th matching."""


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def query(d: Daemon, stream: str, **where: str) -> list[dict[str, Any]]:
    req = streams_pb2.QueryRequest(
        stream=stream,
        order="asc",
        limit=10_000,
        filters=[common_pb2.Filter(column=k, op="eq", value=v) for k, v in where.items()],
    )
    out = []
    for r in d.streams().Query(req, timeout=30).rows:
        values = json.loads(r.json)
        values["_seq"] = r.seq
        out.append(values)
    return out


def runs(d: Daemon, task: str) -> list[dict[str, Any]]:
    return query(d, "messages", session_id=f"task:{task}", message_type="trigger")


def wait(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("the benchmark's condition did not come true")


def add_trigger(d: Daemon, name: str, kind: str) -> None:
    out = d.pulsectl(
        "tasks", "add", name, "--on", "ingest", "--where", f"kind={kind}", "--prompt", "react"
    )
    if out.returncode:
        raise RuntimeError(out.stderr)


def append(stub: Any, items: list[tuple[str, dict[str, Any]]]) -> None:
    stub.Append(
        ingest_pb2.IngestAppendRequest(
            rows=[
                ingest_pb2.IngestRow(source="bench", kind=k, payload_json=json.dumps(p))
                for k, p in items
            ]
        ),
        timeout=30,
    )


def latency(d: Daemon) -> Figure:
    add_trigger(d, "lat", "ping")
    stub = ingest_pb2_grpc.IngestStub(d.channel())
    for i in range(LATENCY_SAMPLES):
        append(stub, [("ping", {"i": i})])
        wait(lambda i=i: len(runs(d, "lat")) > i, 10)
        wait(lambda: not d.tasks_running("lat"), 10)
    pings = {r["_seq"]: ts(r["timestamp"]) for r in query(d, "ingest", kind="ping")}
    lat = [(ts(r["timestamp"]) - pings[r["content"]["seqs"][0]]) * 1000 for r in runs(d, "lat")]
    return Figure(
        "trigger append -> run start, p50",
        median(lat),
        "ms",
        50,
        detail=f"{LATENCY_SAMPLES} single rows one after another, p90 {percentile(lat, 90):.1f} ms",
    )


def sustained(d: Daemon) -> list[Figure]:
    add_trigger(d, "busy", "hit")
    stub = ingest_pb2_grpc.IngestStub(d.channel())
    per_tick = int(RATE * TICK_S)
    n = 0
    t0 = time.monotonic()
    for tick in range(int(SECONDS / TICK_S)):
        items = []
        for _ in range(per_tick):
            items.append(("hit" if n % 100 == 0 else "noise", {"n": n}))
            n += 1
        append(stub, items)
        delay = t0 + (tick + 1) * TICK_S - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    sent_s = time.monotonic() - t0
    hits = {r["_seq"]: ts(r["timestamp"]) for r in query(d, "ingest", kind="hit")}
    done_at = time.monotonic()
    try:
        wait(lambda: sum(r["content"]["rows"] for r in runs(d, "busy")) >= len(hits), 60)
    except TimeoutError:
        carried = sum(r["content"]["rows"] for r in runs(d, "busy"))
        raise TimeoutError(f"{carried} of {len(hits)} matching rows carried after 60 s") from None
    drain_s = time.monotonic() - done_at
    lags = []
    for r in runs(d, "busy"):
        start = ts(r["timestamp"])
        lags += [(start - hits[s]) * 1000 for s in r["content"]["seqs"] if s in hits]
    return [
        Figure(
            "trigger at 1000 rows/s, 1% matching: lag p50",
            median(lags),
            "ms",
            1000,
            detail=f"{n} rows in {sent_s:.1f} s, {len(hits)} matching, "
            f"{len(runs(d, 'busy'))} runs, lag p99 {percentile(lags, 99):.0f} ms, "
            f"last row carried {drain_s * 1000:.0f} ms after the last append",
        ),
        Figure(
            "trigger at 1000 rows/s: ingest rate achieved",
            n / sent_s,
            "rows/s",
            RATE * 0.95,
            better="higher",
        ),
    ]


def run() -> list[Figure]:
    with FakeLLM() as fake:
        # No daily cap: a thousand runs of the fake model would exhaust the default one.
        d = Daemon(fake_llm_config(fake.url, extra="[budget]\ndaily_usd = 0\n"))
        try:
            d.start()
            d.tasks_running = lambda name: any(  # type: ignore[attr-defined]
                t.running for t in d.tasks().List(_list(), timeout=10).tasks if t.name == name
            )
            return [latency(d), *sustained(d)]
        finally:
            d.stop()
            d.cleanup()


def _list() -> Any:
    from pulse.v1 import tasks_pb2

    return tasks_pb2.ListTasksRequest()
