"""pulsectl.client against a real daemon: every method of the sync wrapper reaches its
RPC, streams stop quietly when cancelled, the async core follows a tail, and the errors
are the library's."""

from __future__ import annotations

import asyncio

import pytest

from pulsectl.client import (
    AsyncPulseClient,
    ClientError,
    DaemonUnreachable,
    Filter,
    PulseClient,
    ServerError,
    TailRow,
    new_task,
)
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon


def test_every_method_reaches_the_daemon(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script("hi there")
    with PulseClient(daemon.socket, autostart=False) as c:
        assert c.status().pid == daemon.proc.pid  # type: ignore[union-attr]
        events = list(c.send("hello", session_id="lib-1"))
        assert events[0].WhichOneof("event") == "accepted"
        assert events[-1].final.text == "hi there"
        assert c.rename_session("lib-1", "Library").title == "Library"
        assert any(s.session_id == "lib-1" for s in c.list_sessions().sessions)
        assert len(c.history("lib-1").rows) >= 2
        assert "messages" in {s.name for s in c.list_streams().streams}
        where = [Filter("session_id", "eq", "lib-1"), Filter("message_type", "eq", "user_input")]
        assert len(c.query("messages", where, order="asc").rows) == 1
        assert c.cost_summary(by="model").total.requests >= 1
        task = c.add_task(new_task("lib-task", schedule="0 9 * * *", prompt="p"))
        assert task.name == "lib-task" and task.enabled
        assert c.update_task("lib-task", prompt="q").prompt == "q"
        assert not c.set_task_enabled("lib-task", False).enabled
        assert [t.name for t in c.list_tasks().tasks] == ["lib-task"]
        assert len(c.task_history("lib-task").runs) == 0
        preview = c.preview_schedule("every 30m", count=2)
        assert preview.problem == "" and len(preview.next_runs) == 2
        c.remove_task("lib-task")
        assert c.store_status().backend == "local"
        assert c.list_channels() is not None
        assert c.channel_status() is not None
        for refused in (
            lambda: c.approve("no-such-request", True),
            lambda: c.cancel("no-such-turn"),
            lambda: c.run_task("no-such-task"),
            lambda: c.approve_pairing("NOPE00"),
            lambda: list(c.sql("SELECT 1")),
        ):
            try:
                refused()
            except ServerError as err:
                assert not err.unreachable and err.code and err.error
            except ClientError as err:  # pragma: no cover - reported below
                pytest.fail(f"not a ServerError: {err!r}")


CLOSED_TIMEPLUS = '[store.timeplus]\nhost = "127.0.0.1"\nbatch_port = 9\nstream_port = 9\n'
"""A Timeplus nothing answers for (port 9, discard, is closed on loopback)."""


def test_daemon_up_and_its_store_down_is_not_an_unreachable_daemon() -> None:
    d = Daemon(CLOSED_TIMEPLUS)
    try:
        d.start()
        with PulseClient(d.socket, autostart=False) as c:
            for call in (
                c.store_init,
                c.store_migrate,
                lambda: list(c.store_copy("local", "timeplus")),
            ):
                with pytest.raises(ServerError) as info:
                    call()
                assert info.value.code == "UNAVAILABLE" and not info.value.unreachable
                assert info.value.error  # the daemon's error class, from the trailer
    finally:
        d.stop()
        d.cleanup()


def test_a_cancelled_tail_stops_quietly(daemon: Daemon) -> None:
    with PulseClient(daemon.socket, autostart=False) as c:
        tail = c.tail("events", start="earliest")
        first = next(tail)
        assert first.rows  # daemon_started, at least
        tail.cancel()
        rest = list(tail)  # what had arrived, then the end: no error, no hang
        assert all(r.rows for r in rest)


def test_refusals_of_a_stream_are_server_errors(daemon: Daemon) -> None:
    with PulseClient(daemon.socket, autostart=False) as c:
        with pytest.raises(ServerError) as info:
            list(c.tail("nope"))
        assert info.value.code == "NOT_FOUND" and info.value.error == "NotFound"


def test_no_daemon_without_autostart() -> None:
    client = PulseClient("/tmp/pulse-none/none.sock", autostart=False, hint="h")
    with client, pytest.raises(DaemonUnreachable) as info:
        client.status()
    assert info.value.message == "no daemon answers on /tmp/pulse-none/none.sock"
    assert info.value.hint == "h" and info.value.unreachable


async def test_the_async_core_follows_a_tail(daemon: Daemon, fake_llm: FakeLLM) -> None:
    client = AsyncPulseClient(daemon.socket, client_name="pulsetui")
    try:
        await client.ensure_daemon(autostart=False)
        client.online.set()
        where = [Filter("session_id", "eq", "follow-1")]
        rows: list[TailRow] = []

        async def collect() -> None:
            async for batch in client.follow("messages", where, start="earliest", flush_s=0):
                rows.extend(batch)
                if any(r.values.get("message_type") == "agent_response" for r in rows):
                    return

        follower = asyncio.ensure_future(collect())
        async for _event in client.send("hello", session_id="follow-1"):
            pass
        await asyncio.wait_for(follower, 20)
        assert [r.values["source"] for r in rows][:1] == ["tui"]  # the client's name
        assert await client.last_seq("messages") >= rows[-1].seq
        assert (await client.query_rows("messages", where, limit=1))[0].seq == rows[-1].seq
        watch = client.watch_health()
        assert await watch.__anext__() is True
        await watch.aclose()  # type: ignore[attr-defined]
    finally:
        await client.close()
