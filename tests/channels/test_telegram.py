"""Telegram through python-telegram-bot against a loopback Bot API: access, answers,
formatting, splitting, retries, commands, and exactly-once delivery across a kill -9."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.fakes.telegram import FakeTelegram
from tests.harness import Daemon

from .conftest import telegram_config


def answers(d: Daemon, session: str) -> list[dict]:
    return [
        m
        for m in rows(d, "messages", session_id=session)
        if m["message_type"] in ("agent_response", "error")
    ]


def test_allowed_user_gets_the_answer(tg_daemon: Daemon, tg: FakeTelegram, fake_llm: FakeLLM):
    fake_llm.script(Reply(text="Hello **there**, 2 < 3 & 4 > 1", delay_s=0.01))
    tg.message("hi bot", user_id=111)
    sent = tg.wait_sent(1)
    assert sent[0].chat_id == "111"
    assert sent[0].parse_mode == "HTML"
    assert sent[0].visible == "Hello there, 2 < 3 & 4 > 1"
    assert "b" in sent[0].tags
    assert ("111", "typing") in tg.actions

    inputs = [m for m in rows(tg_daemon, "messages", source="telegram")]
    assert len(inputs) == 1
    row = inputs[0]
    assert row["session_id"] == "telegram:111"
    assert row["user_id"] == "111"
    assert row["content"]["text"] == "hi bot"
    assert row["channel_metadata"]["deliver_to"] == "telegram:111"
    (answer,) = answers(tg_daemon, "telegram:111")
    assert answer["target"] == "telegram:111" and answer["reply_to"] == row["id"]
    cursor = wait_for(
        lambda: [
            c
            for c in rows(tg_daemon, "cursors", consumer="channel:telegram")
            if c["position"] == answer["_seq"]
        ],
        what="the outbox cursor to pass the answer",
    )
    assert cursor[-1]["detail"]["message_id"] == answer["id"]


def test_stranger_is_refused_once_without_a_turn(
    tg_daemon: Daemon, tg: FakeTelegram, fake_llm: FakeLLM
):
    tg.message("let me in", user_id=999, username="mallory")
    second = tg.message("please?", user_id=999, username="mallory")
    sent = tg.wait_sent(1)
    assert sent[0].chat_id == "999"
    assert "only talk with people my owner has allowed" in sent[0].visible
    assert "999" in sent[0].visible
    wait_for(lambda: tg.confirmed >= second, what="both updates handled")
    refused = rows(tg_daemon, "events", event_type="channel_refused")
    assert len(refused) == 1
    assert refused[0]["payload"]["user_id"] == "999"
    assert len(tg.sent) == 1  # rate limited: one refusal
    assert fake_llm.requests == []
    assert rows(tg_daemon, "messages", source="telegram") == []


def test_long_answer_is_split_under_the_limit(tg_daemon: Daemon, tg: FakeTelegram, fake_llm):
    paragraphs = [f"Paragraph {i}: " + ("lorem ipsum **dolor** sit " * 40) for i in range(12)]
    code = "```python\n" + "\n".join(f"print('line {i} <ok>')" for i in range(250)) + "\n```"
    text = "\n\n".join(paragraphs[:6] + [code] + paragraphs[6:])
    fake_llm.script(Reply(text=text, chunk_size=500))
    tg.message("write a lot", user_id=111)
    sent = wait_for(lambda: len(tg.sent) >= 4 and tg.sent, what="parts")
    answer = answers(tg_daemon, "telegram:111")[0]
    wait_for(
        lambda: (
            rows(tg_daemon, "cursors", consumer="channel:telegram")[-1]["position"]
            == answer["_seq"]
        ),
        what="whole answer delivered",
    )
    sent = tg.sent
    assert all(len(s.visible.encode("utf-16-le")) // 2 <= 4096 for s in sent)
    # Cut between paragraphs or lines, never inside a word; code stays code.
    for s in sent:
        assert not s.visible.startswith((" ", "\n")) and not s.visible.endswith(" ")
    code_parts = [s for s in sent if "<pre>" in s.text or "<pre><code" in s.text]
    assert len(code_parts) >= 2
    assert all(s.text.count("<pre") == s.text.count("</pre>") for s in sent)
    joined = "".join(s.visible for s in sent).replace("\n", "").replace(" ", "")
    expected_words = text.replace("**", "").replace("```python", "").replace("```", "")
    assert joined == expected_words.replace("\n", "").replace(" ", "")


def test_tricky_text_is_escaped(tg_daemon: Daemon, tg: FakeTelegram, fake_llm: FakeLLM):
    text = (
        "AT&T says <script>alert('x')</script> & 5 > 3 < 4; "
        "`a<b && c>d`, *it&al*, [q&a](https://example.com/?a=1&b=<2>) &amp;"
    )
    fake_llm.script(text)
    tg.message("escape", user_id=111)
    (s,) = tg.wait_sent(1)
    assert s.visible == (
        # "&amp;" is an entity in CommonMark: the person sees "&".
        "AT&T says <script>alert('x')</script> & 5 > 3 < 4; a<b && c>d, it&al, q&a &"
    )
    assert "<code>a&lt;b &amp;&amp; c&gt;d</code>" in s.text
    assert '<a href="https://example.com/?a=1&amp;b=%3C2%3E">q&amp;a</a>' in s.text


def test_send_failing_with_502_is_retried_and_sent_once(
    tg_daemon: Daemon, tg: FakeTelegram, fake_llm: FakeLLM
):
    tg.fail_sends(2)
    fake_llm.script("after the storm")
    tg.message("hello?", user_id=111)
    (s,) = tg.wait_sent(1)
    assert s.visible == "after the storm"
    assert tg.failed_sends == 2
    wait_for(lambda: rows(tg_daemon, "cursors", consumer="channel:telegram"), what="record")
    assert len(tg.sent) == 1


def test_reply_undeliverable_becomes_a_visible_error(
    tg: FakeTelegram, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(telegram_config(tg, retry_attempts=2))
    tg.fail_sends(None)
    fake_llm.script("never arrives")
    tg.message("hi", user_id=111)
    ev = wait_for(lambda: rows(d, "events", event_type="channel_delivery_failed"), what="event")
    assert ev[0]["payload"]["target"] == "telegram:111"
    assert ev[0]["payload"]["attempts"] == 2
    out = d.pulsectl("channels", "status", "telegram", "--json")
    assert out.returncode == 0, out.stderr
    (info,) = json.loads(out.stdout)
    assert info["failed_deliveries"] == 1
    assert info["failures"][0]["target"] == "telegram:111"
    assert info["pending_outbox"] == 0
    # The same shows in System.Status (the console's status bar) and `pulsectl status`.
    st = json.loads(d.pulsectl("status", "--json").stdout)
    assert [(c["name"], c["failed_deliveries"]) for c in st["channels"]] == [("telegram", 1)]
    plain = d.pulsectl("status")
    assert "channels  telegram " in plain.stdout and "(1 failed)" in plain.stdout
    assert "channel telegram: 1 undelivered reply" in plain.stderr


def test_kill9_between_answer_and_delivery_delivers_once_after_restart(
    tg: FakeTelegram, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(telegram_config(tg, retry_attempts=1000))
    tg.fail_sends(None)  # the platform is down: the answer waits in the outbox
    fake_llm.script("survives the crash")
    tg.message("are you there?", user_id=111)
    wait_for(lambda: answers(d, "telegram:111"), what="the agent's answer")
    wait_for(lambda: tg.failed_sends >= 1, what="a failed send")
    d.kill9()
    assert tg.sent == []
    tg.heal()
    d.start()
    (s,) = tg.wait_sent(1)
    assert s.visible == "survives the crash"
    wait_for(
        lambda: (
            rows(d, "cursors", consumer="channel:telegram")[-1]["position"]
            == answers(d, "telegram:111")[0]["_seq"]
        ),
        what="delivery recorded",
    )
    # Another restart sends nothing again, and the message was answered only once.
    d.stop()
    polls = tg.polls()
    d.start()
    wait_for(lambda: tg.polls() > polls + 1, what="polling again")
    assert len(tg.sent) == 1
    assert len(answers(d, "telegram:111")) == 1
    assert len(fake_llm.requests) == 1


def test_commands_answer_without_an_llm_call(
    tg_daemon: Daemon, tg: FakeTelegram, fake_llm: FakeLLM
):
    tg.message("/status", user_id=111)
    tg.message("/cost", user_id=111)
    tg.message("/new", user_id=111)
    sent = tg.wait_sent(3)
    assert "Session: telegram:111" in sent[0].visible
    assert "Model:" in sent[0].visible
    assert "This conversation: no LLM calls yet" in sent[1].visible
    assert "telegram:111:2" in sent[2].visible
    assert fake_llm.requests == []
    fake_llm.script("fresh start")
    tg.message("hello again", user_id=111)
    tg.wait_sent(4)
    (inp,) = [m for m in rows(tg_daemon, "messages", source="telegram")]
    assert inp["session_id"] == "telegram:111:2"
    assert len(fake_llm.requests) == 1


def test_pairing_admits_an_approved_user(
    tg: FakeTelegram, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(telegram_config(tg, allow_from=[], pairing=True))
    tg.message("hi", user_id=222, username="bob")
    (s,) = tg.wait_sent(1)
    code = s.visible.split("pulsectl channels approve ")[1].strip()
    bad = d.pulsectl("channels", "approve", "NOPE42")
    assert bad.returncode == 1 and "no pending pairing code" in bad.stderr
    ok = d.pulsectl("channels", "approve", code.lower())
    assert ok.returncode == 0, ok.stderr
    assert "222" in ok.stdout
    welcome = tg.wait_sent(2)[1]
    assert "You're in" in welcome.visible
    fake_llm.script("nice to meet you")
    tg.message("hello", user_id=222, username="bob")
    assert tg.wait_sent(3)[2].visible == "nice to meet you"
    # Admission is durable.
    d.stop()
    d.start()
    fake_llm.script("still here")
    tg.message("again", user_id=222, username="bob")
    assert tg.wait_sent(4)[3].visible == "still here"


def test_stalled_poll_is_restarted(
    tg: FakeTelegram, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(telegram_config(tg, stall_s=1.0))
    wait_for(lambda: tg.polls() >= 1, what="first poll")
    tg.stall_polls()
    ev = wait_for(lambda: rows(d, "events", event_type="channel_restarted"), what="restart")
    assert "no sign of life" in ev[0]["payload"]["reason"]
    tg.heal()
    fake_llm.script("back again")
    tg.message("hello", user_id=111)
    assert tg.wait_sent(1)[0].visible == "back again"
    out = d.pulsectl("channels", "list", "--json")
    assert out.returncode == 0, out.stderr
    infos = {c["name"]: c for c in json.loads(out.stdout)}
    assert infos["telegram"]["restarts"] >= 1
    assert infos["telegram"]["state"] == "connected"
    assert infos["slack"]["state"] == "disabled"
