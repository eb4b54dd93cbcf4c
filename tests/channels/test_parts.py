"""The channel's parts in-process, on a local store and an in-memory transport: the
outbox's resume, retries and plain fallback; access and pairing; sessions; commands."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

import pytest

from pulsed.channels import commands
from pulsed.channels.access import Access
from pulsed.channels.format import Part
from pulsed.channels.journal import Journal
from pulsed.channels.outbox import Outbox, answer_text
from pulsed.channels.sessions import Sessions
from pulsed.channels.supervisor import Supervisor
from pulsed.channels.transport import Inbound, Inbox, SendError, Transport, TypingPhase
from pulsed.config import ChannelConfig
from pulsed.errors import NotFound
from pulsed.store import rows
from pulsed.store.base import Row, Store, TailStart, make_filters
from pulsed.store.local import LocalStore
from pulsed.store.schema import EVENTS


class MemoryTransport(Transport):
    """Renders by cutting at ``|``; records sends; fails the next sends on request."""

    name = "mem"
    platform = "Memory"

    def __init__(self, cfg: ChannelConfig) -> None:
        super().__init__(cfg)
        self.sent: list[tuple[str, str, bool]] = []
        self.errors: list[SendError] = []
        self.changed = asyncio.Event()

    async def open(self, inbox: Inbox) -> None:
        pass

    async def connect(self) -> str:
        return "@mem"

    async def receive(self) -> None:
        await asyncio.Event().wait()

    async def disconnect(self) -> None:
        pass

    async def send(self, chat: str, part: Part, plain: bool) -> str:
        self.changed.set()
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append((chat, part.plain if plain else part.body, plain))
        return str(len(self.sent))

    async def typing(self, inbound: Inbound, phase: TypingPhase) -> None:
        pass

    async def close(self) -> None:
        pass

    def render(self, markdown: str) -> list[Part]:
        return [Part(f"<{p}>", p) for p in markdown.split("|")]

    async def wait_sent(self, n: int) -> list[tuple[str, str, bool]]:
        async with asyncio.timeout(10):
            while len(self.sent) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.sent


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = LocalStore(tmp_path / "data")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def fast(**over: object) -> ChannelConfig:
    cfg = ChannelConfig(retry_initial_s=0.01, retry_max_s=0.02, retry_attempts=3)
    for k, v in over.items():
        setattr(cfg, k, v)
    return cfg


async def answer(store: Store, text: str, chat: str = "42") -> Row:
    (row,) = await store.append(
        "messages",
        [
            rows.agent_response(
                session_id=f"mem:{chat}", target=f"mem:{chat}", content={"text": text}
            )
        ],
    )
    return row


async def cursors(store: Store, n: int, *, sending: bool = False) -> list[Row]:
    """The first ``n`` cursors rows, once they are appended (without the outbox's
    ``sending`` records unless ``sending``)."""
    got: list[Row] = []
    async with (
        asyncio.timeout(10),
        aclosing(store.tail("cursors", [], TailStart.earliest())) as tail,
    ):
        async for batch in tail:
            got.extend(r for r in batch if sending or "sending" not in (r["detail"] or {}))
            if len(got) >= n:
                return got[:n]
    raise AssertionError("the tail ended")


@asynccontextmanager
async def running(outbox: Outbox) -> AsyncIterator[None]:
    task = asyncio.create_task(outbox.run())
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_commands_parse() -> None:
    assert commands.parse("/Status@pulse_bot now") == "status"
    assert commands.parse("  /new") == "new"
    assert commands.parse("/unknown") is None
    assert commands.parse("hello /new") is None


def test_answer_text_of_errors_and_answers() -> None:
    def row(message_type: str, content: dict[str, str]) -> Row:
        return Row("messages", 1, {"message_type": message_type, "content": content})

    assert answer_text(row("agent_response", {"text": "hi"})) == "hi"
    assert answer_text(row("agent_response", {})) == "(empty answer)"
    assert answer_text(row("error", {"code": "cancelled"})) == "(The answer was cancelled.)"
    assert answer_text(row("error", {"text": "boom"})) == "⚠️ I could not answer: boom"


async def test_outbox_records_each_part_and_resumes_after_a_partial(store: Store) -> None:
    t = MemoryTransport(fast())
    row = await answer(store, "one|two|three")
    # A previous run sent part 1 of 3 and died.
    await store.append(
        "cursors",
        [
            rows.delivery(
                "channel:mem",
                position=0,
                message_id=str(row["id"]),
                seq=row.seq,
                target="mem:42",
                sent=1,
                parts=3,
                platform_message_id="p1",
                attempts=1,
            )
        ],
    )
    outbox = Outbox(t, store, Journal(store), lambda error: None)
    outbox.restore(await store.latest_by("cursors", "consumer"))
    async with running(outbox):
        assert await t.wait_sent(2) == [("42", "<two>", False), ("42", "<three>", False)]
        recorded = await cursors(store, 3)
    assert [r["detail"]["sent"] for r in recorded] == [1, 2, 3]
    assert recorded[-1]["position"] == row.seq and "partial" not in recorded[-1]["detail"]
    assert recorded[1]["position"] == 0 and recorded[1]["detail"]["partial"] is True
    # What a restart resumes from (the running outbox may be cancelled mid-append).
    after = Outbox(t, store, Journal(store), lambda error: None)
    after.restore(await store.latest_by("cursors", "consumer"))
    assert after.position == row.seq and await after.pending() == 0


async def test_outbox_retries_then_falls_back_to_plain(store: Store) -> None:
    t = MemoryTransport(fast())
    t.errors = [
        SendError("502", retryable=True, retry_after=0.01),
        SendError("can't parse entities", retryable=False, format_error=True),
    ]
    errors: list[str] = []
    outbox = Outbox(t, store, Journal(store), errors.append)
    await answer(store, "**x**")
    async with running(outbox):
        assert await t.wait_sent(1) == [("42", "**x**", True)]
        (record,) = await cursors(store, 1)
    assert record["detail"]["attempts"] == 2  # the plain retry is not an attempt
    assert errors == ["send to 42: 502"]


async def test_outbox_gives_up_visibly(store: Store) -> None:
    t = MemoryTransport(fast(retry_attempts=2))
    t.errors = [SendError("down", retryable=True), SendError("down", retryable=True)]
    outbox = Outbox(t, store, Journal(store), lambda error: None)
    row = await answer(store, "lost")
    async with running(outbox):
        (record,) = await cursors(store, 1)
    assert record["position"] == row.seq and record["detail"]["failed"] is True
    count, failures = await outbox.failures()
    assert count == 1 and failures[0].attempts == 2 and failures[0].target == "mem:42"
    assert t.sent == [] and outbox.delivered == 0


async def test_refusals_are_rate_limited(store: Store) -> None:
    access = Access("mem", "Memory", fast(), Journal(store))
    stranger = Inbound(chat="9", user_id="9", text="hi", message_id="1", dedupe="a")
    assert "user id is 9" in (await access.refusal(stranger) or "")
    assert await access.refusal(stranger) is None
    assert not access.allowed("9")
    (ev,) = await store.query("events", make_filters(EVENTS, [("source", "eq", "channel:mem")]))
    assert ev["event_type"] == "channel_refused" and ev["payload"]["suppressed_since_last"] == 0


async def test_pairing_admits_and_survives_a_restart(store: Store) -> None:
    cfg = fast(pairing=True, refusal_interval_s=0.0)
    access = Access("mem", "Memory", cfg, Journal(store))
    bob = Inbound(chat="7", user_id="7", text="hi", message_id="1", dedupe="a", user_name="bob")
    text = await access.refusal(bob) or ""
    code = text.rsplit(" ", 1)[1].strip("`")
    assert await access.refusal(bob) == text  # the same code again
    reloaded = Access("mem", "Memory", cfg, Journal(store))
    await reloaded.load(store)
    assert reloaded.has_code(code) and reloaded.pending_pairings() == 1
    with pytest.raises(NotFound):
        await reloaded.approve("NOPE42")
    entry = await reloaded.approve(code)
    assert (entry.user_id, entry.user_name, entry.chat) == ("7", "bob", "7")
    assert reloaded.allowed("7") and not reloaded.has_code(code)
    again = Access("mem", "Memory", cfg, Journal(store))
    await again.load(store)
    assert again.allowed("7") and again.paired_users == 1 and again.pending_pairings() == 0


async def test_new_session_is_durable(store: Store) -> None:
    sessions = Sessions("mem", store)
    assert sessions.session_for("5") == "mem:5"
    assert await sessions.new("5") == "mem:5:2"
    assert await sessions.new("5") == "mem:5:3"
    restored = Sessions("mem", store)
    restored.restore(await store.latest_by("cursors", "consumer"))
    assert restored.session_for("5") == "mem:5:3" and restored.session_for("6") == "mem:6"


async def test_supervisor_state_follows_the_link(store: Store) -> None:
    sup = Supervisor(MemoryTransport(fast()), Journal(store))
    await sup.set_state("connected")
    await sup.link(True)
    await sup.link(False, "dropped")
    assert sup.state == "reconnecting" and sup.last_error == "dropped"
    await sup.link(False, "still down")
    await sup.link(True)
    states = [
        (r["payload"]["previous"], r["payload"]["state"], r["severity"])
        for r in await store.query(
            "events", make_filters(EVENTS, [("event_type", "eq", "channel_state")]), order="asc"
        )
    ]
    assert states == [
        ("stopped", "connected", "info"),
        ("connected", "reconnecting", "warning"),
        ("reconnecting", "connected", "info"),
    ]
