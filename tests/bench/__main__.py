"""Run every benchmark module (tests/bench/bench_*.py) and print its figures.

Each module defines ``async def run() -> list[Figure]`` or ``def run() -> list[Figure]``.
Usage: python -m tests.bench [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from pathlib import Path

from tests.bench.common import Figure


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    figures: list[Figure] = []
    for name in names:
        mod = importlib.import_module(f"tests.bench.{name}")
        print(f"# {name}", flush=True)
        result = mod.run()
        if inspect.isawaitable(result):
            result = asyncio.run(result)
        for fig in result:
            print(fig.line(), flush=True)
            figures.append(fig)
    missed = [f for f in figures if not f.ok]
    print(f"\n{len(figures)} figures, {len(missed)} missed target")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
