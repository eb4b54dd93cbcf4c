"""Run every benchmark module (tests/bench/bench_*.py) and print its figures.

Each module defines ``async def run() -> list[Figure]`` or ``def run() -> list[Figure]``
and runs in a process of its own, so threads and memory one module leaves behind (gRPC
channels, loopback servers) do not weigh on the next one's figures.
Usage: python -m tests.bench [NAME_SUBSTRING ...]
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tests.bench.common import Figure

ROOT = Path(__file__).resolve().parents[2]


def run_one(name: str) -> int:
    """Run module ``name`` here; print its figures, then one JSON line of them."""
    mod = importlib.import_module(f"tests.bench.{name}")
    result = mod.run()
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    print("FIGURES " + json.dumps([asdict(f) for f in result]), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        return run_one(argv[1])
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    figures: list[Figure] = []
    failed = []
    for name in names:
        os.sync()  # the previous module's disk writeback should not land on this one
        time.sleep(1)
        print(f"# {name}", flush=True)
        proc = subprocess.run(
            [sys.executable, "-m", "tests.bench", "--one", name],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        found = [line for line in proc.stdout.splitlines() if line.startswith("FIGURES ")]
        if proc.returncode != 0 or not found:
            failed.append(name)
            print(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", flush=True)
            continue
        for raw in json.loads(found[-1][len("FIGURES ") :]):
            fig = Figure(**raw)
            print(fig.line(), flush=True)
            figures.append(fig)
    missed = [f for f in figures if not f.ok]
    print(f"\n{len(figures)} figures, {len(missed)} missed target, {len(failed)} modules failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
