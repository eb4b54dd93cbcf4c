"""`pulsectl sessions rm` on the Timeplus backend (the loopback fake): a removal is an
events row as on the local store; --purge is refused, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from pulse.v1 import chat_pb2

from tests.daemon.util import send
from tests.fakes.llm import FakeLLM
from tests.fakes.timeplus import FakeTimeplus
from tests.harness import Daemon, fake_llm_config
from tests.timeplus.test_timeplus_daemon import poll, timeplus_config


@pytest.fixture
def tp_daemon(fake_llm: FakeLLM) -> Iterator[tuple[Daemon, FakeTimeplus]]:
    with FakeTimeplus() as tp:
        d = Daemon(fake_llm_config(fake_llm.url, extra=timeplus_config(tp)))
        try:
            d.start()
            yield d, tp
        finally:
            try:
                d.stop()
            finally:
                d.cleanup()


def test_timeplus_refuses_purge_and_removes_without_it(
    tp_daemon: tuple[Daemon, FakeTimeplus],
) -> None:
    daemon, tp = tp_daemon
    session = send(daemon, "on timeplus")[0].session_id
    with pytest.raises(grpc.RpcError) as info:
        daemon.chat().RemoveSession(
            chat_pb2.RemoveSessionRequest(session_id=session, purge=True), timeout=10
        )
    err = info.value
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
    assert "append-only" in err.details()  # type: ignore[attr-defined]
    out = daemon.pulsectl("sessions", "rm", session, "--purge", "--yes")
    assert out.returncode == 1 and "ttl_days" in out.stderr
    listed = daemon.chat().ListSessions(chat_pb2.ListSessionsRequest(), timeout=10).sessions
    assert session in [s.session_id for s in listed]  # refused: nothing changed
    assert not [r for r in tp.rows("events") if r["event_type"] == "session_removed"]

    out = daemon.pulsectl("sessions", "rm", session)
    assert out.returncode == 0, out.stderr
    listed = daemon.chat().ListSessions(chat_pb2.ListSessionsRequest(), timeout=10).sessions
    assert session not in [s.session_id for s in listed]
    stored = poll(
        lambda: [r for r in tp.rows("events") if r["event_type"] == "session_removed"],
        "the session_removed row in Timeplus",
    )
    assert '"purged":false' in stored[0]["payload"].replace(" ", "")
