"""Memory's figures: keyword recall over 100k memories, hybrid recall with 384-dim
vectors, the turn overhead recall adds, and recall@5 on a written corpus
(tests/bench/memory_corpus.py) for keyword and hybrid ranking.

The hybrid figure compares vectors exactly (one numpy matrix product), after a first
search that loads them.
Vectors come from the loopback LLM's embedding function (``embed_text``: a hashed bag
of words), so "hybrid" here shows the fusion's mechanics, not what a real embedding
model adds for paraphrases.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from pulsed.config.memory import MemoryConfig
from pulsed.memory.prompt import MemoryPrompt
from pulsed.memory.service import MemoryService
from pulsed.store import rows
from pulsed.store.local import LocalStore
from pulsed.tools.base import ToolContext
from tests.bench.common import Figure, median
from tests.bench.memory_corpus import FACTS, QUERIES, distractors
from tests.fakes.llm import embed_text

BIG = 100_000
HYBRID_N = 100_000
DIM = 384
QUERY_RUNS = 41
HYBRID_RUNS = 5
BATCH = 2000
CORPUS_DISTRACTORS = 300


class BagOfWords:
    """An in-process ``Embedder`` with the loopback LLM's vectors."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    async def embed(self, texts: Sequence[str], session_id: str = "") -> list[list[float]]:
        return [embed_text(t, self.dim) for t in texts]


def _vocabulary(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randrange(4, 9))) for _ in range(n)]


async def _fill(store: LocalStore, n: int, rng: random.Random, dim: int = 0) -> list[str]:
    """``n`` memories of 6-14 words from a 20k-word vocabulary (with ``dim``: a random
    unit vector each, rounded to 4 digits); returns the vocabulary."""
    vocab = _vocabulary(rng, 20_000)
    for start in range(0, n, BATCH):
        batch = []
        for i in range(start, min(n, start + BATCH)):
            words = " ".join(rng.choice(vocab) for _ in range(rng.randrange(6, 15)))
            vec: list[float] = []
            if dim:
                raw = [rng.gauss(0, 1) for _ in range(dim)]
                norm = sum(x * x for x in raw) ** 0.5
                vec = [round(x / norm, 4) for x in raw]
            batch.append(rows.memory_version(id=f"m{i}", content=words, embedding=vec))
        await store.append("memory", batch)
    return vocab


async def _time(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times)


async def keyword_figures(tmp: Path) -> list[Figure]:
    rng = random.Random(1)
    store = LocalStore(tmp / "big")
    await store.open()
    try:
        vocab = await _fill(store, BIG, rng)
        svc = MemoryService(store, MemoryConfig())
        queries = iter(
            [f"what about {rng.choice(vocab)} and {rng.choice(vocab)}?" for _ in range(QUERY_RUNS)]
        )

        async def one() -> None:
            await svc.search(next(queries), 5)

        p50 = await _time(one, QUERY_RUNS)
        source = MemoryPrompt(svc)
        ctx = ToolContext(turn_id="t", session_id="s")
        turns = iter([f"tell me about {rng.choice(vocab)} please" for _ in range(QUERY_RUNS)])

        async def turn() -> None:
            await source.prompt_parts(ctx, next(turns))

        overhead = await _time(turn, QUERY_RUNS)
        unrelated = await _time(lambda: source.prompt_parts(ctx, "how do I boil an egg?"), 21)
    finally:
        await store.close()
    return [
        Figure(
            "memory keyword recall p50 (100k memories)",
            p50,
            "ms",
            20,
            detail="FTS5 BM25 + importance/recency, k=5",
        ),
        Figure(
            "memory recall turn overhead p50 (100k, keyword)",
            overhead,
            "ms",
            5,
            detail=f"a question sharing no word with any memory: {unrelated:.2f} ms",
        ),
    ]


async def hybrid_figure(tmp: Path) -> Figure:
    rng = random.Random(2)
    store = LocalStore(tmp / "vec")
    await store.open()
    try:
        vocab = await _fill(store, HYBRID_N, rng, DIM)
        svc = MemoryService(store, MemoryConfig(), BagOfWords(DIM))
        await svc.search("warm up", 5)  # the first vector search loads the vectors
        queries = iter([f"{rng.choice(vocab)} {rng.choice(vocab)}" for _ in range(HYBRID_RUNS)])

        async def one() -> None:
            await svc.search(next(queries), 5)

        p50 = await _time(one, HYBRID_RUNS)
    finally:
        await store.close()
    return Figure(
        f"memory hybrid recall p50 ({HYBRID_N // 1000}k, {DIM}-dim)",
        p50,
        "ms",
        50,
        detail="exact cosine as a numpy matrix product over vectors held in memory "
        "(sqlite-vec cannot load in this interpreter's sqlite3)",
    )


async def recall_at_5(tmp: Path, hybrid: bool) -> Figure:
    store = LocalStore(tmp / ("corpus-h" if hybrid else "corpus-k"))
    await store.open()
    embedder = BagOfWords(256) if hybrid else None
    try:
        svc = MemoryService(store, MemoryConfig(), embedder)
        texts = FACTS + distractors(CORPUS_DISTRACTORS)
        values = []
        for i, text in enumerate(texts):
            vec = embed_text(text, 256) if hybrid else []
            values.append(rows.memory_version(id=f"c{i}", content=text, embedding=vec))
        await store.append("memory", values)
        total = 0.0
        for question, expected in QUERIES:
            got = [h.memory.id for h in await svc.search(question, 5)]
            want = {f"c{i}" for i in expected}
            total += len(want.intersection(got)) / len(want)
        score = total / len(QUERIES)
    finally:
        await store.close()
    kind = "hybrid" if hybrid else "keyword"
    return Figure(
        f"memory recall@5 {kind} ({len(QUERIES)} queries, {len(FACTS) + CORPUS_DISTRACTORS})",
        score,
        "ratio",
        0.9 if hybrid else 0.7,
        better="higher",
    )


async def run() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-memory-") as tmp:
        figures = [await recall_at_5(Path(tmp), False), await recall_at_5(Path(tmp), True)]
        figures += await keyword_figures(Path(tmp))
        figures.append(await hybrid_figure(Path(tmp)))
    return figures
