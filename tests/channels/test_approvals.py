"""Approvals where the person is: an "ask" tool of a Telegram or Slack turn becomes a
message with buttons (Telegram inline keyboard, Slack Block Kit), answered only by an
allowed user of the chat; the message is edited to show the decision or the timeout.

Real daemon, real python-telegram-bot and slack-sdk against the loopback fakes, which
speak callback queries / answerCallbackQuery / editMessageText and Socket Mode
``interactive`` envelopes / chat.update / chat.postEphemeral as the platforms do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pulsed.channels.approvals import NOT_ALLOWED
from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, Reply
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram, Sent
from tests.harness import Daemon, fake_llm_config

from .conftest import telegram_config
from .test_slack import slack, slack_config

__all__ = ["slack"]  # a fixture, used by name

WRITE = ("write_file", {"path": "a.txt", "content": "hello"})


@pytest.fixture
def start(fake_llm: FakeLLM) -> Iterator[Callable[..., Daemon]]:
    """Start a daemon with ``extra`` config, write_file asking, approvals waiting
    ``timeout_s``."""
    started: list[Daemon] = []

    def run(extra: str, timeout_s: float = 60.0) -> Daemon:
        d = Daemon()
        d.write_config(
            fake_llm_config(fake_llm.url, extra=extra)
            + f'\n[tools]\nworkspace = "{d.workspace}"\napproval_timeout_s = {timeout_s}\n'
            + '[tools.policy]\nwrite_file = "ask"\n'
        )
        started.append(d)
        return d.start()

    yield run
    for d in started:
        try:
            d.stop()
        finally:
            d.cleanup()


def prompt(tg: FakeTelegram, n: int = 1) -> Sent:
    """The ``n``-th message with buttons the bot sent."""
    return tg.wait(
        lambda: len(asked := [s for s in tg.sent if s.keyboard or s.edits]) >= n and asked[n - 1],
        what=f"approval prompt {n}",
    )


def decided(d: Daemon) -> list[dict]:
    return [e["payload"] for e in rows(d, "events", event_type="approval_decided")]


# -- Telegram ---------------------------------------------------------------------------


def test_telegram_allowed_press_runs_the_tool_and_edits_the_message(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg))
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Written."))
    tg.message("write it", user_id=111)
    ask = prompt(tg)
    assert ask.chat_id == "111" and ask.parse_mode == "HTML"
    assert "Approval needed: write_file" in ask.visible
    assert "path: a.txt" in ask.visible and "content: hello" in ask.visible
    assert [b["text"] for b in ask.keyboard] == [
        "✅ Allow once",
        "✅ Allow for this session",
        "❌ Deny",
    ]
    assert not (d.workspace / "a.txt").exists()

    qid = tg.press(ask.message_id, "✅ Allow once", user_id=111, username="alice")
    tg.wait(lambda: any(s.visible == "Written." for s in tg.sent), what="the answer")
    assert (d.workspace / "a.txt").read_text() == "hello"
    tg.wait(lambda: ask.edits >= 1, what="the edit")
    assert ask.keyboard == []
    assert "✅ allowed once by @alice" in ask.visible
    assert "Approval needed: write_file" in ask.visible  # what was asked stays readable
    assert tg.answers[qid] == "Allowed once."

    (log,) = rows(d, "tool_logs", session_id="telegram:111")
    assert log["approval"] == "approved" and log["status"] == "ok"
    (ev,) = wait_for(lambda: decided(d), what="approval_decided")
    assert ev["decision"] == "once" and ev["user_id"] == "111" and ev["user_name"] == "@alice"
    assert ev["chat"] == "111" and ev["channel"] == "telegram" and ev["tool"] == "write_file"
    assert ev["session_id"] == "telegram:111" and ev["message_id"] == str(ask.message_id)


def test_telegram_allow_for_this_session_runs_the_same_call_unasked(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg))
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="First."))
    tg.message("write it", user_id=111)
    ask = prompt(tg)
    tg.press(ask.message_id, "✅ Allow for this session")
    tg.wait(lambda: any(s.visible == "First." for s in tg.sent), what="the first answer")
    assert "✅ allowed for this session by @alice" in ask.visible

    (d.workspace / "a.txt").unlink()
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Again."))
    tg.message("once more", user_id=111)
    tg.wait(lambda: any(s.visible == "Again." for s in tg.sent), what="the second answer")
    assert (d.workspace / "a.txt").read_text() == "hello"
    assert [s for s in tg.sent if s.keyboard] == []  # not asked again
    logs = rows(d, "tool_logs", session_id="telegram:111")
    assert [t["approval"] for t in logs] == ["approved_session", "session"]

    # A different call is not covered: asked again (and denied here).
    fake_llm.script(
        Reply(tool_calls=[("write_file", {"path": "a.txt", "content": "other"})]),
        Reply(text="Left alone."),
    )
    tg.message("overwrite it", user_id=111)
    second = prompt(tg, 2)
    tg.press(second.message_id, "❌ Deny")
    tg.wait(lambda: any(s.visible == "Left alone." for s in tg.sent), what="the third answer")
    assert (d.workspace / "a.txt").read_text() == "hello"
    assert "❌ denied by @alice" in second.visible and second.keyboard == []


def test_telegram_strangers_press_does_nothing(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg))
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Not written."))
    # A group chat: the allowed user asks, someone else in the group presses.
    tg.message("write it", user_id=111, chat_id=-500)
    ask = prompt(tg)
    assert ask.chat_id == "-500"
    qid = tg.press(ask.message_id, "✅ Allow once", user_id=999, username="mallory")
    tg.wait(lambda: qid in tg.answers, what="the stranger's notice")
    assert tg.answers[qid] == NOT_ALLOWED
    assert not (d.workspace / "a.txt").exists()
    assert ask.edits == 0 and len(ask.keyboard) == 3  # still open
    (refused,) = wait_for(lambda: rows(d, "events", event_type="approval_refused"))
    assert refused["payload"]["user_id"] == "999" and refused["severity"] == "warning"

    qid2 = tg.press(ask.message_id, "❌ Deny", user_id=111)
    tg.wait(lambda: any(s.visible == "Not written." for s in tg.sent), what="the answer")
    assert tg.answers[qid2] == "Denied."
    assert not (d.workspace / "a.txt").exists()
    tg.wait(lambda: ask.edits >= 1, what="the edit")
    assert "❌ denied by @alice" in ask.visible
    (log,) = rows(d, "tool_logs", session_id="telegram:-500")
    assert log["approval"] == "denied" and log["status"] == "denied"
    assert [e["decision"] for e in decided(d)] == ["deny"]


def test_telegram_timeout_denies_and_edits_the_message(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg), timeout_s=1.0)
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Nobody answered."))
    tg.message("write it", user_id=111)
    ask = prompt(tg)
    tg.wait(lambda: ask.edits >= 1, what="the timeout's edit")
    assert "⌛ timed out" in ask.visible and ask.keyboard == []
    tg.wait(lambda: any(s.visible == "Nobody answered." for s in tg.sent), what="the answer")
    assert not (d.workspace / "a.txt").exists()
    (log,) = rows(d, "tool_logs", session_id="telegram:111")
    assert log["approval"] == "timeout" and log["status"] == "denied"
    (ev,) = wait_for(lambda: decided(d), what="approval_decided")
    assert ev["decision"] == "timeout" and ev["user_id"] == ""


def test_telegram_prompt_left_open_by_a_crash_expires_after_restart(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg))
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Not written."))
    tg.message("write it", user_id=111)
    ask = prompt(tg)
    wait_for(lambda: rows(d, "events", event_type="approval_shown"), what="approval_shown")
    d.kill9()
    d.start()
    # The resumed turn cannot ask (nobody is waiting for its prompt): denied; the old
    # prompt loses its buttons and says why.
    tg.wait(lambda: ask.edits >= 1, what="the stale prompt's edit")
    assert ask.keyboard == [] and "⌛ expired: pulsed restarted" in ask.visible
    (ev,) = wait_for(lambda: decided(d), what="approval_decided")
    assert ev["decision"] == "expired" and ev["message_id"] == str(ask.message_id)
    tg.wait(lambda: any(s.visible == "Not written." for s in tg.sent), what="the answer")
    assert not (d.workspace / "a.txt").exists()
    # Another restart leaves it alone.
    d.stop()
    polls = tg.polls()
    d.start()
    wait_for(lambda: tg.polls() > polls + 1, what="polling again")
    assert ask.edits == 1 and len(decided(d)) == 1


def test_telegram_with_approvals_off_denies_at_once(
    tg: FakeTelegram, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(telegram_config(tg, approvals=False))
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Could not."))
    tg.message("write it", user_id=111)
    tg.wait(lambda: any(s.visible == "Could not." for s in tg.sent), what="the answer")
    assert [s for s in tg.sent if s.keyboard or s.edits] == []
    (log,) = rows(d, "tool_logs", session_id="telegram:111")
    assert log["approval"] == "denied"
    assert not (d.workspace / "a.txt").exists()


# -- Slack ------------------------------------------------------------------------------


def test_slack_allowed_press_in_a_thread_runs_the_tool(
    slack: FakeSlack, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(slack_config(slack))
    slack.wait_connected()
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Written."))
    ts = slack.mention("write it")
    ask = slack.wait(lambda: next((p for p in slack.posts if p.buttons), None), what="prompt")
    assert ask.channel == "CGENERAL" and ask.thread_ts == ts
    assert "*Approval needed*: `write_file`" in ask.shown and "path: a.txt" in ask.shown
    assert [b["text"]["text"] for b in ask.buttons] == [
        "Allow once",
        "Allow for this session",
        "Deny",
    ]
    envelope = slack.press(ask, "Allow once", user="UALICE")
    slack.wait(lambda: envelope in slack.acks, what="the ack")
    slack.wait(lambda: any(p.text == "Written." for p in slack.posts), what="the answer")
    assert (d.workspace / "a.txt").read_text() == "hello"
    slack.wait(lambda: ask.edits >= 1, what="chat.update")
    assert ask.buttons == [] and "✅ allowed once by <@UALICE>" in ask.shown
    assert slack.ephemerals == []
    (ev,) = wait_for(lambda: decided(d), what="approval_decided")
    assert ev["decision"] == "once" and ev["user_id"] == "UALICE"
    assert ev["chat"] == f"CGENERAL:{ts}" and ev["channel"] == "slack"


def test_slack_strangers_press_does_nothing_then_timeout_denies(
    slack: FakeSlack, start: Callable[..., Daemon], fake_llm: FakeLLM
):
    d = start(slack_config(slack), timeout_s=2.0)
    slack.wait_connected()
    fake_llm.script(Reply(tool_calls=[WRITE]), Reply(text="Nobody answered."))
    slack.dm("write it")
    ask = slack.wait(lambda: next((p for p in slack.posts if p.buttons), None), what="prompt")
    assert ask.channel == "DALICE"
    slack.press(ask, "Allow once", user="UMALLORY")
    slack.wait(lambda: slack.ephemerals, what="the stranger's ephemeral notice")
    assert slack.ephemerals == [("DALICE", "UMALLORY", NOT_ALLOWED)]
    assert ask.edits == 0 and len(ask.buttons) == 3
    slack.wait(lambda: ask.edits >= 1, what="the timeout's edit")
    assert ask.buttons == [] and "⌛ timed out" in ask.shown
    slack.wait(lambda: any(p.text == "Nobody answered." for p in slack.posts), what="answer")
    assert not (d.workspace / "a.txt").exists()
    (log,) = rows(d, "tool_logs", session_id="slack:DALICE")
    assert log["approval"] == "timeout"
    assert [e["decision"] for e in decided(d)] == ["timeout"]
