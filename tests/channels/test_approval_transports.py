"""The transports' approval messages through the real SDKs against the loopback fakes,
in-process: the largest prompt fits each platform's limits (Telegram: 4,096 characters
of valid HTML; Slack: 3,000 per section), and settling drops the buttons."""

from __future__ import annotations

import json
from typing import Any

from pulsed.agent.events import ApprovalRequested
from pulsed.channels.approvals import outcome_line, prompt_for
from pulsed.channels.slack import SlackTransport
from pulsed.channels.telegram import TelegramTransport
from pulsed.config import SlackConfig, TelegramConfig
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack
from tests.fakes.telegram import FakeTelegram

from .test_slack import slack

__all__ = ["slack"]  # a fixture, used by name


def largest(tool: str = "shell") -> Any:
    """The longest prompt ``prompt_for`` makes: every line at its cap, the command too,
    full of characters both platforms escape."""
    args: dict[str, Any] = {f"{'k' * 60}{i}": "<&>" * 200 for i in range(20)}
    args["command"] = "echo '<a & b>' " * 600
    return prompt_for(
        ApprovalRequested(
            turn_id="t",
            session_id="s",
            request_id="ap-0123456789ab",
            tool=tool,
            arguments_json=json.dumps(args),
            timeout_s=120,
        )
    )


async def test_telegram_largest_prompt_fits_and_settles(tg: FakeTelegram):
    t = TelegramTransport(TelegramConfig(token=tg.token, api_base_url=tg.base_url))
    await t.open(None)  # type: ignore[arg-type]  # no receiving here
    try:
        prompt = largest()
        mid = await t.ask("111", prompt)
        (sent,) = tg.sent
        assert str(sent.message_id) == mid and len(sent.keyboard) == 3
        assert "echo '<a & b>'" in sent.visible and "[cut: the command is" in sent.visible
        assert [b["callback_data"] for b in sent.keyboard] == [
            "ap-0123456789ab:o",
            "ap-0123456789ab:s",
            "ap-0123456789ab:d",
        ]
        await t.settle("111", mid, prompt, outcome_line("deny", "@alice & co"))
        assert sent.edits == 1 and sent.keyboard == []
        assert sent.visible.endswith("❌ denied by @alice & co")
    finally:
        await t.close()


async def test_slack_largest_prompt_fits_and_settles(slack: FakeSlack):
    t = SlackTransport(
        SlackConfig(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_base_url=slack.api_url)
    )
    await t.open(None)  # type: ignore[arg-type]
    prompt = largest()
    ts = await t.ask("CGENERAL:1700000000.000001", prompt)
    (post,) = slack.posts
    assert post.ts == ts and post.thread_ts == "1700000000.000001"
    assert [b["value"] for b in post.buttons] == ["ap-0123456789ab"] * 3
    assert "echo '&lt;a &amp; b&gt;'" in post.shown and "more" in post.shown
    await t.settle("CGENERAL:1700000000.000001", ts, prompt, outcome_line("once", "<@UALICE>"))
    assert post.edits == 1 and post.buttons == []
    assert post.shown.endswith("✅ allowed once by <@UALICE>")


async def test_telegram_settle_drops_the_buttons_when_the_text_cannot_be_edited(
    tg: FakeTelegram,
):
    t = TelegramTransport(TelegramConfig(token=tg.token, api_base_url=tg.base_url))
    await t.open(None)  # type: ignore[arg-type]
    try:
        prompt = largest("write_file")
        mid = await t.ask("111", prompt)
        (sent,) = tg.sent
        before = sent.visible
        tg.refuse("editMessageText", "Bad Request: message can't be edited")
        await t.settle("111", mid, prompt, outcome_line("timeout"))
        assert sent.keyboard == [] and sent.visible == before
        assert [m for m, _ in tg.calls][-2:] == ["editMessageText", "editMessageReplyMarkup"]
    finally:
        await t.close()
