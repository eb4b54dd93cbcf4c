"""A part in flight when the daemon dies (issue 17 item 11): the outbox records each
part as ``sending`` durably before the platform call, and a restart that finds it
without its delivery record asks the transport whether it arrived, else sends it again
(at least once) and says so in a ``channel_delivery_uncertain`` event.

The Telegram test runs the real daemon against the loopback Bot API, which takes the
message and withholds its answer (the platform has it, the daemon never hears back),
and kills the daemon -9 in that window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pulsed.channels.format import Part
from pulsed.channels.journal import Journal
from pulsed.channels.outbox import Outbox
from pulsed.store import rows as builders
from pulsed.store.base import Store, make_filters
from pulsed.store.schema import EVENTS
from tests.daemon.util import rows, wait_for
from tests.fakes.llm import FakeLLM
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.harness import Daemon

from .conftest import telegram_config
from .test_parts import MemoryTransport, answer, cursors, fast, running, store
from .test_slack import slack, slack_config

__all__ = ["slack", "store"]  # fixtures, used by name


def answers(d: Daemon, session: str) -> list[dict]:
    return [
        m
        for m in rows(d, "messages", session_id=session)
        if m["message_type"] in ("agent_response", "error")
    ]


def test_kill9_while_telegram_holds_the_answer_resends_once_and_says_so(
    tg: FakeTelegram, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(telegram_config(tg))
    tg.hold_sends()  # Telegram delivers the message; its answer never reaches the daemon
    fake_llm.script("crossed the wire")
    tg.message("hello?", user_id=111)
    (first,) = tg.wait_sent(1)
    # The "sending" record was durable before the call reached the platform.
    (sending,) = [
        c for c in rows(d, "cursors", consumer="channel:telegram") if "sending" in c["detail"]
    ]
    (answer_row,) = answers(d, "telegram:111")
    assert sending["detail"]["seq"] == answer_row["_seq"] and sending["detail"]["sending"] == 1
    assert sending["position"] < answer_row["_seq"]
    d.kill9()
    tg.heal()
    d.start()
    # The Bot API cannot say whether the first send arrived: at least once.
    sent = tg.wait_sent(2)
    assert [s.visible for s in sent] == ["crossed the wire"] * 2
    assert first.message_id != sent[1].message_id
    last = wait_for(
        lambda: [
            c
            for c in rows(d, "cursors", consumer="channel:telegram")
            if c["position"] == answer_row["_seq"]
        ],
        what="the delivery record",
    )[-1]
    assert last["detail"]["platform_message_id"] == str(sent[1].message_id)
    (ev,) = rows(d, "events", event_type="channel_delivery_uncertain")
    assert ev["severity"] == "warning"
    assert ev["payload"]["outcome"] == "resent" and ev["payload"]["target"] == "telegram:111"
    # Another restart sends nothing more; the answer was made once.
    d.stop()
    polls = tg.polls()
    d.start()
    wait_for(lambda: tg.polls() > polls + 1, what="polling again")
    assert len(tg.sent) == 2
    assert len(answers(d, "telegram:111")) == 1 and len(fake_llm.requests) == 1


def test_kill9_while_slack_holds_the_answer_finds_it_in_the_history(
    slack: FakeSlack, make_daemon: Callable[[str], Daemon], fake_llm: FakeLLM
):
    d = make_daemon(slack_config(slack))
    slack.wait_connected()
    slack.hold_posts()
    fake_llm.script("posted once")
    slack.dm("hello?")
    (post,) = slack.wait_posts(1)
    (answer_row,) = answers(d, "slack:DALICE")
    wait_for(
        lambda: [
            c for c in rows(d, "cursors", consumer="channel:slack") if "sending" in c["detail"]
        ],
        what="the sending record",
    )
    d.kill9()
    slack.heal()
    d.start()
    # conversations.history shows the bot's message: recorded, not posted again.
    last = wait_for(
        lambda: [
            c
            for c in rows(d, "cursors", consumer="channel:slack")
            if c["position"] == answer_row["_seq"]
        ],
        what="the delivery record",
    )[-1]
    assert last["detail"]["platform_message_id"] == post.ts
    (ev,) = rows(d, "events", event_type="channel_delivery_uncertain")
    assert ev["payload"]["outcome"] == "found"
    assert [p.text for p in slack.posts] == ["posted once"]


class FindingTransport(MemoryTransport):
    """A platform that can show what the bot posted (as Slack's history can)."""

    def __init__(self, found: str | None) -> None:
        super().__init__(fast())
        self.found = found
        self.asked: list[tuple[str, str, datetime]] = []

    async def find_sent(self, chat: str, part: Part, since: datetime) -> str | None:
        self.asked.append((chat, part.body, since))
        return self.found


async def crashed_while_sending(store: Store, text: str, sent: int, parts: int) -> int:
    """A previous run recorded part ``sent + 1`` of answer ``text`` as being sent and
    died; returns the answer's seq."""
    row = await answer(store, text)
    await store.append(
        "cursors",
        [
            builders.delivery_sending(
                "channel:mem",
                position=0,
                message_id=str(row["id"]),
                seq=row.seq,
                target="mem:42",
                sent=sent,
                parts=parts,
                at="2025-01-01T00:00:00.000000Z",
            )
        ],
    )
    return row.seq


async def uncertain(store: Store) -> list[str]:
    found = await store.query(
        "events", make_filters(EVENTS, [("event_type", "eq", "channel_delivery_uncertain")])
    )
    return [str(r["payload"]["outcome"]) for r in found]


async def test_part_the_platform_shows_delivered_is_not_sent_again(store: Store) -> None:
    t = FindingTransport(found="ts-1")
    seq = await crashed_while_sending(store, "one|two", sent=0, parts=2)
    outbox = Outbox(t, store, Journal(store), lambda error: None)
    outbox.restore(await store.latest_by("cursors", "consumer"))
    async with running(outbox):
        assert await t.wait_sent(1) == [("42", "<two>", False)]
        recorded = await cursors(store, 2)
    assert [(c, b) for c, b, _ in t.asked] == [("42", "<one>")]
    assert recorded[0]["detail"]["platform_message_id"] == "ts-1"
    assert recorded[-1]["position"] == seq
    assert await uncertain(store) == ["found"]


async def test_part_the_platform_cannot_vouch_for_is_sent_again_from_there(
    store: Store,
) -> None:
    t = FindingTransport(found=None)
    seq = await crashed_while_sending(store, "one|two|three", sent=1, parts=3)
    outbox = Outbox(t, store, Journal(store), lambda error: None)
    outbox.restore(await store.latest_by("cursors", "consumer"))
    assert outbox.position == 0
    async with running(outbox):
        # Part 1 was recorded as sent: only parts 2 and 3 go out, part 2 again.
        assert await t.wait_sent(2) == [("42", "<two>", False), ("42", "<three>", False)]
        recorded = await cursors(store, 2)
        every = await cursors(store, 5, sending=True)
    assert [r["detail"]["sent"] for r in recorded] == [2, 3]
    assert recorded[-1]["position"] == seq
    # Each part's "sending" record precedes its delivery record.
    kinds = [
        ("sending", r["detail"]["sending"])
        if "sending" in r["detail"]
        else ("sent", r["detail"]["sent"])
        for r in every
    ]
    assert kinds == [("sending", 2), ("sending", 2), ("sent", 2), ("sending", 3), ("sent", 3)]
    assert await uncertain(store) == ["resent"]
