"""The daemon as a process: socket, locks, health, reflection, status, signals."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pulse.v1 import streams_pb2, system_pb2

from tests.harness import ROOT, Daemon


def test_socket_is_private(daemon: Daemon) -> None:
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(daemon.socket.parent).st_mode) == 0o700


def test_status(daemon: Daemon) -> None:
    st = daemon.system().Status(system_pb2.StatusRequest(), timeout=5)
    assert st.pid == daemon.proc.pid
    assert st.store_backend == "local"
    assert st.store_health == "ok"
    assert st.schema_version >= 1
    assert st.provider == "openai-compatible" and st.model == "fake-model"
    assert st.provider_problem == ""
    assert st.socket == str(daemon.socket)


def test_reflection_lists_services(daemon: Daemon) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(daemon.channel())
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {
        "pulse.v1.Chat",
        "pulse.v1.Streams",
        "pulse.v1.Tasks",
        "pulse.v1.Costs",
        "pulse.v1.System",
        "grpc.health.v1.Health",
    } <= names


def test_second_daemon_refused_and_first_keeps_serving(daemon: Daemon) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pulsed"],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=20,
        cwd=ROOT,
    )
    assert proc.returncode == 3
    assert f"already serving {daemon.socket}" in proc.stderr
    assert str(daemon.proc.pid) in proc.stderr
    assert daemon.system().Status(system_pb2.StatusRequest(), timeout=5).pid == daemon.proc.pid


def test_sigterm_stops_cleanly_and_removes_socket(daemon: Daemon) -> None:
    assert daemon.stop(signal.SIGTERM) == 0
    assert not daemon.socket.exists()
    assert "stopped" in daemon.log()


def test_stale_socket_after_kill9_is_replaced(daemon: Daemon) -> None:
    daemon.kill9()
    assert daemon.socket.exists()  # left behind by the crash
    daemon.start()
    assert daemon.system().Status(system_pb2.StatusRequest(), timeout=5).pid == daemon.proc.pid


def test_bad_config_names_key_and_exits_2(tmp_path) -> None:
    d = Daemon('[agent]\nmax_iterations = "ten"\n')
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pulsed"],
            env=d.env,
            capture_output=True,
            text=True,
            timeout=20,
            cwd=ROOT,
        )
        assert proc.returncode == 2
        assert 'agent.max_iterations: expected an integer, got "ten"' in proc.stderr
    finally:
        d.cleanup()


def test_lifecycle_events_recorded(daemon: Daemon) -> None:
    resp = daemon.streams().Query(streams_pb2.QueryRequest(stream="events", order="asc"), timeout=5)
    assert any('"event_type":"daemon_started"' in r.json for r in resp.rows)


def test_unknown_method_is_unimplemented(daemon: Daemon) -> None:
    call = daemon.channel().unary_unary("/pulse.v1.System/Nope")
    try:
        call(b"", timeout=5)
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.UNIMPLEMENTED
    else:
        raise AssertionError("expected UNIMPLEMENTED")
