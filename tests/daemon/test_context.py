"""Issue 13 on the real daemon: a stable system prompt, /context, models per session,
session and run caps with refused llm_logs rows."""

from __future__ import annotations

import json

from pulse.v1 import chat_pb2

from tests.daemon.util import rows, send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config


def _system(req_body: dict) -> str:  # type: ignore[type-arg]
    msgs = req_body["messages"]
    return next(m["content"] for m in msgs if m["role"] == "system")


def test_the_system_prompt_is_byte_identical_across_turns(
    daemon: Daemon, fake_llm: FakeLLM
) -> None:
    fake_llm.script(Reply(text="one"), Reply(text="two"))
    sid = send(daemon, "first")[0].session_id
    send(daemon, "second", session=sid)
    first, second = fake_llm.requests[-2].body, fake_llm.requests[-1].body
    assert _system(first) == _system(second)
    assert "Current time" not in _system(first)
    # the earlier exchange is sent back as it was: the cached prefix holds
    assert second["messages"][1]["content"] == "first"
    assert second["messages"][-1]["content"].startswith("<context>\nCurrent time: ")


def test_context_parts_add_up_to_what_the_llm_counts(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="a fairly long answer " * 20), Reply(text="ok"))
    sid = send(daemon, "tell me something long " * 10)[0].session_id
    ctx = daemon.chat().Context(chat_pb2.ContextRequest(session_id=sid, text="next one"))
    kinds = {p.kind for p in ctx.parts}
    assert {"system", "tools", "history", "message"} <= kinds
    assert ctx.calibrated  # from the first call's reported usage
    assert ctx.total_tokens == sum(p.tokens for p in ctx.parts)
    assert ctx.window_tokens > 0 and ctx.compact_at_tokens == int(ctx.window_tokens * 0.75)
    send(daemon, "next one", session=sid)
    counted = fake_llm.requests[-1]
    served = rows(daemon, "llm_logs", session_id=sid)[-1]["input_tokens"]
    assert counted is not None
    assert abs(ctx.total_tokens - served) <= 0.1 * served, (ctx.total_tokens, served)
    out = json.loads(daemon.pulsectl("context", "-s", sid, "--json").stdout)
    assert out["session_id"] == sid and len(out["parts"]) == len(ctx.parts)
    text = daemon.pulsectl("context", "-s", sid).stdout
    assert "history (4 messages)" in text and "window" in text


def test_a_session_model_holds_for_that_session_only(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="a"), Reply(text="b"), Reply(text="c"))
    out = daemon.pulsectl("chat", "-s", "s-mine", "--model", "gpt-4o-mini", "hello")
    assert out.returncode == 0, out.stderr
    send(daemon, "again", session="s-mine")
    send(daemon, "elsewhere", session="s-other")
    models = [r.body["model"] for r in fake_llm.requests]
    assert models == ["gpt-4o-mini", "gpt-4o-mini", "fake-model"]
    listed = {
        s.session_id: s.model
        for s in daemon.chat().ListSessions(chat_pb2.ListSessionsRequest()).sessions
    }
    assert listed["s-mine"].endswith(":gpt-4o-mini") and listed["s-other"] == ""
    warned = daemon.chat().SetSessionModel(
        chat_pb2.SetSessionModelRequest(session_id="s-other", model="no-such-model-9")
    )
    assert "not in the pricing table" in warned.warning


def test_a_session_model_survives_a_restart(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="a"), Reply(text="b"))
    daemon.chat().SetSessionModel(
        chat_pb2.SetSessionModelRequest(session_id="s-kept", model="gpt-4o")
    )
    daemon.stop()
    daemon.start()
    send(daemon, "hi", session="s-kept")
    assert fake_llm.requests[-1].body["model"] == "gpt-4o"


def test_a_session_cap_refuses_with_a_refused_row(fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url, extra="[budget]\ndaily_usd = 0\nsession_usd = 0.5\n"))
    try:
        d.start()
        fake_llm.script(
            Reply(text="pricey", usage={"input_tokens": 10_000, "output_tokens": 1000}),
            Reply(text="cheap"),
        )
        first = send(d, "one", session="s-capped")
        assert first[-1].WhichOneof("event") == "final"
        second = send(d, "two", session="s-capped")
        assert second[-1].error.code == "budget_exceeded"
        assert "session budget" in second[-1].error.message
        other = send(d, "three", session="s-free")
        assert other[-1].WhichOneof("event") == "final"  # other sessions are not capped by it
        logs = rows(d, "llm_logs", session_id="s-capped")
        assert [r["status"] for r in logs] == ["success", "refused"]
        assert logs[1]["estimated_cost_usd"] == 0 and "session budget" in logs[1]["error_message"]
        ev = rows(d, "events", event_type="budget_exceeded")
        assert ev[0]["payload"]["cap"] == "session"
        assert len(fake_llm.requests) == 2
    finally:
        d.stop()
        d.cleanup()
