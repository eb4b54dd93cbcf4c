"""Crash recovery: after kill -9 mid-turn, every input is answered once, none lost."""

from __future__ import annotations

import contextlib
import threading

import grpc
from pulse.v1 import chat_pb2, chat_pb2_grpc

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, Reply
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
