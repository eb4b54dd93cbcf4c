"""Run the real daemon for tests: a ``pulsed`` subprocess on a temporary Unix socket with a
temporary data dir and workspace, its LLM pointed at a loopback fake.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse.v1 import (
    chat_pb2_grpc,
    costs_pb2_grpc,
    streams_pb2_grpc,
    system_pb2_grpc,
    tasks_pb2_grpc,
)

ROOT = Path(__file__).resolve().parent.parent


def fake_llm_config(base_url: str, provider: str = "openai-compatible", extra: str = "") -> str:
    """Config text pointing the agent at a fake LLM (OpenAI wire format by default)."""
    key = "openai-compatible" if provider == "openai-compatible" else provider
    return f"""
[agent]
provider = "{provider}"
model = "fake-model"

[providers.{key}]
base_url = "{base_url}"
api_key = "test-key"
max_retries = 1
timeout_s = 10
{extra}
"""


@contextlib.contextmanager
def running(daemon: Daemon) -> Iterator[Daemon]:
    """``daemon`` started for the block, then stopped and its files removed, also when
    the block (or the stop) raises: the body of most daemon fixtures."""
    try:
        daemon.start()
        yield daemon
    finally:
        try:
            daemon.stop()
        finally:
            daemon.cleanup()


class Daemon:
    """A pulsed process. ``start()`` waits until it serves; ``channel()`` dials it."""

    def __init__(
        self, config_text: str = "", env: dict[str, str] | None = None, root: Path | None = None
    ) -> None:
        # Unix socket paths must stay short, so the socket lives under a short /tmp dir.
        self.root = root or Path(tempfile.mkdtemp(prefix="pulse-"))
        self.socket = self.root / "s" / "pulsed.sock"
        self.data_dir = self.root / "data"
        self.workspace = self.root / "ws"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.config_path = self.root / "config.toml"
        self.log_path = self.root / "pulsed.log"
        self.write_config(config_text)
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None

    def write_config(self, text: str) -> None:
        # Memory's automatic capture (an extra LLM call after chat turns) is off unless a
        # test configures [memory] itself, so scripted replies meet the calls they expect.
        if "[memory]" not in text:
            text += "\n[memory]\nauto = false\n"
        self.config_path.write_text(
            text + f'\n[tools]\nworkspace = "{self.workspace}"\n' if "[tools]" not in text else text
        )

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PULSE_", "ANTHROPIC_", "OPENAI_", "OPENROUTER_", "OLLAMA_"))
        }
        env.update(
            PULSE_CONFIG=str(self.config_path),
            PULSE_DATA_DIR=str(self.data_dir),
            PULSE_SOCKET=str(self.socket),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 15.0) -> Daemon:
        """Start pulsed and wait until its health service answers SERVING.

        Raises:
            RuntimeError: it exited or did not serve in time (with its log).
        """
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pulsed", "--log-level", "debug"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pulsed exited with {self.proc.returncode}:\n{self.log()}")
            if self.socket.exists():
                try:
                    stub = health_pb2_grpc.HealthStub(self.channel())
                    resp = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if resp.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
            time.sleep(0.02)
        raise RuntimeError(f"pulsed did not serve within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = grpc.insecure_channel(f"unix:{self.socket}")
        return self._channel

    def chat(self) -> chat_pb2_grpc.ChatStub:
        return chat_pb2_grpc.ChatStub(self.channel())

    def streams(self) -> streams_pb2_grpc.StreamsStub:
        return streams_pb2_grpc.StreamsStub(self.channel())

    def tasks(self) -> tasks_pb2_grpc.TasksStub:
        return tasks_pb2_grpc.TasksStub(self.channel())

    def costs(self) -> costs_pb2_grpc.CostsStub:
        return costs_pb2_grpc.CostsStub(self.channel())

    def system(self) -> system_pb2_grpc.SystemStub:
        return system_pb2_grpc.SystemStub(self.channel())

    def _close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal pulsed and wait for it; returns its exit code."""
        self._close_channel()
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(
                    f"pulsed did not stop within {timeout} s:\n{self.log()}"
                ) from None
        return self.proc.returncode

    def kill9(self) -> None:
        """SIGKILL: no cleanup at all, like a crash or power cut of the process."""
        self._close_channel()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self) -> None:
        self.kill9()
        shutil.rmtree(self.root, ignore_errors=True)

    def pulsectl(
        self, *args: str, input: str | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``pulsectl ARGS`` against this daemon (no auto-start)."""
        return subprocess.run(
            [sys.executable, "-m", "pulsectl", "--no-start", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
