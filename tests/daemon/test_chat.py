"""Chat turns through the real daemon against a loopback LLM speaking the OpenAI protocol."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from pulse.v1 import chat_pb2, costs_pb2

from pulsed.providers import pricing
from tests.daemon.util import deltas, kinds, rows, send, wait_for
from tests.fakes.llm import Fail, FakeLLM, Hang, Reply, context_block, strip_context
from tests.harness import Daemon, fake_llm_config


def test_text_turn_streams_and_lands_as_rows(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            text="Hello there, human.",
            chunk_size=4,
            usage={"input_tokens": 120, "output_tokens": 7},
        )
    )
    events = send(daemon, "hi")
    assert kinds(events)[0] == "accepted"
    assert kinds(events)[-1] == "final"
    assert kinds(events).count("delta") >= 3
    final = events[-1].final
    assert deltas(events) == final.text == "Hello there, human."
    assert final.usage.input_tokens == 120 and final.usage.output_tokens == 7
    assert final.usage.llm_calls == 1

    sid = events[0].session_id
    assert sid.startswith("s-")
    msgs = rows(daemon, "messages", session_id=sid)
    assert [m["message_type"] for m in msgs] == ["user_input", "agent_response"]
    assert msgs[0]["content"] == {"text": "hi"} and msgs[0]["source"] == "api"
    assert msgs[1]["reply_to"] == msgs[0]["id"] == events[0].turn_id
    assert msgs[1]["content"]["text"] == "Hello there, human."
    assert msgs[0]["_seq"] == events[0].accepted.seq

    logs = rows(daemon, "llm_logs", session_id=sid)
    assert len(logs) == 1
    log = logs[0]
    assert log["status"] == "success" and log["origin"] == "chat"
    assert log["provider"] == "openai-compatible" and log["model"] == "fake-model"
    assert log["input_tokens"] == 120 and log["output_tokens"] == 7
    assert log["estimated_cost_usd"] > 0  # unknown paid model: priced conservatively
    assert log["turn_id"] == events[0].turn_id
    assert log["latency_ms"] >= 0 and log["user_message_preview"] == "hi"


def test_tool_call_turn(daemon: Daemon, fake_llm: FakeLLM) -> None:
    (daemon.workspace / "notes.txt").write_text("buy milk")
    fake_llm.script(
        Reply(
            text="Let me look.",
            tool_calls=[("list_dir", {"path": "."}), ("read_file", {"path": "notes.txt"})],
        ),
        Reply(text="You need to buy milk."),
    )
    events = send(daemon, "what is in my notes?")
    ks = kinds(events)
    assert ks[0] == "accepted" and ks[-1] == "final"
    assert ks.count("tool_call") == 2 and ks.count("tool_result") == 2
    results = [e.tool_result for e in events if e.WhichOneof("event") == "tool_result"]
    assert [r.name for r in results] == ["list_dir", "read_file"]
    assert all(r.status == "ok" for r in results)
    assert "notes.txt" in results[0].preview and results[1].preview == "buy milk"
    assert events[-1].final.iterations == 2
    assert events[-1].final.usage.llm_calls == 2

    # The second LLM request carried the tool results back.
    second = fake_llm.requests[-1].body["messages"]
    tool_msgs = [m for m in second if m["role"] == "tool"]
    assert [m["content"] for m in tool_msgs][1] == "buy milk"

    sid = events[0].session_id
    types = [m["message_type"] for m in rows(daemon, "messages", session_id=sid)]
    assert types == [
        "user_input",
        "tool_call",
        "tool_call",
        "tool_result",
        "tool_result",
        "agent_response",
    ] or (
        types.count("tool_call") == 2
        and types.count("tool_result") == 2
        and types[-1] == "agent_response"
    )
    tlogs = rows(daemon, "tool_logs", session_id=sid)
    assert [t["tool"] for t in tlogs] == ["list_dir", "read_file"]
    assert all(t["status"] == "ok" and t["approval"] == "allow" for t in tlogs)
    assert tlogs[1]["arguments"] == {"path": "notes.txt"}
    assert len(rows(daemon, "llm_logs", session_id=sid)) == 2


def test_history_is_context_for_next_turn(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="Nice to meet you, Ada."), Reply(text="Your name is Ada."))
    first = send(daemon, "my name is Ada")
    sid = first[0].session_id
    send(daemon, "what is my name?", session=sid)
    msgs = fake_llm.requests[-1].body["messages"]
    contents = [(m["role"], strip_context(m.get("content"))) for m in msgs if m["role"] != "system"]
    assert context_block(msgs[-1]["content"]).startswith("<context>\nCurrent time: ")
    assert contents == [
        ("user", "my name is Ada"),
        ("assistant", "Nice to meet you, Ada."),
        ("user", "what is my name?"),
    ]
    hist = daemon.chat().History(chat_pb2.HistoryRequest(session_id=sid), timeout=5)
    assert len(hist.rows) == 4
    sessions = daemon.chat().ListSessions(chat_pb2.ListSessionsRequest(), timeout=5).sessions
    assert sessions[0].session_id == sid and sessions[0].title.startswith("my name is Ada")


def test_approval_asked_and_granted(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "hello"})]),
        Reply(text="Written."),
    )
    stub = daemon.chat()
    got = []
    for ev in stub.Send(chat_pb2.SendRequest(text="write it", interactive=True), timeout=30):
        got.append(ev)
        if ev.WhichOneof("event") == "approval_request":
            assert ev.approval_request.tool == "write_file"
            stub.Approve(
                chat_pb2.ApproveRequest(request_id=ev.approval_request.request_id, approved=True),
                timeout=5,
            )
    assert kinds(got)[-1] == "final"
    assert (daemon.workspace / "a.txt").read_text() == "hello"
    tl = rows(daemon, "tool_logs", session_id=got[0].session_id)
    assert tl[0]["approval"] == "approved" and tl[0]["status"] == "ok"


def test_approval_denied_when_nobody_can_answer(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(tool_calls=[("write_file", {"path": "b.txt", "content": "x"})]),
        Reply(text="Not allowed."),
    )
    events = send(daemon, "write it", interactive=False)
    assert "approval_request" not in kinds(events)
    result = next(e.tool_result for e in events if e.WhichOneof("event") == "tool_result")
    assert result.status == "denied"
    assert not (daemon.workspace / "b.txt").exists()
    tl = rows(daemon, "tool_logs", session_id=events[0].session_id)
    assert tl[0]["approval"] == "denied"


def test_approve_unknown_request_is_not_found(daemon: Daemon) -> None:
    with pytest.raises(grpc.RpcError) as ei:
        daemon.chat().Approve(
            chat_pb2.ApproveRequest(request_id="ap-nope", approved=True), timeout=5
        )
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND


def test_provider_errors_retry_then_fail_visibly(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Fail(429), Reply(text="after a retry"))
    assert send(daemon, "x")[-1].final.text == "after a retry"
    fake_llm.script(Fail(500, times=5))
    events = send(daemon, "y")
    assert kinds(events)[-1] == "error"
    err = events[-1].error
    assert err.code == "provider_error"
    answer = rows(daemon, "messages", session_id=events[0].session_id)[-1]
    assert answer["message_type"] == "error" and answer["reply_to"] == events[0].turn_id
    log = rows(daemon, "llm_logs", session_id=events[0].session_id)[-1]
    assert log["status"] == "error" and log["error_message"]


def test_turns_in_one_session_run_in_order(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Reply(text="first", delay_s=0.05, chunk_size=1), Reply(text="second"))
    sid = "order-test"
    results: dict[str, list[chat_pb2.TurnEvent]] = {}

    def run(text: str) -> None:
        results[text] = send(daemon, text, session=sid)

    t1 = threading.Thread(target=run, args=("one",))
    t1.start()
    wait_for(lambda: len(fake_llm.requests) >= 1, what="first request")
    t2 = threading.Thread(target=run, args=("two",))
    t2.start()
    t1.join(30)
    t2.join(30)
    assert results["one"][-1].final.text == "first"
    assert results["two"][-1].final.text == "second"
    assert (
        results["two"][0].accepted.queued_behind == 0
        or results["two"][0].accepted.queued_behind >= 0
    )
    # The second turn's context contains the first turn's answer: it ran after it.
    second_ctx = [m.get("content") for m in fake_llm.requests[1].body["messages"]]
    assert "first" in second_ctx


def test_sessions_run_in_parallel(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Hang(2.0), Reply(text="fast"))
    slow: list = []
    t = threading.Thread(target=lambda: slow.extend(send(daemon, "slow", session="p-slow")))
    t.start()
    wait_for(lambda: len(fake_llm.requests) >= 1, what="slow request")
    fast = send(daemon, "fast", session="p-fast", timeout=10)
    assert fast[-1].final.text == "fast"
    assert t.is_alive()  # the slow one is still waiting on its LLM
    t.join(30)


def test_cancel_running_turn(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(Hang(10))
    events: list = []
    t = threading.Thread(target=lambda: events.extend(send(daemon, "long", session="c1")))
    t.start()
    wait_for(lambda: len(fake_llm.requests) >= 1, what="request")
    turn_id = rows(daemon, "messages", session_id="c1")[0]["id"]
    assert daemon.chat().Cancel(chat_pb2.CancelRequest(turn_id=turn_id), timeout=5).cancelled
    t.join(10)
    assert events[-1].error.code == "cancelled"
    answers = [m for m in rows(daemon, "messages", session_id="c1") if m["reply_to"] == turn_id]
    assert [a["message_type"] for a in answers] == ["error"]


def test_costs_summary_after_turns(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(text="a", usage={"input_tokens": 100, "output_tokens": 10}),
        Reply(text="b", usage={"input_tokens": 50, "output_tokens": 5}),
    )
    send(daemon, "one")
    send(daemon, "two")
    s = daemon.costs().Summary(costs_pb2.CostSummaryRequest(by="model"), timeout=5)
    assert s.total.requests == 2
    assert s.total.input_tokens == 150 and s.total.output_tokens == 15
    assert [b.key for b in s.buckets] == ["fake-model"]
    assert s.spent_today_usd == pytest.approx(s.total.cost_usd)
    assert s.budget_daily_usd == 5.0


def test_no_provider_answers_with_what_to_set(fake_llm: FakeLLM) -> None:
    d = Daemon("")  # default provider anthropic, no key anywhere
    try:
        d.start()
        events = send(d, "hello")
        assert kinds(events) == ["accepted", "error"]
        assert events[-1].error.code == "no_provider"
        assert "ANTHROPIC_API_KEY" in events[-1].error.message
        st = d.system().Status(
            __import__("pulse.v1.system_pb2", fromlist=["x"]).StatusRequest(), timeout=5
        )
        assert "ANTHROPIC_API_KEY" in st.provider_problem
        # The input and its error answer are stored.
        msgs = rows(d, "messages", session_id=events[0].session_id)
        assert [m["message_type"] for m in msgs] == ["user_input", "error"]
    finally:
        d.stop()
        d.cleanup()


def _max_call_usd() -> float:
    """What one call to the unpriced fake model may cost: 4096 output tokens (the
    default max_tokens) at the priciest output rate, plus a little input."""
    return 4096 * pricing.UNKNOWN.output / 1e6


def test_budget_refuses_calls_over_the_daily_limit(fake_llm: FakeLLM) -> None:
    # Room for one call's maximum and its input (up to ~4k prompt tokens: the tool list
    # and the skills index grow), not for a second call after the first one's spend.
    cap = _max_call_usd() * 1.2
    d = Daemon(fake_llm_config(fake_llm.url, extra=f"[budget]\ndaily_usd = {cap}\n"))
    try:
        d.start()
        fake_llm.script(Reply(text="costly", usage={"input_tokens": 1000, "output_tokens": 1000}))
        assert kinds(send(d, "first"))[-1] == "final"
        n = len(fake_llm.requests)
        events = send(d, "second")
        assert events[-1].error.code == "budget_exceeded"
        assert "daily budget too low for this call" in events[-1].error.message
        assert len(fake_llm.requests) == n  # refused before calling the LLM
        ev = rows(d, "events", event_type="budget_exceeded")
        assert len(ev) == 1 and ev[0]["severity"] == "warning"
    finally:
        d.stop()
        d.cleanup()


def test_fallback_provider_used_when_main_fails(fake_llm: FakeLLM) -> None:
    with FakeLLM() as broken:
        broken.script(Fail(500, times=10))
        cfg = fake_llm_config(broken.url, provider="openai") + (
            f'\n[providers.openai-compatible]\nbase_url = "{fake_llm.url}"\napi_key = "k"\n'
        )
        cfg = cfg.replace(
            'model = "fake-model"',
            'model = "fake-model"\nfallback = ["openai-compatible:backup-model"]',
        )
        d = Daemon(cfg)
        try:
            d.start()
            fake_llm.script(Reply(text="from the backup"))
            events = send(d, "hello")
            assert events[-1].final.text == "from the backup"
            logs = rows(d, "llm_logs", session_id=events[0].session_id)
            assert [(r["provider"], r["status"]) for r in logs] == [
                ("openai", "error"),
                ("openai-compatible", "success"),
            ]
            assert logs[1]["model"] == "backup-model"
        finally:
            d.stop()
            d.cleanup()


def test_tool_logs_redact_secrets(daemon: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(
            tool_calls=[
                (
                    "current_time",
                    {
                        "timezone": "UTC",
                        "api_token": "s3cr3t",
                        "options": {"api_key": "s3cr3t"},
                        "headers": [{"Authorization": "Bearer s3cr3t-s3cr3t"}],
                        "pwd": "s3cr3t",
                        "credentials": {"u": "s3cr3t"},
                    },
                )
            ]
        ),
        Reply(text="ok"),
    )
    events = send(daemon, "time?")
    sid = events[0].session_id
    tl = rows(daemon, "tool_logs", session_id=sid)
    assert tl[0]["arguments"]["api_token"] == "***"
    assert tl[0]["arguments"]["timezone"] == "UTC"
    assert "s3cr3t" not in json.dumps(tl)
    assert "s3cr3t" not in json.dumps(rows(daemon, "messages", session_id=sid))


def test_concurrent_calls_cannot_pass_the_cap_together(fake_llm: FakeLLM) -> None:
    """Issue 17 item 13: 50 sessions start at once under a cap with room for two calls'
    maxima. Each call's maximum is reserved before it starts, so what is spent stays
    within the cap (before: every call saw $0 spent and all 50 went through)."""
    cap = _max_call_usd() * 2.5
    d = Daemon(fake_llm_config(fake_llm.url, extra=f"[budget]\ndaily_usd = {cap}\n"))
    try:
        d.start()
        for _ in range(50):
            fake_llm.script(
                Reply(
                    text="costly answer",
                    delay_s=0.05,
                    usage={"input_tokens": 2000, "output_tokens": 3000},
                )
            )
        with ThreadPoolExecutor(max_workers=50) as pool:
            ends = list(pool.map(lambda i: send(d, f"question {i}", timeout=60)[-1], range(50)))
        finals = [e for e in ends if e.WhichOneof("event") == "final"]
        refused = [e for e in ends if e.WhichOneof("event") == "error"]
        assert len(finals) + len(refused) == 50
        assert finals and refused
        assert {e.error.code for e in refused} == {"budget_exceeded"}
        spent = sum(r["estimated_cost_usd"] for r in rows(d, "llm_logs"))
        assert spent <= cap, f"spent ${spent:.4f} of a ${cap:.4f} cap"
    finally:
        d.stop()
        d.cleanup()


def test_monthly_cap_refuses_before_calling_the_llm(fake_llm: FakeLLM) -> None:
    d = Daemon(fake_llm_config(fake_llm.url, extra="[budget]\nmonthly_usd = 0.01\n"))
    try:
        d.start()
        events = send(d, "hello")
        assert events[-1].error.code == "budget_exceeded"
        assert "monthly budget too low for this call" in events[-1].error.message
        assert "resets on the 1st" in events[-1].error.message
        assert fake_llm.requests == []
        ev = rows(d, "events", event_type="budget_exceeded")
        assert ev[0]["payload"]["monthly_usd"] == 0.01
    finally:
        d.stop()
        d.cleanup()
