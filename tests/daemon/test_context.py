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
    # the earlier exchange is sent back byte for byte as it was sent: the cached prefix
    # (system + history) of the second turn is the first turn's request plus its answer
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][1]["content"].endswith("\n\nfirst")
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
    table = daemon.pulsectl("sessions", "list").stdout
    assert "MODEL" in table and ":gpt-4o-mini" in table
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


def _prompt_tokens(body: dict) -> int:  # type: ignore[type-arg]
    from tests.fakes.llm import _prompt_chars

    return _prompt_chars(body) // 4


def test_a_long_session_compacts_and_stays_within_its_window(fake_llm: FakeLLM) -> None:
    window = 3000
    config = fake_llm_config(fake_llm.url).replace(
        'model = "fake-model"',
        f'model = "fake-model"\ncontext_window = {window}\ncompact_at = 0.6\nmax_tokens = 200',
    )
    d = Daemon(config)
    try:
        d.start()
        sid = "s-long"
        for i in range(14):
            events = send(d, f"message {i}: " + "lorem ipsum dolor sit amet " * 20, session=sid)
            assert events[-1].WhichOneof("event") == "final", events[-1]
        summaries = rows(d, "messages", session_id=sid, message_type="summary")
        assert summaries, "the session was never compacted"
        logs = rows(d, "llm_logs", session_id=sid)
        assert any(r["origin"] == "compaction" for r in logs)

        def is_compaction(body: dict) -> bool:  # type: ignore[type-arg]
            return str(body["messages"][0]["content"]).startswith("You compact a conversation")

        chat_requests = [r.body for r in fake_llm.requests if not is_compaction(r.body)]
        compactions = [r.body for r in fake_llm.requests if is_compaction(r.body)]
        assert compactions
        assert max(_prompt_tokens(b) for b in chat_requests) + 200 <= window
        assert max(_prompt_tokens(b) for b in compactions) + 1024 <= window
        last = chat_requests[-1]["messages"]
        assert any(
            "<summary of the earlier conversation>" in str(m.get("content")) for m in last
        ), [(m["role"], str(m.get("content"))[:50]) for m in last]
        # nothing was deleted: every input is still in the stream
        assert len(rows(d, "messages", session_id=sid, message_type="user_input")) == 14
        out = d.pulsectl("chat", "-s", sid, "/compact")  # a slash command is text here
        assert out.returncode == 0
        done = d.chat().Compact(chat_pb2.CompactRequest(session_id=sid, instructions="names"))
        assert done.summary_id and done.covered_messages >= 10
        # every call the loopback LLM served is an llm_logs row (chat and compaction)
        all_logs = rows(d, "llm_logs")
        assert len(all_logs) == len(fake_llm.requests)
        assert {r["origin"] for r in all_logs} == {"chat", "compaction", "memory"}
        # memory is on: the facts of what is compacted were extracted first
        first_compaction = next(r["_seq"] for r in all_logs if r["origin"] == "compaction")
        saved = [r for r in all_logs if r["origin"] == "memory"]
        assert saved and saved[0]["_seq"] < first_compaction
        assert saved[0]["user_message_preview"] == "(before compaction)"
    finally:
        d.stop()
        d.cleanup()


def test_costs_show_each_cap_with_what_is_left(fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url, extra="[budget]\ndaily_usd = 3\nmonthly_usd = 40\n"))
    try:
        d.start()
        fake_llm.script(Reply(text="hi", usage={"input_tokens": 1000, "output_tokens": 100}))
        send(d, "hello")
        out = json.loads(d.pulsectl("costs", "--json").stdout)
        caps = {c["name"]: c for c in out["caps"]}
        assert set(caps) == {"daily", "monthly"}
        spent = caps["daily"]["spent_usd"]
        assert spent > 0 and abs(caps["daily"]["left_usd"] - (3 - spent)) < 1e-9
        assert caps["monthly"]["limit_usd"] == 40
        text = d.pulsectl("costs").stdout
        assert "monthly cap:" in text and "left; resets on the 1st" in text
    finally:
        d.stop()
        d.cleanup()


def test_a_task_budget_caps_each_run(daemon: Daemon, fake_llm: FakeLLM) -> None:
    out = daemon.pulsectl(
        "tasks",
        "add",
        "thrifty",
        "--schedule",
        "every 1h",
        "--prompt",
        "hi",
        "--budget",
        "0.0001",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["budget_usd"] == 0.0001
    assert daemon.pulsectl("tasks", "run", "thrifty").returncode == 0

    def ended() -> list[dict]:  # type: ignore[type-arg]
        return [
            r
            for r in rows(daemon, "messages", message_type="error")
            if r["session_id"] == "task:thrifty"
        ]

    from tests.daemon.util import wait_for

    [err] = wait_for(ended, what="the run's end")
    assert err["content"]["code"] == "budget_exceeded" and "run budget" in err["content"]["text"]
    [log] = rows(daemon, "llm_logs", session_id="task:thrifty")
    assert log["status"] == "refused" and log["origin"] == "task"
    assert fake_llm.requests == []
    edited = daemon.pulsectl("tasks", "edit", "thrifty", "--budget", "0", "--json")
    assert json.loads(edited.stdout)["budget_usd"] == 0
    bad = daemon.pulsectl("tasks", "edit", "thrifty", "--budget", "lots")
    assert bad.returncode == 2 and "not an amount in USD" in bad.stderr
