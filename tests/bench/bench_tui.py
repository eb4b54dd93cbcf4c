"""Console benchmarks: launch to a ready Chat view, and the UI's responsiveness while the
Streams view tails about 1,000 rows a second.

- Launch: ``pulsetui`` runs in a pseudo-terminal (80x24) against a running daemon; the
  clock stops when the screen shows the Chat view connected ("● connected" and the message
  box). Median of 5 after one warm-up.
- Tail: a daemon without an LLM provider answers every Send with an error at once, so a
  load process sending 500 messages a second appends 1,000 rows a second to ``messages``.
  The console (headless, in this process) tails that stream in the Streams view while a
  probe presses keys (Home/End on the table) every 100 ms and times how long the table
  takes to move its cursor, and another measures how late the event loop wakes up.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

from tests.bench.common import Figure, median, percentile
from tests.fakes.llm import FakeLLM
from tests.harness import ROOT, Daemon, fake_llm_config

LAUNCH_RUNS = 5
LOAD_SENDS_PER_S = 500
"""Each Send appends two rows (the input and the error answering it)."""
LOAD_THREADS = 12
MEASURE_S = 6.0


# -- launch ------------------------------------------------------------------------------


def launch_once(daemon: Daemon, timeout: float = 15.0) -> float:
    """Milliseconds from spawning ``pulsetui`` until its Chat view is connected."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    exe = Path(sys.executable).with_name("pulsetui")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pulsetui"]
    env = dict(daemon.env, TERM="xterm-256color", COLORTERM="")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, "--no-start"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    ready_at = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([master], [], [], 0.05)
            if readable:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
            # The message box's placeholder (its first letter sits under the cursor).
            if b"connected" in seen and b"essage Pulse" in seen:
                ready_at = time.perf_counter()
                break
        if ready_at is None:
            raise RuntimeError(f"pulsetui never got ready; it wrote {seen[-500:]!r}")
        os.write(master, b"\x11")  # ctrl+q
        end = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):
                    os.read(master, 65536)
        if proc.poll() is None:
            proc.kill()
            raise RuntimeError("pulsetui did not quit on ctrl+q")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    return (ready_at - started) * 1000


def launch(fake: FakeLLM) -> list[Figure]:
    d = Daemon(fake_llm_config(fake.url))
    try:
        d.start()
        launch_once(d)  # warm-up: bytecode caches
        times = [launch_once(d) for _ in range(LAUNCH_RUNS)]
    finally:
        d.stop()
        d.cleanup()
    return [
        Figure(
            f"pulsetui launch to chat view ready (median of {LAUNCH_RUNS})",
            median(times),
            "ms",
            1000,
            detail=f"max {max(times):.0f} ms",
        )
    ]


# -- tailing under load ------------------------------------------------------------------


def _load(socket: str, sends_per_s: int, seconds: float) -> None:
    """In a separate process: send ``sends_per_s`` messages a second for ``seconds``."""
    import grpc
    from pulse.v1 import chat_pb2, chat_pb2_grpc

    channel = grpc.insecure_channel(f"unix:{socket}")
    stub = chat_pb2_grpc.ChatStub(channel)
    end = time.monotonic() + seconds
    per_thread = sends_per_s / LOAD_THREADS

    def worker(i: int) -> None:
        next_at = time.monotonic()
        while time.monotonic() < end:
            for _ in stub.Send(
                chat_pb2.SendRequest(session_id=f"load-{i}", text="load"), timeout=10
            ):
                pass
            next_at += 1 / per_thread
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(LOAD_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()


async def _tail_under_load(daemon: Daemon) -> list[Figure]:
    from textual import events

    from pulsetui.app import PulseApp
    from pulsetui.screens.streams import StreamsScreen
    from pulsetui.widgets.tail_table import TailTable

    app = PulseApp(daemon.socket, autostart=False, view="streams")
    key_ms: list[float] = []
    lag_ms: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 15
        while app.connection.state != "connected" and time.monotonic() < deadline:
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, StreamsScreen)
        table = screen.query_one(TailTable)
        await pilot.pause(0.5)  # the tail is open

        warmup = 1.5
        code = "import sys; from tests.bench.bench_tui import _load; " + (
            "_load(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))"
        )
        loader = subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                str(daemon.socket),
                str(LOAD_SENDS_PER_S),
                str(warmup + MEASURE_S + 0.5),
            ],
            cwd=ROOT,
        )
        await asyncio.sleep(warmup)

        stop = asyncio.Event()

        async def loop_lag() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                lag_ms.append((time.perf_counter() - t - 0.01) * 1000)

        lagger = asyncio.create_task(loop_lag())
        seq0 = await app.client.last_seq("messages")
        received0, t0, cpu0 = table.received, time.perf_counter(), time.process_time()
        messages0, rows0 = app.client.tail_messages, app.client.tail_rows
        end = time.monotonic() + MEASURE_S
        home = True
        while time.monotonic() < end:
            key = "home" if home else "end"
            t = time.perf_counter()
            app.post_message(events.Key(key, None))
            limit = time.monotonic() + 2
            while time.monotonic() < limit:
                if (table.cursor == 0) if home else table.following:
                    break
                await asyncio.sleep(0.001)
            key_ms.append((time.perf_counter() - t) * 1000)
            home = not home
            await asyncio.sleep(0.1)
        seq1 = await app.client.last_seq("messages")
        elapsed = time.perf_counter() - t0
        cpu_share = (time.process_time() - cpu0) / elapsed
        per_message = (app.client.tail_rows - rows0) / max(1, app.client.tail_messages - messages0)
        await asyncio.sleep(0.2)  # rows appended by the end have reached the table
        shown_per_s = (table.received - received0) / elapsed
        appended_per_s = (seq1 - seq0) / elapsed
        stop.set()
        await lagger
        loader.wait(30)
    return [
        Figure(
            "tail load: rows appended per second",
            appended_per_s,
            "rows/s",
            1000,
            better="higher",
            detail=f"{LOAD_SENDS_PER_S} Sends/s asked of a daemon without a provider",
        ),
        Figure(
            "streams view: rows received per second",
            shown_per_s,
            "rows/s",
            0.98 * appended_per_s,
            better="higher",
            detail=f"target: 98% of the rows appended; {per_message:.1f} rows per gRPC message; "
            f"console CPU {cpu_share:.0%} of a core",
        ),
        Figure(
            "streams view: key to cursor moved, p95, while tailing",
            percentile(key_ms, 95),
            "ms",
            100,
            detail=f"median {median(key_ms):.1f} ms over {len(key_ms)} keys",
        ),
        Figure(
            "streams view: event loop lag, p99, while tailing",
            percentile(lag_ms, 99),
            "ms",
            50,
            detail=f"median {median(lag_ms):.1f} ms",
        ),
    ]


def tail_under_load() -> list[Figure]:
    d = Daemon("")  # no provider: each Send is answered by an error row at once
    try:
        d.start()
        return asyncio.run(_tail_under_load(d))
    finally:
        d.stop()
        d.cleanup()


def run() -> list[Figure]:
    with FakeLLM() as fake:
        figures = launch(fake)
    return figures + tail_under_load()
