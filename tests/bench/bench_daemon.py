"""Daemon benchmarks: cold start, idle memory, one-shot `pulsectl chat`, turn overhead,
append-to-client tail latency over gRPC.

Every figure is a median (or a percentile) over several runs against the real daemon
on a temporary socket, with a zero-latency loopback LLM.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from pulse.v1 import chat_pb2, streams_pb2

from tests.bench.common import Figure, median, percentile
from tests.fakes.llm import FakeLLM
from tests.harness import ROOT, Daemon, fake_llm_config


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start_and_rss(fake: FakeLLM) -> list[Figure]:
    starts, rss, rss_used = [], [], []
    for _ in range(5):
        d = Daemon(fake_llm_config(fake.url))
        try:
            t0 = time.perf_counter()
            d.start()
            starts.append((time.perf_counter() - t0) * 1000)
            time.sleep(3)  # idle: nobody has called it yet
            assert d.proc is not None
            rss.append(rss_mib(d.proc.pid))
            list(d.chat().Send(chat_pb2.SendRequest(text="hello"), timeout=30))
            time.sleep(3)  # idle again, with the provider SDK loaded
            rss_used.append(rss_mib(d.proc.pid))
        finally:
            d.stop()
            d.cleanup()
    return [
        Figure("daemon cold start to serving (median of 5)", median(starts), "ms", 1000),
        Figure("daemon idle RSS, before any client (median of 5)", median(rss), "MiB", 80),
        Figure(
            "daemon idle RSS after one chat turn (median of 5)",
            median(rss_used),
            "MiB",
            120,
            detail="the provider SDK (openai here) is loaded at the first call: ~30 MiB",
        ),
    ]


def pulsectl_chat(fake: FakeLLM) -> list[Figure]:
    d = Daemon(fake_llm_config(fake.url))
    try:
        d.start()
        exe = str(Path(sys.executable).with_name("pulsectl"))
        cmd = [exe] if Path(exe).exists() else [sys.executable, "-m", "pulsectl"]
        subprocess.run(
            [*cmd, "--no-start", "chat", "warm up"],
            env=d.env,
            capture_output=True,
            cwd=ROOT,
            check=True,
        )
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            out = subprocess.run(
                [*cmd, "--no-start", "chat", "hello"],
                env=d.env,
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            times.append((time.perf_counter() - t0) * 1000)
            assert out.returncode == 0 and "echo: hello" in out.stdout, out.stderr
        return [Figure("pulsectl chat 'hello' wall time (median of 15)", median(times), "ms", 250)]
    finally:
        d.stop()
        d.cleanup()


def tail_latency() -> list[Figure]:
    """Rows appended by Send (no provider: input + error rows) reach a gRPC tail."""
    d = Daemon("")
    try:
        d.start()
        got: list[float] = []
        stop = threading.Event()
        ready = threading.Event()

        def tail() -> None:
            call = d.streams().Tail(
                streams_pb2.TailRequest(stream="messages", latest=True), timeout=120
            )
            ready.set()
            for resp in call:
                now = time.time()
                for r in resp.rows:
                    ts = r.json.split('"timestamp":"', 1)[1][:24]
                    got.append(
                        (now - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()) * 1000
                    )
                if stop.is_set():
                    call.cancel()
                    return

        t = threading.Thread(target=tail, daemon=True)
        t.start()
        ready.wait(5)
        time.sleep(0.3)
        for i in range(300):
            list(d.chat().Send(chat_pb2.SendRequest(session_id="bench", text=f"m{i}"), timeout=10))
        time.sleep(0.3)
        stop.set()
        list(d.chat().Send(chat_pb2.SendRequest(session_id="bench", text="last"), timeout=10))
        t.join(5)
        return [
            Figure(
                "tail latency append -> gRPC client, p99 (600 rows)",
                percentile(got, 99),
                "ms",
                20,
                detail=f"p50 {percentile(got, 50):.2f} ms, timestamps have 1 ms resolution",
            )
        ]
    finally:
        d.stop()
        d.cleanup()


async def turn_overhead() -> list[Figure]:
    """Turn.run() time minus the provider's time, in process, with an instant provider."""
    from pulsed.agent.approvals import ApprovalBroker
    from pulsed.agent.budget import Budget
    from pulsed.agent.loop import AgentDeps, Turn
    from pulsed.agent.turn_context import TurnContext
    from pulsed.config import Config
    from pulsed.providers.base import LLMProvider, LLMRequest, LLMResponse, Usage
    from pulsed.providers.pool import ProviderPool
    from pulsed.store.local import LocalStore
    from pulsed.tools.builtin import builtin_tools

    class Instant(LLMProvider):
        name, model = "openai-compatible", "bench"
        spent = 0.0

        async def stream(self, request: LLMRequest, on_delta) -> LLMResponse:  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            await on_delta("hi")
            r = LLMResponse("hi", [], Usage(10, 2), "bench")
            Instant.spent += time.perf_counter() - t0
            return r

    class Pool(ProviderPool):
        def problem(self) -> str:
            return ""

        def chain(self, model: str = "") -> list[tuple[str, str]]:
            return [("openai-compatible", "bench")]

        async def get(self, name: str, model: str) -> LLMProvider:
            return Instant()

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config()
        cfg.tools.workspace = str(Path(tmp) / "ws")
        store = LocalStore(Path(tmp) / "data")
        await store.open()
        deps = AgentDeps(
            cfg, store, builtin_tools(cfg), Pool(cfg), Budget(store, 5.0), ApprovalBroker()
        )
        samples = []
        for i in range(300):
            row = (
                await store.append(
                    "messages",
                    [
                        {
                            "source": "cli",
                            "session_id": f"s{i % 10}",
                            "message_type": "user_input",
                            "content": {"text": "hello"},
                        }
                    ],
                    durable=True,
                )
            )[0]
            Instant.spent = 0.0
            t0 = time.perf_counter()
            await Turn(deps, TurnContext(row, False, lambda ev: None)).run()
            samples.append((time.perf_counter() - t0 - Instant.spent) * 1000)
        await store.close()
    return [
        Figure(
            "turn overhead in the daemon excluding the LLM, p50",
            percentile(samples[50:], 50),
            "ms",
            5,
            detail=f"p99 {percentile(samples[50:], 99):.2f} ms over 250 turns",
        )
    ]


def prompt_cache_share() -> list[Figure]:
    """A 10-turn session against a loopback Anthropic endpoint that emulates prefix
    caching: the share of prompt tokens read from the cache (the stable system prompt and
    the byte-identical history make the prefix)."""
    with FakeLLM(prefix_cache=True) as fake:
        cfg = fake_llm_config(fake.anthropic_url, provider="anthropic")
        d = Daemon(cfg)
        try:
            d.start()
            sid = "s-cache"
            for i in range(10):
                list(
                    d.chat().Send(
                        chat_pb2.SendRequest(
                            session_id=sid, text=f"question {i}: what should I do next?"
                        ),
                        timeout=30,
                    )
                )
            req = streams_pb2.QueryRequest(stream="llm_logs", order="asc", limit=100)
            logs = [json.loads(r.json) for r in d.streams().Query(req, timeout=10).rows]
        finally:
            d.stop()
            d.cleanup()
    read = sum(r["cache_read_tokens"] for r in logs)
    fresh = sum(r["input_tokens"] for r in logs)
    share = 100 * read / max(1, read + fresh)
    return [
        Figure(
            "cache-read share of input tokens, 10-turn session",
            share,
            "%",
            80,
            better="higher",
            detail=f"{read} cached of {read + fresh} prompt tokens over {len(logs)} calls",
        )
    ]


def run() -> list[Figure]:
    figures: list[Figure] = []
    with FakeLLM() as fake:
        figures += cold_start_and_rss(fake)
        figures += pulsectl_chat(fake)
    figures += tail_latency()
    figures += asyncio.run(turn_overhead())
    figures += prompt_cache_share()
    return figures
