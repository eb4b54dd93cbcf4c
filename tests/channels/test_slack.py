"""Slack through slack-sdk (Web API + Socket Mode on aiohttp) against a loopback Slack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM, strip_context
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.harness import Daemon


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def slack_config(fake: FakeSlack, **over: object) -> str:
    values: dict[str, object] = {
        "enabled": "true",
        "bot_token": f'"{BOT_TOKEN}"',
        "app_token": f'"{APP_TOKEN}"',
        "api_base_url": f'"{fake.api_url}"',
        "allow_from": '["UALICE"]',
        "retry_initial_s": 0.1,
        "retry_max_s": 0.5,
        "ping_interval_s": 1.0,
        "stall_s": 10.0,
    }
    values.update(over)
    return "[channels.slack]\n" + "\n".join(f"{k} = {v}" for k, v in values.items()) + "\n"


@pytest.fixture
def slack_daemon(slack: FakeSlack, make_daemon: Callable[[str], Daemon]) -> Daemon:
    d = make_daemon(slack_config(slack))
    slack.wait_connected()
    return d


def test_direct_message_is_answered_in_mrkdwn(
    slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM
):
    fake_llm.script("Use **bold** & `x<y` and [docs](https://example.com)")
    ts = slack.dm("hello pulse")
    (post,) = slack.wait_posts(1)
    assert post.channel == "DALICE" and post.thread_ts == ""
    assert post.text == "Use *bold* &amp; `x&lt;y` and <https://example.com|docs>"
    wait_for(lambda: len(slack.acks) >= 1, what="ack")
    (inp,) = rows(slack_daemon, "messages", source="slack")
    assert inp["session_id"] == "slack:DALICE"
    assert inp["channel_metadata"]["deliver_to"] == "slack:DALICE"
    assert inp["channel_metadata"]["ts"] == ts
    wait_for(lambda: ("reactions.remove", ts, "hourglass_flowing_sand") in slack.reactions)
    assert ("reactions.add", ts, "hourglass_flowing_sand") in slack.reactions


def test_mention_in_a_channel_is_answered_in_its_thread(
    slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM
):
    fake_llm.script("in the thread")
    ts = slack.mention("what's up?")
    (post,) = slack.wait_posts(1)
    assert post.channel == "CGENERAL" and post.thread_ts == ts
    (inp,) = rows(slack_daemon, "messages", source="slack")
    assert inp["session_id"] == f"slack:CGENERAL:{ts}"
    assert inp["content"]["text"] == "what's up?"
    assert strip_context(fake_llm.requests[0]["messages"][-1]["content"]) == "what's up?"


def test_stranger_is_refused_once(slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM):
    slack.dm("hi", user="UMALLORY", channel="DMALLORY")
    slack.dm("hi again", user="UMALLORY", channel="DMALLORY")
    (post,) = slack.wait_posts(1)
    assert post.channel == "DMALLORY" and "UMALLORY" in post.text
    wait_for(lambda: len(slack.acks) >= 2, what="both acknowledged")
    assert len(rows(slack_daemon, "events", event_type="channel_refused")) == 1
    assert len(slack.posts) == 1
    assert fake_llm.requests == []


def test_post_failing_with_502_is_retried_and_sent_once(
    slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM
):
    slack.fail_posts(2)
    fake_llm.script("made it")
    slack.dm("hello")
    (post,) = slack.wait_posts(1)
    assert post.text == "made it"
    assert slack.failed_posts == 2
    wait_for(lambda: rows(slack_daemon, "cursors", consumer="channel:slack"), what="record")
    assert len(slack.posts) == 1


def test_dropped_socket_reconnects(slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM):
    slack.drop_sockets()
    slack.wait_connected(connections=2)
    fake_llm.script("still listening")
    slack.dm("are you back?")
    assert slack.wait_posts(1)[0].text == "still listening"

    def status() -> dict:
        out = slack_daemon.pulsectl("channels", "status", "slack", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)[0]

    # The state follows the socket within a watchdog tick.
    info = wait_for(lambda: (i := status())["state"] == "connected" and i, what="connected")
    assert info["identity"] == "@pulse"


def test_slash_commands_answer_without_an_llm_call(
    slack_daemon: Daemon, slack: FakeSlack, fake_llm: FakeLLM
):
    slack.slash("/status")
    assert "Session: `slack:DALICE`" in slack.wait_posts(1)[0].text
    slack.slash("/pulse", "new")
    assert "slack:DALICE:2" in slack.wait_posts(2)[1].text
    assert fake_llm.requests == []
