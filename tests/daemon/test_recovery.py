"""Crash recovery: after kill -9 mid-turn, every input is answered once, none lost."""

from __future__ import annotations

import contextlib
import threading

import grpc
from pulse.v1 import chat_pb2, chat_pb2_grpc

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, Hang, Reply
from tests.harness import Daemon


def answers_to(d: Daemon, session: str, turn_id: str) -> list[dict]:
    return [
        m
        for m in rows(d, "messages", session_id=session)
        if m["reply_to"] == turn_id and m["message_type"] in ("agent_response", "error")
    ]


def test_kill9_mid_turn_is_finished_after_restart(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(text="a slow answer that will never finish " * 5, chunk_size=2, delay_s=0.05)
    )
    seen: list[chat_pb2.TurnEvent] = []

    def chat() -> None:
        try:
            for ev in daemon.chat().Send(
                chat_pb2.SendRequest(session_id="crash", text="tell me"), timeout=30
            ):
                seen.append(ev)
        except Exception:
            pass  # the daemon dies under us

    t = threading.Thread(target=chat)
    t.start()
    wait_for(lambda: any(e.WhichOneof("event") == "delta" for e in seen), what="first delta")
    turn_id = seen[0].turn_id
    daemon.kill9()
    t.join(10)

    fake_llm.script("recovered answer")
    daemon.start()
    answer = wait_for(lambda: answers_to(daemon, "crash", turn_id), what="recovered answer")
    assert len(answer) == 1 and answer[0]["message_type"] == "agent_response"
    assert answer[0]["content"]["text"] == "recovered answer"
    ev = rows(daemon, "events", event_type="turns_recovered")
    assert ev and turn_id in ev[0]["payload"]["ids"]

    # A second restart answers nothing again.
    daemon.stop()
    daemon.start()
    inputs = [
        m for m in rows(daemon, "messages", session_id="crash") if m["message_type"] == "user_input"
    ]
    assert len(inputs) == 1
    assert len(answers_to(daemon, "crash", turn_id)) == 1
    assert len(rows(daemon, "events", event_type="turns_recovered")) == 1


def test_old_unanswered_input_fails_visibly(fake_llm: FakeLLM) -> None:
    from tests.harness import fake_llm_config

    d = Daemon(
        fake_llm_config(fake_llm.url).replace(
            'model = "fake-model"', 'model = "fake-model"\nrecover_max_age_s = 0'
        )
    )
    try:
        d.start()
        fake_llm.script(Reply(text="slow " * 50, chunk_size=1, delay_s=0.05))
        seen: list = []

        def chat() -> None:
            with contextlib.suppress(grpc.RpcError):  # the daemon dies under us
                seen.extend(
                    d.chat().Send(chat_pb2.SendRequest(session_id="old", text="hi"), timeout=30)
                )

        t = threading.Thread(target=chat)
        t.daemon = True
        t.start()
        wait_for(lambda: len(fake_llm.requests) >= 1, what="request")
        turn_id = rows(d, "messages", session_id="old")[0]["id"]
        d.kill9()
        d.start()
        answer = wait_for(lambda: answers_to(d, "old", turn_id), what="error answer")
        assert len(answer) == 1 and answer[0]["message_type"] == "error"
        assert answer[0]["content"]["code"] == "interrupted"
    finally:
        d.stop()
        d.cleanup()


def test_sigterm_mid_turn_finishes_within_grace(daemon: Daemon, fake_llm: FakeLLM) -> None:
    import signal

    fake_llm.script(Reply(text="finishing politely", chunk_size=3, delay_s=0.05))
    seen: list = []

    def chat() -> None:
        # Its own channel: the harness closes its channel when it stops the daemon.
        with grpc.insecure_channel(f"unix:{daemon.socket}") as ch:
            stub = chat_pb2_grpc.ChatStub(ch)
            seen.extend(stub.Send(chat_pb2.SendRequest(session_id="grace", text="go"), timeout=30))

    t = threading.Thread(target=chat)
    t.start()
    wait_for(lambda: len(fake_llm.requests) >= 1, what="request")
    assert daemon.stop(signal.SIGTERM) == 0
    t.join(10)
    assert seen[-1].final.text == "finishing politely"


def _tool_messages(body: dict) -> list[dict]:  # type: ignore[type-arg]
    """The OpenAI-format ``tool`` messages of a request body."""
    return [m for m in body["messages"] if m.get("role") == "tool"]


def test_kill9_after_a_tool_ran_does_not_run_it_again(daemon: Daemon, fake_llm: FakeLLM) -> None:
    """Issue 17 item 2: kill -9 once schedule_reminder has run and its result is stored,
    while the model writes its answer; after the restart the turn goes on from the
    recorded call and result. Before: the model was asked afresh, called the tool again,
    and two reminders existed."""
    asked_again = threading.Event()
    fake_llm.script(
        Reply(tool_calls=[("schedule_reminder", {"when": "in 2h", "prompt": "call the bank"})]),
        Hang(seconds=60, started=asked_again),
    )
    seen: list[chat_pb2.TurnEvent] = []

    def chat() -> None:
        with contextlib.suppress(Exception):  # the daemon dies under us
            for ev in daemon.chat().Send(
                chat_pb2.SendRequest(session_id="tool-crash", text="remind me"), timeout=30
            ):
                seen.append(ev)

    t = threading.Thread(target=chat)
    t.start()
    assert asked_again.wait(20), "the model was never asked after the tool ran"
    assert len(rows(daemon, "tool_logs", session_id="tool-crash")) == 1
    daemon.kill9()
    t.join(10)
    turn_id = seen[0].turn_id

    # Were the tool called again, the script's next reply would make a second reminder.
    fake_llm.script(
        Reply(text="Done: I will remind you in 2 hours."),
        Reply(tool_calls=[("schedule_reminder", {"when": "in 2h", "prompt": "call the bank"})]),
    )
    n = len(fake_llm.requests)
    daemon.start()
    answer = wait_for(lambda: answers_to(daemon, "tool-crash", turn_id), what="recovered answer")
    assert answer[0]["content"]["text"] == "Done: I will remind you in 2 hours."
    assert len(rows(daemon, "tool_logs", session_id="tool-crash")) == 1  # ran once
    tasks = [r for r in rows(daemon, "tasks") if r["prompt"] == "call the bank"]
    assert len({r["name"] for r in tasks}) == 1
    resumed = fake_llm.requests[n]
    replayed = _tool_messages(resumed.body)
    assert len(replayed) == 1 and replayed[0]["content"]  # the recorded result, replayed
    calls = [m for m in resumed.body["messages"] if m.get("tool_calls")]
    assert [c["function"]["name"] for m in calls for c in m["tool_calls"]] == ["schedule_reminder"]


def test_a_call_interrupted_mid_run_is_reported_not_rerun(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    """A tool_call row with no tool_result (the crash came while the tool ran): the
    recovered turn tells the model the call was interrupted and does not run it."""
    daemon.stop()
    store_rows = _seed_interrupted_call(daemon)
    fake_llm.script(Reply(text="It may or may not have been scheduled; please check."))
    daemon.start()
    answer = wait_for(
        lambda: answers_to(daemon, "cut", store_rows["input_id"]), what="recovered answer"
    )
    assert answer[0]["message_type"] == "agent_response"
    assert rows(daemon, "tool_logs", session_id="cut") == []  # not run
    tool_msgs = _tool_messages(fake_llm.requests[-1].body)
    assert len(tool_msgs) == 1 and "interrupted" in tool_msgs[0]["content"]
    results = [
        r for r in rows(daemon, "messages", session_id="cut") if r["message_type"] == "tool_result"
    ]
    assert [r["content"]["status"] for r in results] == ["interrupted"]


def _seed_interrupted_call(d: Daemon) -> dict[str, str]:
    """Append, with the daemon stopped, an input and the tool_call row of a call that
    never got a result, straight into the daemon's real store."""
    import asyncio

    from pulsed.store import rows as builders
    from pulsed.store.local import LocalStore

    async def seed() -> str:
        store = LocalStore(d.data_dir)
        await store.open()
        try:
            (inp,) = await store.append(
                "messages",
                [
                    builders.turn_input(
                        source="cli", session_id="cut", content={"text": "remind me"}
                    )
                ],
                durable=True,
            )
            await store.append(
                "messages",
                [
                    builders.tool_call(
                        session_id="cut",
                        turn_id=str(inp["id"]),
                        call_id="call-1",
                        name="schedule_reminder",
                        arguments={"when": "in 2h", "prompt": "call the bank"},
                    )
                ],
                durable=True,
            )
            return str(inp["id"])
        finally:
            await store.close()

    return {"input_id": asyncio.run(seed())}
