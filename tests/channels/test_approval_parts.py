"""The channel's approvals in-process: the prompt's text (short, redacted; the shell's
command whole), and ChatApprovals with a real ApprovalBroker, a local store and an
in-memory transport with buttons: presses by whom and where, a prompt that cannot be
posted, retried posts."""

from __future__ import annotations

import asyncio
import json

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.events import ApprovalRequested
from pulsed.channels.access import Access
from pulsed.channels.approvals import (
    ARG_PREVIEW_CHARS,
    MAX_ARG_LINES,
    MAX_CODE_CHARS,
    MAX_LINE_CHARS,
    NOT_ALLOWED,
    NOT_OPEN,
    ChatApprovals,
    outcome_line,
    prompt_for,
)
from pulsed.channels.journal import Journal
from pulsed.channels.transport import ApprovalPrompt, Press, SendError
from pulsed.config import ChannelConfig
from pulsed.store.base import Store, make_filters
from pulsed.store.schema import EVENTS

from .test_parts import MemoryTransport, fast, store

__all__ = ["store"]  # a fixture, used by name


def requested(tool: str, args: object, rid: str = "ap-1", turn: str = "t1") -> ApprovalRequested:
    return ApprovalRequested(
        turn_id=turn,
        session_id="mem:42",
        request_id=rid,
        tool=tool,
        arguments_json=json.dumps(args),
        timeout_s=30.0,
        approval_key="k",
    )


def test_prompt_is_short_and_redacted():
    p = prompt_for(
        requested(
            "write_file",
            {
                "path": "notes.txt",
                "content": "line one\nline two " + "x" * 500,
                "api_key": "sk-abcdefghijklmnopqrstuvwx",
                "header": "Authorization: Bearer abcdefghijklmnop",
            },
        )
    )
    assert p.tool == "write_file" and p.code == "" and p.timeout_s == 30.0
    assert p.lines[0] == "path: notes.txt"
    assert p.lines[1].startswith("content: line one⏎ line two xxx")
    assert len(p.lines[1]) < ARG_PREVIEW_CHARS + 40
    assert p.lines[2] == "api_key: ***"
    assert "abcdefghijklmnop" not in p.lines[3] and "***" in p.lines[3]

    many = prompt_for(requested("t", {f"a{i}": i for i in range(20)}))
    assert len(many.lines) == MAX_ARG_LINES + 1 and many.lines[-1] == "… and 12 more"
    assert prompt_for(requested("t", [1, 2])).lines == ("arguments: [1, 2]",)
    (long_key,) = prompt_for(requested("t", {"k" * 500: "v"})).lines
    assert len(long_key) == MAX_LINE_CHARS and long_key.endswith("…")


def test_shell_prompt_shows_the_whole_command():
    command = "cd /srv && " + " ".join(f"step{i}" for i in range(60)) + " | tee out.txt"
    p = prompt_for(requested("shell", {"command": command, "timeout_s": 5}))
    assert p.code == command  # whole: that exact command is what is approved
    assert p.lines == ("timeout_s: 5",)
    huge = prompt_for(requested("shell", {"command": "echo " + "y" * 5000})).code
    assert huge.startswith("echo yyy") and huge.endswith("[cut: the command is 5005 chars]")
    assert len(huge) < MAX_CODE_CHARS + 50
    secret = prompt_for(
        requested("shell", {"command": "curl -H 'Authorization: Bearer abcdefghijkl'"})
    )
    assert "abcdefghijkl" not in secret.code and secret.code.startswith("curl -H ")
    assert "***" in secret.code


def test_outcome_lines():
    assert outcome_line("once", "@alice") == "✅ allowed once by @alice"
    assert outcome_line("session", "@alice") == "✅ allowed for this session by @alice"
    assert outcome_line("deny", "@bob") == "❌ denied by @bob"
    assert outcome_line("timeout").startswith("⌛ timed out")


class ButtonTransport(MemoryTransport):
    """MemoryTransport with approval buttons: records prompts and their edits."""

    approvals = True

    def __init__(self, cfg: ChannelConfig) -> None:
        super().__init__(cfg)
        self.asked: list[tuple[str, ApprovalPrompt]] = []
        self.settled: list[tuple[str, str, str]] = []
        self.ask_errors: list[SendError] = []

    async def ask(self, chat: str, prompt: ApprovalPrompt) -> str:
        self.changed.set()
        if self.ask_errors:
            raise self.ask_errors.pop(0)
        self.asked.append((chat, prompt))
        return f"m{len(self.asked)}"

    async def settle(
        self, chat: str, message_id: str, prompt: ApprovalPrompt, outcome: str
    ) -> None:
        self.settled.append((chat, message_id, outcome))
        self.changed.set()

    async def until(self, check: object) -> None:
        async with asyncio.timeout(10):
            while not check():  # type: ignore[operator]
                self.changed.clear()
                await self.changed.wait()


def parts(store: Store, **over: object) -> tuple[ButtonTransport, ApprovalBroker, ChatApprovals]:
    cfg = fast(allow_from=["alice"], **over)
    transport = ButtonTransport(cfg)
    broker = ApprovalBroker()
    journal = Journal(store)
    access = Access("mem", "Memory", cfg, journal)
    return transport, broker, ChatApprovals(transport, broker, access, journal)


async def ask(broker: ApprovalBroker, approvals: ChatApprovals, chat: str = "42"):
    """Open a request as a turn does and start showing it; (broker's wait, run task)."""
    rid, fut = broker.open("mem:42", "write_file", "k")
    ev = requested("write_file", {"path": "a"}, rid=rid)
    entry = approvals.begin(ev, chat)
    assert entry is not None
    shown = asyncio.create_task(approvals.run(entry))
    waited = asyncio.create_task(broker.wait(rid, fut, ev.timeout_s))
    return rid, waited, shown


def press(rid: str, user: str = "alice", decision: str = "once", chat: str = "42") -> Press:
    return Press(chat, "m1", user, f"@{user}", rid, decision)


async def events(store: Store, kind: str) -> list[dict]:
    found = await store.query("events", make_filters(EVENTS, [("event_type", "eq", kind)]))
    return [r["payload"] for r in found]


async def test_presses_count_only_from_an_allowed_user_in_the_chat(store: Store):
    transport, broker, approvals = parts(store)
    rid, waited, shown = await ask(broker, approvals)
    await transport.until(lambda: transport.asked)
    assert approvals.waiting("t1")
    assert (await approvals.press(press(rid, user="mallory"))).text == NOT_ALLOWED
    assert (await approvals.press(press(rid, chat="43"))).text == NOT_OPEN  # another chat
    assert (await approvals.press(press(rid, decision="always"))).text == NOT_OPEN
    assert broker.pending(rid) is not None and not waited.done()

    reply = await approvals.press(press(rid, decision="session"))
    assert reply.settled and reply.text == "Allowed for this session."
    assert await waited == "approved_session"
    assert broker.allowed("mem:42", "write_file", "k")
    assert (await approvals.press(press(rid, decision="deny"))).text == NOT_OPEN
    await shown
    assert transport.settled == [("42", "m1", "✅ allowed for this session by @alice")]
    assert not approvals.waiting("t1")
    (ev,) = await events(store, "approval_decided")
    assert ev["decision"] == "session" and ev["user_id"] == "alice" and ev["chat"] == "42"
    (refused,) = await events(store, "approval_refused")
    assert refused["user_id"] == "mallory"


async def test_a_prompt_that_cannot_be_posted_is_denied_at_once(store: Store):
    transport, broker, approvals = parts(store)
    transport.ask_errors = [SendError("chat not found", retryable=False)]
    rid, waited, shown = await ask(broker, approvals)
    assert await asyncio.wait_for(waited, 5) == "denied"  # not the 30 s timeout
    await shown
    assert transport.asked == [] and transport.settled == []
    (ev,) = await events(store, "approval_decided")
    assert ev["decision"] == "unshown" and ev["error"] == "chat not found"


async def test_a_failed_post_is_retried(store: Store):
    transport, broker, approvals = parts(store)
    transport.ask_errors = [SendError("502", retryable=True), SendError("502", retryable=True)]
    rid, waited, shown = await ask(broker, approvals)
    await transport.until(lambda: transport.asked)
    await approvals.press(press(rid, decision="deny"))
    assert await waited == "denied"
    await shown
    assert transport.settled == [("42", "m1", "❌ denied by @alice")]


async def test_broker_timeout_settles_as_timed_out(store: Store):
    transport, broker, approvals = parts(store)
    rid, fut = broker.open("mem:42", "write_file", "k")
    ev = requested("write_file", {"path": "a"}, rid=rid)
    entry = approvals.begin(ev, "42")
    assert entry is not None and approvals.begin(ev, "42") is None  # registered once
    shown = asyncio.create_task(approvals.run(entry))
    assert await broker.wait(rid, fut, 0.05) == "timeout"
    approvals.tool_done("t1")  # the turn goes on: its tool result comes
    await shown
    assert transport.settled[0][2].startswith("⌛ timed out")
    assert (await approvals.press(press(rid))).text == NOT_OPEN


async def test_approvals_off_or_without_a_broker(store: Store):
    _, _, approvals = parts(store, approvals=False)
    assert not approvals.enabled
    assert approvals.begin(requested("write_file", {}), "42") is None
    cfg = fast(allow_from=["alice"])
    journal = Journal(store)
    without = ChatApprovals(ButtonTransport(cfg), None, Access("mem", "M", cfg, journal), journal)
    assert not without.enabled
    plain = ChatApprovals(
        MemoryTransport(cfg), ApprovalBroker(), Access("mem", "M", cfg, journal), journal
    )
    assert not plain.enabled  # the transport has no buttons


async def test_prompts_left_open_by_a_stop_expire_at_the_next_start(store: Store):
    transport, broker, approvals = parts(store)
    rid, waited, shown = await ask(broker, approvals)
    await transport.until(lambda: transport.asked)
    answered_rid, answered, answered_task = await ask(broker, approvals, chat="43")
    await transport.until(lambda: len(transport.asked) == 2)
    await approvals.press(press(answered_rid, chat="43"))
    await answered_task
    assert len(await events(store, "approval_shown")) == 2
    for t in (waited, shown):  # the daemon stops: nothing more happens to the first
        t.cancel()

    again, _, later = parts(store)
    await later.load(store)
    await later.expire_stale()
    (edit,) = again.settled
    assert edit == ("42", "m1", "⌛ expired: pulsed restarted before an answer")
    decisions = {e["request_id"]: e["decision"] for e in await events(store, "approval_decided")}
    assert decisions == {rid: "expired", answered_rid: "once"}
    # Recorded, so a later start leaves it alone.
    third, _, latest = parts(store)
    await latest.load(store)
    await latest.expire_stale()
    assert third.settled == []
