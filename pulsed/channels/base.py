"""What every chat channel shares: access control, sessions, commands, the durable outbox
and a supervised, watched receiver. ``telegram.py`` and ``slack.py`` add the platform.

Inbound: a message from an allowed person is appended to ``messages`` (durably, before
the platform is told it was received) with source = the channel, a session per chat and
``channel_metadata.deliver_to = "<channel>:<chat>"``, then submitted as a turn. The
agent's answer row carries that target.

Outbound (the outbox): the channel tails ``messages`` for rows whose target starts with
``<channel>:`` from its cursor (consumer ``channel:<name>`` in the ``cursors`` stream),
sends each, and after every sent part appends one cursor row, durably, that is both the
record of the delivery and the cursor's advance. After a restart it resumes after the
last recorded part, so no reply is lost and none is sent twice. Failed sends are retried
with exponential backoff; a reply that cannot be delivered becomes a
``channel_delivery_failed`` event and the cursor moves past it.

The one window left: the platform has accepted a part and the daemon dies before the
cursor row is on disk (the time of one local fsync, milliseconds). That part is sent
again after the restart. A send that times out is just as ambiguous and is retried too:
the platforms offer no idempotency key for a bot's messages, so "at least once" is the
safe side of that window; everywhere else delivery is exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pulsed.agent.intake import TurnHandle, TurnInput
from pulsed.channels.deps import ChannelDeps
from pulsed.channels.format import Part
from pulsed.config import ChannelConfig
from pulsed.errors import NotFound, PulseError, Unavailable
from pulsed.store.base import Row, TailStart, make_filters, now_iso, parse_iso, to_iso
from pulsed.store.schema import EVENTS, MESSAGES
from pulsed.timeutil import local_midnight

log = logging.getLogger("pulsed.channels")

DELIVERABLE = ("agent_response", "error")
"""Message types the outbox sends."""

TYPING_REFRESH_S = 4.0
"""Telegram's typing status lasts 5 s; it is renewed this often while a turn runs."""

PAIRING_TTL_S = 3600.0
"""How long a pairing code stays valid."""

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Pairing code letters: no 0/O or 1/I to misread."""

SEEN_MAX = 2000
"""Platform message ids remembered to drop redeliveries."""

STATES = ("disabled", "stopped", "connecting", "connected", "reconnecting", "error")


class SendError(Exception):
    """A send the platform refused or that did not complete.

    Attributes:
        retryable: a network error, a timeout, 429 or 5xx: trying again may work.
        retry_after: seconds the platform asked to wait, when it said.
        format_error: the platform could not parse the formatted text; sending the
            plain text instead will work.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        format_error: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.format_error = format_error


class ConnectError(Exception):
    """Connecting failed. ``permanent`` when retrying soon cannot help (a bad token)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class _Stalled(Exception):
    """The receiver showed no sign of life within the watchdog's limit."""


@dataclass
class Inbound:
    """A message from the platform, in platform-neutral terms.

    Attributes:
        chat: where answers go within the platform (Telegram: the chat id; Slack: the
            channel id, plus ``:<thread ts>`` in a thread).
        user_id: the platform's user id (checked against ``allow_from``).
        text: the message text.
        message_id: the platform's id of the message.
        dedupe: a key that is the same when the platform delivers the message again.
        user_name: a display name, where known.
        meta: further channel metadata stored with the message.
    """

    chat: str
    user_id: str
    text: str
    message_id: str
    dedupe: str
    user_name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Failure:
    """A reply that could not be delivered."""

    message_id: str
    target: str
    error: str
    at: str
    attempts: int


@dataclass
class ChannelInfo:
    """A channel's state as ``pulsectl channels list | status`` shows it."""

    name: str
    enabled: bool
    state: str
    identity: str = ""
    last_error: str = ""
    last_error_at: str = ""
    connected_since: str = ""
    last_inbound_at: str = ""
    pending_outbox: int = 0
    delivered: int = 0
    failed_deliveries: int = 0
    restarts: int = 0
    allowed_users: int = 0
    paired_users: int = 0
    pending_pairings: int = 0
    failures: list[Failure] = field(default_factory=list)


class Channel(ABC):
    """One chat platform. ``await start()`` runs it in background tasks; ``await stop()``.

    Subclasses implement the platform hooks: ``open``, ``connect``, ``receive``,
    ``disconnect``, ``send``, ``typing``, ``close`` and ``render``.
    """

    name = ""
    platform = ""

    def __init__(self, deps: ChannelDeps, ccfg: ChannelConfig) -> None:
        self.d = deps
        self.ccfg = ccfg
        self.state = "stopped"
        self.identity = ""
        self.last_error = ""
        self.last_error_at = ""
        self.connected_since = ""
        self.last_inbound_at = ""
        self.restarts = 0
        self.delivered = 0
        self.position = 0
        """Sequence number of the last messages row the outbox finished with."""
        self.inbound_position = 0
        """The platform's position of the last handled inbound update (Telegram)."""
        self._partial: dict[str, Any] | None = None
        self._generations: dict[str, int] = {}
        self._paired: set[str] = set()
        self._codes: dict[str, dict[str, Any]] = {}
        self._refused: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.chats: set[str] = set()
        """Chats the channel has talked in (Slack follows threads it is part of)."""
        self._alive = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._helpers: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._inbound_lock = asyncio.Lock()

    # -- platform hooks ---------------------------------------------------------------

    @abstractmethod
    async def open(self) -> None:
        """Build the platform clients (no network yet)."""

    @abstractmethod
    async def connect(self) -> str:
        """Check the credentials and connect; returns the bot's name on the platform.

        Raises:
            ConnectError: the platform refused (``permanent`` for a bad token) or is
                unreachable.
        """

    @abstractmethod
    async def receive(self) -> None:
        """Receive until cancelled, calling ``handle`` per message and ``alive`` at each
        sign of life. Raises when the connection fails."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Drop the receiving connection after ``receive`` ended (before a reconnect)."""

    @abstractmethod
    async def send(self, chat: str, part: Part, plain: bool) -> str:
        """Send one message part to ``chat`` (its plain text when ``plain``); returns the
        platform's message id.

        Raises:
            SendError: the platform refused or the send did not complete.
        """

    @abstractmethod
    async def typing(self, inbound: Inbound, phase: str) -> None:
        """Show that a turn runs: ``phase`` is start, refresh or stop. Never raises."""

    @abstractmethod
    async def close(self) -> None:
        """Release the platform clients."""

    @abstractmethod
    def render(self, markdown: str) -> list[Part]:
        """An answer as the platform's message parts, each under its limit."""

    def stall_limit(self) -> float:
        """Seconds without a sign of life after which the receiver is restarted."""
        return self.ccfg.stall_s

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Load the channel's state from the store and start its tasks. Never raises:
        a channel that cannot start shows state ``error``."""
        self._stopping = False
        try:
            await self._load()
            await self.open()
        except Exception as e:
            log.exception("%s: cannot start", self.name)
            await self._set_state("error", f"cannot start: {type(e).__name__}: {e}")
            return
        self._tasks = [
            asyncio.create_task(self._supervise(), name=f"channel:{self.name}:receive"),
            asyncio.create_task(self._outbox(), name=f"channel:{self.name}:outbox"),
        ]

    async def stop(self, drain_s: float = 2.0) -> None:
        """Let the outbox catch up for up to ``drain_s`` seconds, then stop everything.
        Calling it again does nothing."""
        if self._stopping:
            return
        if self._tasks and drain_s > 0:
            deadline = time.monotonic() + drain_s
            with contextlib.suppress(Exception):
                while time.monotonic() < deadline and await self.pending() > 0:
                    if self._tasks[-1].done():
                        break
                    await asyncio.sleep(0.05)
        self._stopping = True
        tasks = self._tasks + list(self._helpers)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.disconnect()
        with contextlib.suppress(Exception):
            await self.close()
        if self.state != "error":
            self.state = "stopped"

    def alive(self) -> None:
        """The receiver is working (called at each poll, ping or message)."""
        self._alive = time.monotonic()

    def spawn(self, coro: Any, name: str = "") -> None:
        """Run ``coro`` in the background; it is cancelled when the channel stops."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name or f"channel:{self.name}")
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    async def _set_state(self, state: str, error: str = "") -> None:
        old = self.state
        self.state = state
        if error:
            self.last_error = error
            self.last_error_at = now_iso()
        if state == "connected":
            self.connected_since = now_iso()
        if state == old:
            return
        log.log(
            logging.WARNING if error else logging.INFO,
            "%s: %s%s",
            self.name,
            state,
            f" ({error})" if error else "",
        )
        with contextlib.suppress(PulseError):
            await self.d.store.append(
                "events",
                [
                    {
                        "event_type": "channel_state",
                        "source": f"channel:{self.name}",
                        "severity": "error"
                        if state == "error"
                        else ("warning" if error else "info"),
                        "payload": {
                            "channel": self.name,
                            "state": state,
                            "previous": old,
                            "error": error,
                        },
                        "tags": ["channel", self.name],
                    }
                ],
            )

    async def _supervise(self) -> None:
        """Connect, receive, watch; on failure or stall reconnect with backoff."""
        delay = 1.0
        first = True
        while not self._stopping:
            await self._set_state("connecting" if first else "reconnecting")
            first = False
            try:
                self.identity = await asyncio.wait_for(self.connect(), timeout=60)
                await self._set_state("connected")
                delay = 1.0
                self.alive()
                await self._watch()
            except asyncio.CancelledError:
                raise
            except ConnectError as e:
                if e.permanent:
                    await self._set_state("error", e.message)
                    delay = 300.0
                else:
                    await self._set_state("reconnecting", e.message)
            except _Stalled as e:
                self.restarts += 1
                await self._set_state("reconnecting", str(e))
                await self._event("channel_restarted", "warning", {"reason": str(e)})
            except Exception as e:
                log.debug("%s: receiver failed", self.name, exc_info=True)
                await self._set_state("reconnecting", _describe(e))
            with contextlib.suppress(Exception):
                await self.disconnect()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def _watch(self) -> None:
        recv = asyncio.create_task(self.receive(), name=f"channel:{self.name}:recv")
        tick = max(0.05, min(self.stall_limit() / 4, 5.0))
        try:
            while True:
                done, _ = await asyncio.wait({recv}, timeout=tick)
                if recv in done:
                    recv.result()
                    raise ConnectError("the receiver ended")
                idle = time.monotonic() - self._alive
                if idle > self.stall_limit():
                    raise _Stalled(f"no sign of life for {idle:.0f} s; restarting the receiver")
        finally:
            if not recv.done():
                recv.cancel()
                with contextlib.suppress(BaseException):
                    await recv

    async def _event(self, event_type: str, severity: str, payload: dict[str, Any]) -> None:
        with contextlib.suppress(PulseError):
            await self.d.store.append(
                "events",
                [
                    {
                        "event_type": event_type,
                        "source": f"channel:{self.name}",
                        "severity": severity,
                        "payload": {"channel": self.name, **payload},
                        "tags": ["channel", self.name],
                    }
                ],
                durable=event_type == "channel_delivery_failed",
            )

    # -- state in the store -----------------------------------------------------------

    @property
    def consumer(self) -> str:
        """This channel's outbox consumer name in the cursors stream."""
        return f"channel:{self.name}"

    async def _load(self) -> None:
        store = self.d.store
        sessions = self.consumer + ":session:"
        for row in await store.latest_by("cursors", "consumer"):
            consumer = str(row["consumer"])
            if consumer == self.consumer:
                self.position = int(row["position"])
                detail = row["detail"] if isinstance(row["detail"], dict) else {}
                if detail.get("partial"):
                    self._partial = {"seq": int(detail["seq"]), "sent": int(detail["sent"])}
            elif consumer == self.consumer + ":inbound":
                self.inbound_position = int(row["position"])
            elif consumer.startswith(sessions):
                self._generations[consumer[len(sessions) :]] = int(row["position"])
        for row in await store.query(
            "events", make_filters(EVENTS, [("event_type", "eq", "channel_paired")]), limit=10000
        ):
            payload = row["payload"]
            if isinstance(payload, dict) and payload.get("channel") == self.name:
                self._paired.add(str(payload.get("user_id", "")))
        since = to_iso(datetime.now(UTC) - timedelta(seconds=PAIRING_TTL_S))
        for row in await store.query(
            "events",
            make_filters(EVENTS, [("event_type", "eq", "channel_pairing_code")]),
            since=since,
            order="asc",
            limit=10000,
        ):
            payload = row["payload"]
            if isinstance(payload, dict) and payload.get("channel") == self.name:
                uid = str(payload.get("user_id", ""))
                if uid not in self._paired:
                    self._codes[str(payload["code"])] = dict(payload)
        for row in await store.query(
            "messages", make_filters(MESSAGES, [("source", "eq", self.name)]), limit=500
        ):
            meta = row["channel_metadata"]
            if isinstance(meta, dict) and meta.get("dedupe"):
                self._seen[str(meta["dedupe"])] = None
            if isinstance(meta, dict) and meta.get("chat"):
                self.chats.add(str(meta["chat"]))

    async def save_inbound_position(self, position: int) -> None:
        """Record the platform's inbound position (e.g. Telegram's last update id)."""
        self.inbound_position = position
        await self.d.store.append(
            "cursors",
            [
                {
                    "consumer": self.consumer + ":inbound",
                    "stream": self.platform,
                    "position": position,
                }
            ],
        )

    # -- inbound ----------------------------------------------------------------------

    def allowed(self, user_id: str) -> bool:
        """Whether ``user_id`` may talk to the agent (allow_from or paired)."""
        return user_id in self.ccfg.allow_from or user_id in self._paired

    def session_for(self, chat: str) -> str:
        """The session of ``chat``: ``<channel>:<chat>``, plus ``:<n>`` after /new."""
        gen = self._generations.get(chat, 1)
        base = f"{self.name}:{chat}"
        return base if gen <= 1 else f"{base}:{gen}"

    def seen(self, key: str) -> bool:
        """Whether ``key`` was handled before; remembers it otherwise."""
        if not key:
            return False
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return False

    async def handle(self, inb: Inbound) -> None:
        """One inbound message: refuse, answer a command, or store it and start a turn.

        Returns once the message is durable (or refused); sends to strangers and typing
        indicators run in the background. Messages are handled one at a time, in the
        order they arrive.
        """
        async with self._inbound_lock:
            await self._handle(inb)

    async def _handle(self, inb: Inbound) -> None:
        self.alive()
        self.last_inbound_at = now_iso()
        if self.seen(inb.dedupe):
            log.debug("%s: dropping redelivered message %s", self.name, inb.dedupe)
            return
        if not self.allowed(inb.user_id):
            await self._stranger(inb)
            return
        self.chats.add(inb.chat)
        if not inb.text.strip():
            await self.notify(inb.chat, "I can only read text messages for now.")
            return
        command = self._command(inb.text)
        if command:
            await self._command_reply(command, inb)
            return
        session = self.session_for(inb.chat)
        meta = {
            "chat": inb.chat,
            "message_id": inb.message_id,
            "user_name": inb.user_name,
            "dedupe": inb.dedupe,
            "deliver_to": f"{self.name}:{inb.chat}",
            **inb.meta,
        }
        try:
            handle = await self.d.turns.start(
                TurnInput(
                    source=self.name,
                    session_id=session,
                    text=inb.text,
                    user_id=inb.user_id,
                    channel_metadata=meta,
                )
            )
        except Unavailable:
            return  # stored: answered after the restart
        self.spawn(self._typing_while(handle, inb), f"channel:{self.name}:typing")

    async def _typing_while(self, handle: TurnHandle, inb: Inbound) -> None:
        async with handle.events() as events:
            try:
                await self.typing(inb, "start")
                while not handle.done:
                    try:
                        await asyncio.wait_for(events.next(), TYPING_REFRESH_S)
                    except TimeoutError:
                        await self.typing(inb, "refresh")
                    except StopAsyncIteration:
                        break
            finally:
                await self.typing(inb, "stop")

    def _command(self, text: str) -> str:
        words = text.strip().split()
        if not words or not words[0].startswith("/"):
            return ""
        word = words[0][1:].split("@", 1)[0].lower()
        return word if word in ("new", "status", "cost", "start", "help") else ""

    async def _stranger(self, inb: Inbound) -> None:
        now = time.monotonic()
        last = self._refused.get(inb.user_id)
        if last is not None and now - last < self.ccfg.refusal_interval_s:
            self._suppressed[inb.user_id] = self._suppressed.get(inb.user_id, 0) + 1
            return
        self._refused[inb.user_id] = now
        suppressed = self._suppressed.pop(inb.user_id, 0)
        who = {"user_id": inb.user_id, "user_name": inb.user_name, "chat": inb.chat}
        if self.ccfg.pairing:
            code = self._code_for(inb)
            if code is None:
                code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(6))
                expires = to_iso(datetime.now(UTC) + timedelta(seconds=PAIRING_TTL_S))
                entry = {"channel": self.name, "code": code, "expires_at": expires, **who}
                self._codes[code] = entry
                await self._event("channel_pairing_code", "info", entry)
            text = (
                "Hello! I don't know you yet. To be let in, ask my owner to run:\n\n"
                f"`pulsectl channels approve {code}`"
            )
        else:
            await self._event(
                "channel_refused", "warning", {**who, "suppressed_since_last": suppressed}
            )
            text = (
                "Sorry, I only talk with people my owner has allowed. "
                f"(Your {self.platform} user id is {inb.user_id}.)"
            )
        self.spawn(self._send_direct(inb.chat, text), f"channel:{self.name}:refusal")

    def _code_for(self, inb: Inbound) -> str | None:
        now = datetime.now(UTC)
        for code, entry in self._codes.items():
            if entry.get("user_id") == inb.user_id and parse_iso(str(entry["expires_at"])) > now:
                return code
        return None

    async def _send_direct(self, chat: str, text: str) -> None:
        """Best effort, no outbox: refusals and pairing codes to strangers."""
        for part in self.render(text):
            try:
                await self.send(chat, part, plain=False)
            except SendError as e:
                log.info("%s: could not answer a stranger in %s: %s", self.name, chat, e.message)
                return

    async def _command_reply(self, command: str, inb: Inbound) -> None:
        d = self.d
        if command == "new":
            gen = self._generations.get(inb.chat, 1) + 1
            await d.store.append(
                "cursors",
                [
                    {
                        "consumer": f"{self.consumer}:session:{inb.chat}",
                        "stream": "messages",
                        "position": gen,
                        "detail": {"session_id": f"{self.name}:{inb.chat}:{gen}"},
                    }
                ],
                durable=True,
            )
            self._generations[inb.chat] = gen
            text = f"Started a new conversation (session `{self.session_for(inb.chat)}`)."
        elif command == "status":
            text = await self._status_text(inb)
        elif command == "cost":
            text = await self._cost_text(inb)
        else:
            text = (
                f"Hi, I'm {d.cfg.agent.name}. Just write to me.\n\n"
                "/new — start a new conversation\n"
                "/status — what I am running on\n"
                "/cost — what this conversation and today cost"
            )
        await self.notify(inb.chat, text, {"command": command}, user_id=inb.user_id)

    async def _status_text(self, inb: Inbound) -> str:
        st = await self.d.status.snapshot()
        session = self.session_for(inb.chat)
        problem = st.provider_problem
        budget = st.budget_daily_usd
        lines = [
            f"*{st.agent_name}* — pulsed",
            f"Model: {st.provider} / {st.model}"
            + (" (not usable: " + problem + ")" if problem else ""),
            f"Session: `{session}`",
            f"Turns: {st.active_turns} running, {st.queued_turns} queued "
            f"({self.d.turns.queued_behind(session)} in this chat)",
            f"Spent today: ${st.spent_today_usd:.4f}"
            + (f" of ${budget:.2f}" if budget > 0 else ""),
        ]
        return "\n".join(lines)

    async def _cost_text(self, inb: Inbound) -> str:
        d = self.d
        session = self.session_for(inb.chat)
        today = await d.store.cost_summary(since=to_iso(local_midnight()))
        by_session = await d.store.cost_summary(by="session")
        mine = next((b for b in by_session.buckets if b.key == session), None)
        lines = [
            f"This conversation: ${mine.cost_usd:.4f} in {mine.requests} LLM calls "
            f"({mine.input_tokens + mine.output_tokens} tokens)"
            if mine
            else "This conversation: no LLM calls yet",
            f"Today, everything: ${today.total.cost_usd:.4f} in {today.total.requests} calls",
        ]
        if d.cfg.budget.daily_usd > 0:
            lines.append(f"Daily budget: ${d.cfg.budget.daily_usd:.2f}")
        return "\n".join(lines)

    async def notify(
        self, chat: str, text: str, extra: dict[str, Any] | None = None, user_id: str = ""
    ) -> None:
        """Queue ``text`` for ``chat`` through the outbox (a messages row, so it is
        delivered once and shows in the session's history)."""
        await self.d.store.append(
            "messages",
            [
                {
                    "source": "system",
                    "target": f"{self.name}:{chat}",
                    "session_id": self.session_for(chat),
                    "message_type": "agent_response",
                    "content": {"text": text, **(extra or {})},
                    "user_id": user_id,
                }
            ],
            durable=True,
        )

    # -- pairing ----------------------------------------------------------------------

    def has_code(self, code: str) -> bool:
        return code in self._codes

    async def approve(self, code: str) -> dict[str, Any]:
        """Admit the user who was given ``code``; returns their {user_id, chat, ...}.

        Raises:
            NotFound: no such code, or it expired.
        """
        entry = self._codes.get(code)
        if entry is None or parse_iso(str(entry["expires_at"])) <= datetime.now(UTC):
            self._codes.pop(code, None)
            raise NotFound(f"no valid pairing code {code!r} (codes expire after an hour)")
        user_id = str(entry["user_id"])
        await self._event(
            "channel_paired",
            "info",
            {"user_id": user_id, "user_name": entry.get("user_name", ""), "code": code},
        )
        self._paired.add(user_id)
        for c in [c for c, e in self._codes.items() if e.get("user_id") == user_id]:
            del self._codes[c]
        self._refused.pop(user_id, None)
        await self.notify(str(entry["chat"]), "You're in. Say hello!", {"notice": "paired"})
        return entry

    # -- outbox -----------------------------------------------------------------------

    def _filters(self) -> list[Any]:
        # Every target "<name>:..." sorts at or after "<name>:" and before "<name>;".
        return make_filters(
            MESSAGES, [("target", "ge", f"{self.name}:"), ("target", "lt", f"{self.name};")]
        )

    async def _outbox(self) -> None:
        start = TailStart.after(self.position)
        while not self._stopping:
            try:
                async with aclosing(self.d.store.tail("messages", self._filters(), start)) as rows:
                    async for batch in rows:
                        for row in batch:
                            if row.seq <= self.position:
                                continue
                            if row["message_type"] in DELIVERABLE:
                                await self._deliver(row)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: outbox failed; resuming in 1 s", self.name)
                start = TailStart.after(self.position)
                await asyncio.sleep(1)

    @staticmethod
    def answer_text(row: Row) -> str:
        """The text to send for an answer row."""
        content = row["content"] if isinstance(row["content"], dict) else {}
        text = str(content.get("text", ""))
        if row["message_type"] == "error":
            code = content.get("code", "")
            if code == "cancelled":
                return "(The answer was cancelled.)"
            return f"⚠️ I could not answer: {text}"
        return text or "(empty answer)"

    async def _deliver(self, row: Row) -> None:
        chat = str(row["target"]).split(":", 1)[1]
        age = datetime.now(UTC) - parse_iso(str(row["timestamp"]))
        if age.total_seconds() > self.ccfg.deliver_max_age_s:
            await self._give_up(
                row, f"not sent: {int(age.total_seconds())} s old (deliver_max_age_s)", 0
            )
            return
        parts = self.render(self.answer_text(row))
        first = 0
        if self._partial and self._partial["seq"] == row.seq:
            first = self._partial["sent"]
        for i in range(first, len(parts)):
            try:
                platform_id, attempts = await self._send_retrying(chat, parts[i])
            except _GaveUp as e:
                await self._give_up(row, e.message, e.attempts)
                return
            await self._record(row, i + 1, len(parts), platform_id, attempts)
        if first >= len(parts):  # every part was sent before a crash; finish the record
            await self._record(row, len(parts), len(parts), "", 0)
        self.delivered += 1

    async def _send_retrying(self, chat: str, part: Part) -> tuple[str, int]:
        delay = self.ccfg.retry_initial_s
        plain = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.send(chat, part, plain), attempt
            except SendError as e:
                err = e
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug or an unexpected library error: retry it
                log.exception("%s: unexpected send failure", self.name)
                err = SendError(_describe(e), retryable=True)
            if err.format_error and not plain:
                log.warning("%s: formatted text refused (%s); sending plain", self.name, err)
                plain = True
                attempt -= 1
                continue
            self.last_error = f"send to {chat}: {err.message}"
            self.last_error_at = now_iso()
            if not err.retryable or attempt >= self.ccfg.retry_attempts:
                raise _GaveUp(err.message, attempt)
            wait = max(delay, err.retry_after or 0.0)
            log.info(
                "%s: send to %s failed (%s); attempt %d of %d, next in %.1f s",
                self.name,
                chat,
                err.message,
                attempt,
                self.ccfg.retry_attempts,
                wait,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, self.ccfg.retry_max_s)

    async def _record(
        self, row: Row, sent: int, parts: int, platform_id: str, attempts: int
    ) -> None:
        """The delivery record and the cursor advance, in one durable row."""
        done = sent >= parts
        detail: dict[str, Any] = {
            "message_id": row["id"],
            "seq": row.seq,
            "target": row["target"],
            "sent": sent,
            "parts": parts,
            "platform_message_id": platform_id,
            "attempts": attempts,
        }
        if not done:
            detail["partial"] = True
        position = row.seq if done else self.position
        await self.d.store.append(
            "cursors",
            [
                {
                    "consumer": self.consumer,
                    "stream": "messages",
                    "position": position,
                    "detail": detail,
                }
            ],
            durable=True,
        )
        self.position = position
        self._partial = None if done else {"seq": row.seq, "sent": sent}

    async def _give_up(self, row: Row, error: str, attempts: int) -> None:
        log.warning("%s: giving up on message %s: %s", self.name, row["id"], error)
        await self._event(
            "channel_delivery_failed",
            "error",
            {
                "message_id": row["id"],
                "target": row["target"],
                "session_id": row["session_id"],
                "error": error,
                "attempts": attempts,
            },
        )
        await self.d.store.append(
            "cursors",
            [
                {
                    "consumer": self.consumer,
                    "stream": "messages",
                    "position": row.seq,
                    "detail": {"message_id": row["id"], "seq": row.seq, "failed": True},
                }
            ],
            durable=True,
        )
        self.position = row.seq
        self._partial = None

    # -- status -----------------------------------------------------------------------

    async def pending(self) -> int:
        """Replies for this channel not yet delivered (nor given up)."""
        rows = await self.d.store.query("messages", self._filters(), order="desc", limit=1000)
        return sum(1 for r in rows if r.seq > self.position and r["message_type"] in DELIVERABLE)

    async def failures(self, limit: int = 20) -> tuple[int, list[Failure]]:
        """(failed deliveries in the last 24 h, the latest ``limit`` of them)."""
        since = to_iso(datetime.now(UTC) - timedelta(days=1))
        rows = await self.d.store.query(
            "events",
            make_filters(
                EVENTS,
                [("event_type", "eq", "channel_delivery_failed"), ("source", "eq", self.consumer)],
            ),
            since=since,
            limit=1000,
        )
        out = []
        for r in rows[:limit]:
            p = r["payload"] if isinstance(r["payload"], dict) else {}
            out.append(
                Failure(
                    str(p.get("message_id", "")),
                    str(p.get("target", "")),
                    str(p.get("error", "")),
                    str(r["timestamp"]),
                    int(p.get("attempts", 0)),
                )
            )
        return len(rows), out

    async def info(self, details: bool = False) -> ChannelInfo:
        """This channel's state; ``details`` adds the latest failed deliveries."""
        count, failures = await self.failures()
        now = datetime.now(UTC)
        return ChannelInfo(
            name=self.name,
            enabled=True,
            state=self.state,
            identity=self.identity,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            connected_since=self.connected_since if self.state == "connected" else "",
            last_inbound_at=self.last_inbound_at,
            pending_outbox=await self.pending(),
            delivered=self.delivered,
            failed_deliveries=count,
            restarts=self.restarts,
            allowed_users=len(self.ccfg.allow_from),
            paired_users=len(self._paired),
            pending_pairings=sum(
                1 for e in self._codes.values() if parse_iso(str(e["expires_at"])) > now
            ),
            failures=failures if details else [],
        )


class _GaveUp(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts


def _describe(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
