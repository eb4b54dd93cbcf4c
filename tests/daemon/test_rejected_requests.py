"""Issue 17 items 4 and 6 on the real daemon: a rejected large request is freed at once
(the daemon's memory does not grow with the number of refusals), and the status details
never echo a huge value back (which trips gRPC's metadata limit on the client)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from pulse.v1 import chat_pb2, common_pb2, costs_pb2, streams_pb2, system_pb2, tasks_pb2

from tests.harness import Daemon

BIG = 10 * 1024 * 1024
MIB = 1024 * 1024


def rss(pid: int) -> int:
    """Resident set size of ``pid`` in bytes, from /proc/<pid>/status (VmRSS, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_rejected_10mb_requests_are_freed(daemon: Daemon) -> None:
    assert daemon.proc is not None
    chat = daemon.chat()
    title = "t" * BIG
    # One warm-up call, so buffers grpc keeps for its largest message are counted in the
    # starting figure rather than as growth.
    for _ in range(3):
        with pytest.raises(grpc.RpcError):
            chat.RenameSession(
                chat_pb2.RenameSessionRequest(session_id="nope", title=title), timeout=30
            )
    before = rss(daemon.proc.pid)
    codes = set()
    for _ in range(100):
        with pytest.raises(grpc.RpcError) as ei:
            chat.RenameSession(
                chat_pb2.RenameSessionRequest(session_id="nope", title=title), timeout=30
            )
        codes.add(ei.value.code())
    after = rss(daemon.proc.pid)
    assert codes == {grpc.StatusCode.INVALID_ARGUMENT}
    grown = (after - before) / MIB
    assert grown < 100, f"daemon grew {grown:.0f} MiB over 100 rejected 10 MB requests"
    assert daemon.system().Status(system_pb2.StatusRequest(), timeout=5).pid == daemon.proc.pid


HUGE = "x" * (2 * MIB)
F = common_pb2.Filter


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.streams().Query(streams_pb2.QueryRequest(stream=HUGE), timeout=10),
        lambda d: d.streams().Query(
            streams_pb2.QueryRequest(stream="messages", filters=[F(column=HUGE, value="x")]),
            timeout=10,
        ),
        lambda d: list(d.streams().Tail(streams_pb2.TailRequest(stream=HUGE), timeout=10)),
        lambda d: d.tasks().Remove(tasks_pb2.RemoveTaskRequest(name=HUGE), timeout=10),
        lambda d: d.costs().Summary(costs_pb2.CostSummaryRequest(by=HUGE), timeout=10),
    ],
    ids=["stream", "filter-column", "tail-stream", "task-name", "costs-by"],
)
def test_errors_do_not_echo_huge_values(daemon: Daemon, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as ei:
        call(daemon)
    code, details = ei.value.code(), ei.value.details() or ""
    assert code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND), (
        code,
        details[:200],
    )
    assert 0 < len(details) <= 1200, len(details)
    assert "cut" in details
