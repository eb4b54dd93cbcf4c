"""The local store's figures: append throughput, webhook-like ingest of 1-row calls, tail
latency, cost summary over 1M rows."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pulsed.ingest.appender import IngestItem, Ingestor
from pulsed.store import schema
from pulsed.store.base import COST_GROUPS, Row, TailStart, to_iso
from pulsed.store.local import LocalStore, schema_sql
from pulsed.store.local.codec import Codec
from tests.bench.common import Figure, median, percentile

BATCH = 1000
APPEND_RUNS = 7
BATCHES_PER_RUN = 20
TAIL_SAMPLES = 500
SUMMARY_ROWS = 1_000_000
SUMMARY_DAYS = 30
SUMMARY_RUNS = 5

MODELS = [
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
    ("gpt-4o-mini", "openai"),
    ("llama3.1:8b", "ollama"),
]
ORIGINS = ["chat"] * 6 + ["task"] * 2 + ["heartbeat", "memory", "system"]


def llm_row(rng: random.Random, i: int, ts: str) -> dict[str, Any]:
    """One llm_logs row like the agent writes: chat calls belong to ~20-minute sessions."""
    model, provider = MODELS[rng.randrange(len(MODELS))]
    origin = ORIGINS[rng.randrange(len(ORIGINS))]
    inp, out = rng.randrange(200, 20_000), rng.randrange(10, 2_000)
    return {
        "timestamp": ts,
        "session_id": f"s{i // 500}" if origin == "chat" else "",
        "turn_id": f"t{i // 4}",
        "model": model,
        "provider": provider,
        "origin": origin,
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": inp // 3,
        "cache_write_tokens": 0,
        "total_tokens": inp + out,
        "estimated_cost_usd": (inp * 3 + out * 15) / 1e6,
        "latency_ms": rng.randrange(300, 9_000),
        "time_to_first_token_ms": rng.randrange(100, 900),
        "system_prompt_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "user_message_preview": "What changed in the build since yesterday? " * 4,
        "assistant_response_preview": "Three commits landed: the store backend, " * 4,
        "tools_called": ["shell", "read_file"] if i % 3 == 0 else [],
        "tool_call_count": 2 if i % 3 == 0 else 0,
        "status": "success" if i % 50 else "error",
        "error_message": "" if i % 50 else "rate limited",
    }


def raw_table(path: Path) -> tuple[sqlite3.Connection, str]:
    """A bare SQLite file with a table shaped like the store's llm_logs (same columns,
    types, indexes and pragmas), and its one-row INSERT: the baseline the store's append
    is compared with."""
    s = schema.LLM_LOGS
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    cols = ", ".join(f'"{c.name}" {schema_sql.SQL_TYPES[c.type]}' for c in s.columns)
    conn.execute(f"CREATE TABLE llm_logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, {cols})")
    for col in ("timestamp", *s.indexes):
        conn.execute(f'CREATE INDEX "ix_{col}" ON llm_logs ("{col}")')
    names = ", ".join(f'"{n}"' for n in s.column_names)
    marks = ", ".join("?" for _ in s.column_names)
    return conn, f"INSERT INTO llm_logs ({names}) VALUES ({marks})"


def raw_params(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """``rows`` as the tuples SQLite stores, made as plain code would: a UUID4 id each,
    lists as JSON text."""
    out = []
    for r in rows:
        full = {**r, "id": str(uuid.uuid4())}
        out.append(
            tuple(
                json.dumps(full[n]) if isinstance(full[n], list) else full[n]
                for n in schema.LLM_LOGS.column_names
            )
        )
    return out


async def append_throughput(data_dir: Path) -> Figure:
    """The store's batched append next to plain ``sqlite3`` code appending the same rows
    to a bare table of the same shape (same columns, indexes and pragmas), one
    transaction per batch each, interleaved run by run so all see the same machine;
    medians of the runs.

    The target is the plain code that does what an append must: make each row's id
    and encode its JSON columns (``raw_params``), then ``executemany``. Reported beside
    it, with the tuples made beforehand (outside the timing): the same ``executemany``
    (SQLite's own rate for these rows here), and the store's own multi-row INSERTs
    (``Codec.chunks``; the most the store's SQLite part can do, with no Python work).
    """
    rng = random.Random(1)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = LocalStore(data_dir / "store")
    await store.open()
    conn, insert = raw_table(data_dir / "raw.db")
    bare, bare_insert = raw_table(data_dir / "raw-encoded.db")
    multi, _ = raw_table(data_dir / "raw-multirow.db")
    codec = Codec(schema.LLM_LOGS)
    max_vars = multi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    try:
        rates, raw_rates, sqlite_rates, multi_rates = [], [], [], []
        start = datetime(2026, 11, 1, tzinfo=UTC)
        for run in range(APPEND_RUNS):
            batches = [
                [
                    llm_row(rng, i, to_iso(start + timedelta(seconds=run * 10_000 + i)))
                    for i in range(b * BATCH, (b + 1) * BATCH)
                ]
                for b in range(BATCHES_PER_RUN)
            ]
            t0 = time.perf_counter()
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(insert, raw_params(batch))
                conn.execute("COMMIT")
            raw_rates.append(BATCH * BATCHES_PER_RUN / (time.perf_counter() - t0))
            params = [raw_params(b) for b in batches]
            t0 = time.perf_counter()
            for p in params:
                bare.execute("BEGIN IMMEDIATE")
                bare.executemany(bare_insert, p)
                bare.execute("COMMIT")
            sqlite_rates.append(BATCH * BATCHES_PER_RUN / (time.perf_counter() - t0))
            statements = [list(codec.chunks(p, max_vars)) for p in params]
            t0 = time.perf_counter()
            for chunks in statements:
                multi.execute("BEGIN IMMEDIATE")
                for sql, flat in chunks:
                    multi.execute(sql, flat)
                multi.execute("COMMIT")
            multi_rates.append(BATCH * BATCHES_PER_RUN / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for batch in batches:
                await store.append("llm_logs", batch)
            rates.append(BATCH * BATCHES_PER_RUN / (time.perf_counter() - t0))
    finally:
        conn.close()
        bare.close()
        multi.close()
        await store.close()
    rate, raw, only_sqlite = median(rates), median(raw_rates), median(sqlite_rates)
    only_multi = median(multi_rates)
    return Figure(
        "store append, llm_logs batches of 1000",
        rate,
        "rows/s",
        raw,
        better="higher",
        detail=(
            f"median of {APPEND_RUNS} runs of {BATCHES_PER_RUN} batches, min {min(rates):.0f} "
            f"max {max(rates):.0f}; target: plain sqlite3 code making ids and JSON, then "
            f"executemany into a table of the same shape, same runs; of tuples made "
            f"beforehand: executemany {only_sqlite:.0f} rows/s (store/that "
            f"{rate / only_sqlite:.2f}), the store's multi-row INSERTs {only_multi:.0f} rows/s"
        ),
    )


INGEST_CALLS = 2000
INGEST_IN_FLIGHT = 50
INGEST_RUNS = 5


async def ingest_single_rows(data_dir: Path) -> Figure:
    """Webhook-like ingest: calls of one row each (durable: fsynced before each call
    returns), ``INGEST_IN_FLIGHT`` at a time, through the Ingestor (dedupe keys, group
    commit) on the local store; medians of the runs, beside one call at a time."""
    store = LocalStore(data_dir)
    await store.open()
    try:
        rates: dict[int, list[float]] = {1: [], INGEST_IN_FLIGHT: []}
        per_group: list[float] = []
        for run in range(INGEST_RUNS):
            for in_flight in rates:
                ingestor = Ingestor(store)
                sem = asyncio.Semaphore(in_flight)
                calls = INGEST_CALLS if in_flight > 1 else INGEST_CALLS // 10

                async def one(
                    i: int,
                    ingestor: Ingestor = ingestor,
                    sem: asyncio.Semaphore = sem,
                    prefix: str = f"{run}-{in_flight}",
                ) -> None:
                    async with sem:
                        item = IngestItem(
                            "webhook:github",
                            {"action": "opened", "number": i, "title": "Fix the build " * 4},
                            kind="pull_request",
                            dedupe_key=f"{prefix}-{i}",
                        )
                        await ingestor.append([item])

                t0 = time.perf_counter()
                await asyncio.gather(*(one(i) for i in range(calls)))
                rates[in_flight].append(calls / (time.perf_counter() - t0))
                if in_flight > 1:
                    per_group.append(calls / ingestor.groups)
    finally:
        await store.close()
    return Figure(
        f"ingest of 1-row calls, {INGEST_IN_FLIGHT} in flight, durable each",
        median(rates[INGEST_IN_FLIGHT]),
        "rows/s",
        1000,
        better="higher",
        detail=(
            f"median of {INGEST_RUNS} runs of {INGEST_CALLS} calls; rows per fsync (group "
            f"commit) median {median(per_group):.1f}; one call at a time: median "
            f"{median(rates[1]):.0f} rows/s"
        ),
    )


async def tail_latency(data_dir: Path) -> Figure:
    store = LocalStore(data_dir)
    await store.open()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    got_any = asyncio.Event()

    async def consume() -> None:
        async for batch in store.tail("messages", start=TailStart.latest()):
            now = time.perf_counter()
            for r in batch:
                t0 = sent.get(r["id"])
                if t0 is not None:
                    latencies.append((now - t0) * 1000)
            got_any.set()

    consumer = asyncio.create_task(consume())
    try:
        while not got_any.is_set():  # wait until the tail is live
            await store.append("messages", [{"session_id": "warmup"}])
            await asyncio.sleep(0.01)
        for i in range(TAIL_SAMPLES):
            mid = f"lat-{i}"
            sent[mid] = time.perf_counter()
            await store.append(
                "messages",
                [{"id": mid, "session_id": "bench", "message_type": "user_input"}],
                durable=i % 10 == 0,
            )
            await asyncio.sleep(0.002)
        async with asyncio.timeout(10):
            while len(latencies) < TAIL_SAMPLES:
                await asyncio.sleep(0.01)
    finally:
        await store.close()
        await consumer
    return Figure(
        "store tail latency append -> consumer, p99",
        percentile(latencies, 99),
        "ms",
        20,
        detail=f"{TAIL_SAMPLES} single-row appends, p50 {percentile(latencies, 50):.2f} ms",
    )


async def cost_summary(data_dir: Path) -> Figure:
    rng = random.Random(2)
    store = LocalStore(data_dir)
    await store.open()
    try:
        start = datetime(2026, 10, 1, tzinfo=UTC)
        step = timedelta(days=SUMMARY_DAYS) / SUMMARY_ROWS
        t0 = time.perf_counter()
        last: list[Row] = []
        for b in range(0, SUMMARY_ROWS, 5 * BATCH):
            batch = [llm_row(rng, i, to_iso(start + step * i)) for i in range(b, b + 5 * BATCH)]
            last = await store.append("llm_logs", batch)
        build_s = time.perf_counter() - t0
        assert last[-1].seq == SUMMARY_ROWS
        total = await store.cost_summary()
        assert total.total.requests == SUMMARY_ROWS, total.total
        # Partial hours at both edges: rollup in the middle, raw rows at the ends.
        since = to_iso(start + timedelta(days=1, minutes=17, seconds=3))
        until = to_iso(start + timedelta(days=SUMMARY_DAYS - 1, hours=5, minutes=44))
        medians: dict[str, float] = {}
        for by in ("", *COST_GROUPS):
            times = []
            for _ in range(SUMMARY_RUNS):
                t0 = time.perf_counter()
                await store.cost_summary(since, until, by)
                times.append((time.perf_counter() - t0) * 1000)
            medians[by or "total"] = median(times)
    finally:
        await store.close()
    worst = max(medians, key=lambda k: medians[k])
    return Figure(
        "store cost_summary over 1M llm_logs rows",
        medians[worst],
        "ms",
        100,
        detail=(
            f"slowest grouping {worst}; medians "
            + ", ".join(f"{k} {v:.1f}" for k, v in medians.items())
            + f"; built in {build_s:.0f} s"
        ),
    )


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-") as tmp:
        root = Path(tmp)
        return [
            await append_throughput(root / "append"),
            await ingest_single_rows(root / "ingest"),
            await tail_latency(root / "tail"),
            await cost_summary(root / "cost"),
        ]
