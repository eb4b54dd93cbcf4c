"""`make run`: start pulsed (unless one already serves) and open the console, pulsetui.

The daemon this script starts is stopped (SIGTERM, graceful) when the console exits; a daemon
that was already running (e.g. the systemd user service) is left alone. The daemon's log
goes to <data dir>/pulsed.log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pulse import paths


def serving(sock: str, timeout: float = 0.5) -> bool:
    with grpc.insecure_channel(f"unix:{sock}") as ch:
        try:
            r = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout
            )
        except grpc.RpcError:
            return False
    return r.status == health_pb2.HealthCheckResponse.SERVING


KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "OLLAMA_HOST")


def first_run_hint() -> None:
    """Without a config file and without a provider key, say how to get one."""
    if paths.config_path().exists() or any(os.environ.get(k) for k in KEY_VARIABLES):
        return
    print(
        "no config file and no provider key: the console works, but turns will say what "
        "is missing.\n  set one up with: .venv/bin/pulsectl init   (or export "
        "ANTHROPIC_API_KEY=...)",
        file=sys.stderr,
    )


def main() -> int:
    first_run_hint()
    sock = str(paths.client_socket_path())
    daemon = None
    if not serving(sock):
        data = paths.client_data_dir()
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = data / "pulsed.log"
        with open(log_path, "ab") as log:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "pulsed", "--socket", sock],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 15
        while not serving(sock):
            if daemon.poll() is not None or time.monotonic() > deadline:
                print(f"pulsed did not start; see {log_path}:", file=sys.stderr)
                print(log_path.read_text(errors="replace")[-2000:], file=sys.stderr)
                return 1
            time.sleep(0.05)
        print(f"pulsed started (pid {daemon.pid}); log: {log_path}", file=sys.stderr)
    try:
        console = subprocess.run([sys.executable, "-m", "pulsetui", "--socket", sock, "--no-start"])
        return console.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
            print("pulsed stopped", file=sys.stderr)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
