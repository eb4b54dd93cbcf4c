"""HTTP API benchmarks: a plain completion's round trip and a streamed one's time to
its first content chunk, through the official openai SDK against the real daemon with a
zero-latency loopback LLM (so the figures are the API's and the turn's own overhead)."""

from __future__ import annotations

import time

import openai

from tests.bench.common import Figure, median
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon
from tests.http_api.conftest import TOKEN, api_config, listener

RUNS = 30


def run() -> list[Figure]:
    with FakeLLM() as fake:
        d = Daemon(api_config(fake.url))
        try:
            d.start()
            client = openai.OpenAI(
                base_url=listener(d).address + "/v1", api_key=TOKEN, max_retries=0
            )
            ask = [{"role": "user", "content": "hello"}]
            session = {"X-Pulse-Session": "bench"}
            client.chat.completions.create(model="pulse", messages=ask, extra_headers=session)
            plain, first = [], []
            for i in range(RUNS):
                headers = {"X-Pulse-Session": f"bench-{i}"}  # a short history each time
                t0 = time.perf_counter()
                client.chat.completions.create(model="pulse", messages=ask, extra_headers=headers)
                plain.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                stream = client.chat.completions.create(
                    model="pulse", messages=ask, stream=True, extra_headers=headers
                )
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        first.append((time.perf_counter() - t0) * 1000)
                        break
                stream.close()
        finally:
            d.stop()
            d.cleanup()
    return [
        Figure(f"HTTP API plain completion round trip (median of {RUNS})", median(plain), "ms", 50),
        Figure(
            f"HTTP API streamed: time to first content (median of {RUNS})",
            median(first),
            "ms",
            50,
        ),
    ]
