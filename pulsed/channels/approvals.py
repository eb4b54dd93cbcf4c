"""Approvals where the person is: an "ask" tool of a channel turn becomes a message with
buttons in the chat the turn answers, and a press by an allowed user answers it.

The inbound handler follows each turn's events: ``begin`` on ``ApprovalRequested``
registers the request and ``run`` (in the background) posts the prompt through the
transport (Telegram: an inline keyboard; Slack: Block Kit buttons), with the channel's
send retries, then waits for the decision. ``press`` takes a button press: a presser
who is not an allowed user of the channel (``allow_from`` or paired) changes nothing
and is told so; an allowed one's decision goes to the ``ApprovalBroker``
(``resolve(rid, once | session | deny)``). The message is then edited to show the
decision, or that the request timed out (the broker's wait ended without one: the
turn's next ``ToolResultReady`` or the deadline), and an ``approval_decided`` event
records what was decided, by whom and where. A prompt that cannot be posted is denied
at once (nobody could answer it).

A posted prompt is recorded durably (an ``approval_shown`` event with its chat, message
id and text), so a daemon that stopped before the answer, whose turn resumes without
asking, edits such a prompt when the channel starts again (``expire_stale``): its
buttons would otherwise stay, answering nothing.

The prompt shows the tool and its arguments short and redacted (``agent/redact.py``);
the shell's command is shown whole (credential-shaped parts masked), since that exact
command is what the approval binds to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pulsed.agent.approvals import ApprovalBroker
from pulsed.agent.events import ApprovalRequested
from pulsed.agent.redact import redact, redact_text
from pulsed.channels.access import Access
from pulsed.channels.journal import Journal
from pulsed.channels.transport import (
    ApprovalPrompt,
    Press,
    PressReply,
    SendError,
    Transport,
    describe,
)
from pulsed.errors import PulseError
from pulsed.store import rows
from pulsed.store.base import MAX_LIMIT, Row, Store, make_filters, to_iso
from pulsed.store.schema import EVENTS

log = logging.getLogger("pulsed.channels")

T = TypeVar("T")

SHELL_TOOL = "shell"
"""The tool whose ``command`` argument is shown whole, as code."""

ARG_PREVIEW_CHARS = 120
"""Longest an argument's value is shown in a prompt (the shell's command excepted)."""

MAX_LINE_CHARS = ARG_PREVIEW_CHARS + 30
"""Longest an argument's line is shown (its name included)."""

MAX_ARG_LINES = 8
"""Arguments shown in a prompt; the rest are counted."""

MAX_CODE_CHARS = 2400
"""Longest shell command shown: with ``MAX_ARG_LINES`` lines of ``MAX_LINE_CHARS`` it
stays under Telegram's 4,096 characters and Slack's 3,000 per section. A longer one is
shown cut, and the prompt says so."""

OUTCOMES = {
    "once": "✅ allowed once by {by}",
    "session": "✅ allowed for this session by {by}",
    "deny": "❌ denied by {by}",
    "timeout": "⌛ timed out: not run",
    "ended": "⌛ expired: the turn ended",
    "expired": "⌛ expired: pulsed restarted before an answer",
}
"""The line a settled request message shows, per decision."""

PRESS_REPLIES = {
    "once": "Allowed once.",
    "session": "Allowed for this session.",
    "deny": "Denied.",
}
"""What an allowed presser is told, per decision."""

NOT_ALLOWED = "You are not allowed to answer this request."
"""What a stranger's press is told (nothing else happens)."""

NOT_OPEN = "This request is no longer open."
"""What a press on a request that was answered, timed out or is unknown is told."""

STALE_S = 86400.0
"""How far back ``expire_stale`` looks for prompts left open by a stop, seconds."""

STALE_LIMIT = 200
"""Most prompts ``expire_stale`` reads."""


def prompt_for(ev: ApprovalRequested) -> ApprovalPrompt:
    """The chat prompt of ``ev``: ``name: value`` lines of its arguments, redacted and
    cut to ``ARG_PREVIEW_CHARS``, at most ``MAX_ARG_LINES``; the shell's ``command``
    whole (up to ``MAX_CODE_CHARS``) as ``code``."""
    try:
        parsed: Any = json.loads(ev.arguments_json) if ev.arguments_json else {}
    except ValueError:
        parsed = {"arguments": ev.arguments_json}
    args: dict[str, Any] = parsed if isinstance(parsed, dict) else {"arguments": parsed}
    code = ""
    if ev.tool == SHELL_TOOL and isinstance(args.get("command"), str):
        command = redact_text(str(args["command"]))
        code = command
        if len(command) > MAX_CODE_CHARS:
            code = command[:MAX_CODE_CHARS] + f"\n… [cut: the command is {len(command)} chars]"
        args = {k: v for k, v in args.items() if k != "command"}
    lines = []
    for key, value in redact(args, ARG_PREVIEW_CHARS).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        line = f"{key}: " + text.replace("\r", "").replace("\n", "⏎ ")
        if len(line) > MAX_LINE_CHARS:
            line = line[: MAX_LINE_CHARS - 1] + "…"
        lines.append(line)
    if len(lines) > MAX_ARG_LINES:
        lines = lines[:MAX_ARG_LINES] + [f"… and {len(lines) - MAX_ARG_LINES} more"]
    return ApprovalPrompt(
        request_id=ev.request_id,
        tool=ev.tool,
        lines=tuple(lines),
        code=code,
        timeout_s=ev.timeout_s,
    )


def outcome_line(decision: str, by: str = "") -> str:
    """The settled message's line for ``decision`` (once | session | deny | timeout |
    ended), naming ``by``."""
    return OUTCOMES.get(decision, OUTCOMES["timeout"]).format(by=by or "someone")


@dataclass(eq=False)
class _Open:
    """A request shown (or being shown) in ``chat``, until it is settled."""

    ev: ApprovalRequested
    chat: str
    prompt: ApprovalPrompt
    deadline: float
    """Loop time after which it counts as timed out."""
    message_id: str = ""
    decision: str = ""
    """once | session | deny | timeout | ended | unshown; '' while open."""
    by_id: str = ""
    by_name: str = ""
    done: asyncio.Event = field(default_factory=asyncio.Event)
    refused: set[str] = field(default_factory=set)
    """Strangers whose press was recorded (one ``approval_refused`` each)."""

    def decide(self, decision: str, by_id: str = "", by_name: str = "") -> bool:
        """Settle once: False when it was settled already."""
        if self.decision:
            return False
        self.decision, self.by_id, self.by_name = decision, by_id, by_name
        self.done.set()
        return True


class ChatApprovals:
    """The approval requests one channel shows, and the presses that answer them.

    ``enabled``: turns of this channel may ask (``[channels.<name>] approvals``, the
    daemon gave a broker, the transport has buttons); otherwise they run
    non-interactive and "ask" tools are denied.
    """

    def __init__(
        self,
        transport: Transport,
        broker: ApprovalBroker | None,
        access: Access,
        journal: Journal,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.ccfg = transport.cfg
        self.broker = broker
        self.access = access
        self.journal = journal
        self._open: dict[str, _Open] = {}
        self._stale: list[dict[str, Any]] = []

    @property
    def enabled(self) -> bool:
        """Whether this channel's turns may ask (see the class docstring)."""
        return bool(self.broker is not None and self.ccfg.approvals and self.transport.approvals)

    def waiting(self, turn_id: str) -> bool:
        """Whether a request of turn ``turn_id`` waits for the person."""
        return any(e.ev.turn_id == turn_id and not e.decision for e in self._open.values())

    # -- the turn's side --------------------------------------------------------------

    def begin(self, ev: ApprovalRequested, chat: str) -> _Open | None:
        """Register request ``ev`` for ``chat``; then ``await run(entry)``. None when it
        is registered already (or approvals are off)."""
        if not self.enabled or ev.request_id in self._open:
            return None
        loop = asyncio.get_running_loop()
        entry = _Open(ev, chat, prompt_for(ev), loop.time() + max(0.0, ev.timeout_s))
        self._open[ev.request_id] = entry
        return entry

    def tool_done(self, turn_id: str) -> None:
        """The turn's tool call ended: a request of it still open was settled by the
        broker without a press (its wait timed out)."""
        for entry in list(self._open.values()):
            if entry.ev.turn_id == turn_id:
                entry.decide("timeout")

    def turn_ended(self, turn_id: str) -> None:
        """Turn ``turn_id`` ended: its requests still open expire."""
        loop = asyncio.get_running_loop()
        for entry in list(self._open.values()):
            if entry.ev.turn_id == turn_id:
                entry.decide("timeout" if loop.time() >= entry.deadline else "ended")

    async def run(self, entry: _Open) -> None:
        """Post the prompt, wait for its decision or the deadline, then edit the
        message to show the outcome and record it. Never raises (but is cancellable)."""
        rid = entry.ev.request_id
        loop = asyncio.get_running_loop()
        try:
            try:
                entry.message_id = await asyncio.wait_for(
                    self._retrying(lambda: self.transport.ask(entry.chat, entry.prompt)),
                    max(0.01, entry.deadline - loop.time()),
                )
            except (SendError, TimeoutError) as e:
                why = e.message if isinstance(e, SendError) else "the send did not complete"
                log.warning(
                    "%s: cannot show approval %s in %s: %s", self.name, rid, entry.chat, why
                )
                entry.decide("unshown")
                self._deny(rid)
                await self._record(entry, error=why)
                return
            await self._shown(entry)
            if not entry.decision:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        entry.done.wait(), max(0.0, entry.deadline - loop.time())
                    )
            if entry.decide("timeout"):
                self._deny(rid)  # the broker's own wait ends first; this is the safe side
            await self._record(entry)
            await self._settle(entry)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: approval %s failed", self.name, rid)
            entry.decide("unshown")
            self._deny(rid)
        finally:
            self._open.pop(rid, None)

    # -- prompts left open by a stop --------------------------------------------------

    async def load(self, store: Store) -> None:
        """Find the prompts of the last ``STALE_S`` that were shown but never decided
        (the daemon stopped in between); ``expire_stale`` edits them.

        Raises:
            PulseError: the store cannot answer.
        """
        source = f"channel:{self.name}"

        async def found(kind: str, since: str, limit: int) -> list[Row]:
            return await store.query(
                "events",
                make_filters(EVENTS, [("event_type", "eq", kind), ("source", "eq", source)]),
                since=since,
                limit=limit,
            )

        since = to_iso(datetime.now(UTC) - timedelta(seconds=STALE_S))
        shown = await found("approval_shown", since, STALE_LIMIT)
        if not shown:
            return
        # A prompt's decision comes after it: read them all from the oldest prompt on.
        oldest = min(str(r["timestamp"]) for r in shown)
        decided_rows = await found("approval_decided", oldest, MAX_LIMIT)
        if len(decided_rows) == MAX_LIMIT:  # more than it can read: only prompts it covers
            floor = min(str(r["timestamp"]) for r in decided_rows)
            shown = [r for r in shown if str(r["timestamp"]) >= floor]
        decided = {
            str(r["payload"].get("request_id"))
            for r in decided_rows
            if isinstance(r["payload"], dict)
        }
        self._stale = [
            r["payload"]
            for r in shown
            if isinstance(r["payload"], dict) and str(r["payload"].get("request_id")) not in decided
        ]

    async def expire_stale(self) -> None:
        """Edit each prompt ``load`` found to say it expired, without buttons, and record
        that (``approval_decided``, decision ``expired``). Never raises."""
        stale, self._stale = self._stale, []
        for p in stale:
            rid = str(p.get("request_id", ""))
            if rid in self._open:
                continue
            ev = ApprovalRequested(
                turn_id=str(p.get("turn_id", "")),
                session_id=str(p.get("session_id", "")),
                request_id=rid,
                tool=str(p.get("tool", "")),
                arguments_json="{}",
                timeout_s=float(p.get("timeout_s") or 0),
            )
            entry = _Open(
                ev,
                str(p.get("chat", "")),
                ApprovalPrompt(
                    request_id=rid,
                    tool=ev.tool,
                    lines=tuple(str(x) for x in p.get("lines") or []),
                    code=str(p.get("code", "")),
                    timeout_s=ev.timeout_s,
                ),
                deadline=0.0,
                message_id=str(p.get("message_id", "")),
            )
            entry.decide("expired")
            try:
                await self._settle(entry)
            except Exception:
                log.exception("%s: cannot edit stale approval message %s", self.name, rid)
            await self._record(entry)

    # -- the person's side ------------------------------------------------------------

    async def press(self, p: Press) -> PressReply:
        """A button press: resolve the request when an allowed user of the chat pressed
        it; a stranger's press or one on a closed request changes nothing. Never
        raises."""
        entry = self._open.get(p.request_id)
        same_chat = entry is not None and _base(entry.chat) == _base(p.chat)
        if not self.access.allowed(p.user_id):
            log.info("%s: approval press by stranger %s ignored", self.name, p.user_id)
            if entry is not None and same_chat and p.user_id not in entry.refused:
                entry.refused.add(p.user_id)
                await self.journal.write(
                    rows.channel_event(
                        self.name,
                        "approval_refused",
                        {
                            "request_id": p.request_id,
                            "tool": entry.ev.tool,
                            "session_id": entry.ev.session_id,
                            "user_id": p.user_id,
                            "user_name": p.user_name,
                            "chat": p.chat,
                        },
                        severity="warning",
                    )
                )
            return PressReply(NOT_ALLOWED)
        if entry is None or not same_chat or entry.decision or p.decision not in PRESS_REPLIES:
            return PressReply(NOT_OPEN)
        assert self.broker is not None  # entries exist only when enabled
        try:
            self.broker.resolve(p.request_id, p.decision)
        except PulseError:
            entry.decide("timeout")
            return PressReply(NOT_OPEN)
        entry.decide(p.decision, p.user_id, p.user_name)
        return PressReply(PRESS_REPLIES[p.decision], settled=True)

    # -- helpers ----------------------------------------------------------------------

    def _deny(self, rid: str) -> None:
        if self.broker is not None:
            with contextlib.suppress(PulseError):
                self.broker.resolve(rid, "deny")

    async def _settle(self, entry: _Open) -> None:
        """Edit the prompt of ``entry`` to show its decision, with retries; a failure is
        logged (the decision stands)."""
        line = outcome_line(entry.decision, entry.by_name)
        try:
            await self._retrying(
                lambda: self.transport.settle(entry.chat, entry.message_id, entry.prompt, line)
            )
        except SendError as e:
            log.warning(
                "%s: cannot edit approval message %s: %s", self.name, entry.ev.request_id, e.message
            )

    async def _shown(self, entry: _Open) -> None:
        """The durable record of a posted prompt (what ``load`` reads after a stop)."""
        await self.journal.write(
            rows.channel_event(
                self.name,
                "approval_shown",
                {
                    "request_id": entry.ev.request_id,
                    "tool": entry.ev.tool,
                    "session_id": entry.ev.session_id,
                    "turn_id": entry.ev.turn_id,
                    "chat": entry.chat,
                    "message_id": entry.message_id,
                    "lines": list(entry.prompt.lines),
                    "code": entry.prompt.code,
                    "timeout_s": entry.prompt.timeout_s,
                },
            ),
            durable=True,
        )

    async def _record(self, entry: _Open, error: str = "") -> None:
        payload: dict[str, Any] = {
            "request_id": entry.ev.request_id,
            "tool": entry.ev.tool,
            "session_id": entry.ev.session_id,
            "turn_id": entry.ev.turn_id,
            "decision": entry.decision,
            "user_id": entry.by_id,
            "user_name": entry.by_name,
            "chat": entry.chat,
            "message_id": entry.message_id,
        }
        if error:
            payload["error"] = error
        await self.journal.write(
            rows.channel_event(
                self.name,
                "approval_decided",
                payload,
                severity="warning" if entry.decision == "unshown" else "info",
            )
        )

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` with the channel's send retries (``retry_attempts``, backoff from
        ``retry_initial_s`` to ``retry_max_s``, at least a 429's ``retry_after``).

        Raises:
            SendError: not retryable, or every attempt failed.
        """
        delay = self.ccfg.retry_initial_s
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except SendError as e:
                err = e
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an unexpected library error: retry it
                log.exception("%s: unexpected approval send failure", self.name)
                err = SendError(describe(e), retryable=True)
            if not err.retryable or attempt >= self.ccfg.retry_attempts:
                raise err
            await asyncio.sleep(max(delay, err.retry_after or 0.0))
            delay = min(delay * 2, self.ccfg.retry_max_s)


def _base(chat: str) -> str:
    """The conversation of ``chat`` without a thread (Slack's ``C…:<ts>``)."""
    return chat.split(":", 1)[0]
