"""The durable outbox: answers for a channel's chats, sent once, from a cursor.

The outbox tails ``messages`` for rows whose target starts with ``<channel>:`` from its
cursor (consumer ``channel:<name>`` in the ``cursors`` stream), sends each, and after
every sent part appends one cursor row, durably, that is both the record of the
delivery and the cursor's advance. After a restart it resumes after the last recorded
part, so no reply is lost and none is sent twice. Failed sends are retried with
exponential backoff; a reply that cannot be delivered becomes a
``channel_delivery_failed`` event and the cursor moves past it.

Before each part is sent, one more durable cursor row says it is being sent
(``sending``: part n of messages row seq, and when). The window left is the time from
that row to the part's delivery row: the HTTP round trip of the send plus one local
fsync. A restart that finds a part in ``sending`` without its delivery row first asks
the transport whether the platform shows it (``Transport.find_sent``; Slack can read the
conversation's history, Telegram's Bot API has no way for a bot to read its own sent
messages); when the platform cannot say, the part is sent again ("at least once": a
duplicate is better than a lost answer, and no platform offers an idempotency key for a
bot's messages) and a ``channel_delivery_uncertain`` event records it. A send that
times out is just as ambiguous and is retried too. Everywhere else delivery is exactly
once.

Rate limits: both platforms answer a flood with HTTP 429 and say how long to wait —
Telegram in ``parameters.retry_after`` (Bot API, "ResponseParameters"), Slack in the
``Retry-After`` header, in seconds (api.slack.com/docs/rate-limits; chat.postMessage
allows about one message per second per channel). A retry waits at least that long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pulsed.channels.format import Part
from pulsed.channels.journal import Journal
from pulsed.channels.transport import SendError, Transport, describe
from pulsed.config import ChannelConfig
from pulsed.store import rows
from pulsed.store.base import Filter, Row, Store, TailStart, make_filters, parse_iso, to_iso
from pulsed.store.schema import EVENTS, MESSAGES

log = logging.getLogger("pulsed.channels")

DELIVERABLE = ("agent_response", "error")
"""Message types the outbox sends."""

RESUME_S = 1.0
"""Pause before the outbox's tail is reopened after an unexpected failure."""

PENDING_SCAN = 1000
"""Latest rows for the channel looked at to count undelivered replies."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A reply that could not be delivered: its ``messages`` row id, target, why, when
    (ISO 8601, UTC) and after how many sends."""

    message_id: str
    target: str
    error: str
    at: str
    attempts: int


@dataclass(frozen=True, slots=True)
class _Partial:
    """Parts ``1..sent`` of messages row ``seq`` went out before a restart."""

    seq: int
    sent: int


@dataclass(frozen=True, slots=True)
class _InFlight:
    """Part ``part`` of messages row ``seq`` was being sent (since ``at``) when the
    daemon stopped: it may have reached the chat."""

    seq: int
    part: int
    at: datetime


class _GaveUp(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts


def answer_text(row: Row) -> str:
    """The text to send for answer ``row`` (an ``agent_response`` or ``error``)."""
    content = row["content"] if isinstance(row["content"], dict) else {}
    text = str(content.get("text", ""))
    if row["message_type"] == "error":
        if content.get("code", "") == "cancelled":
            return "(The answer was cancelled.)"
        return f"⚠️ I could not answer: {text}"
    return text or "(empty answer)"


class Outbox:
    """Delivers the answers targeted at channel ``transport.name``.

    Attributes:
        position: sequence number of the last ``messages`` row the outbox finished with.
        delivered: answers sent since the daemon started.
    """

    def __init__(
        self,
        transport: Transport,
        store: Store,
        journal: Journal,
        note_error: Callable[[str], None],
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.ccfg: ChannelConfig = transport.cfg
        self.store = store
        self.journal = journal
        self._note_error = note_error
        self.consumer = f"channel:{self.name}"
        """This outbox's consumer name in the cursors stream."""
        self.position = 0
        self.delivered = 0
        self._partial: _Partial | None = None
        self._inflight: _InFlight | None = None
        self._stopping = False

    def restore(self, cursors: Iterable[Row]) -> None:
        """Take the position (and a half-sent answer) from the latest cursor rows."""
        for row in cursors:
            if str(row["consumer"]) != self.consumer:
                continue
            self.position = int(row["position"])
            detail = row["detail"] if isinstance(row["detail"], dict) else {}
            if detail.get("partial"):
                self._partial = _Partial(int(detail["seq"]), int(detail["sent"]))
            if detail.get("sending"):
                self._inflight = _InFlight(
                    int(detail["seq"]), int(detail["sending"]), parse_iso(str(detail["at"]))
                )

    def _filters(self) -> list[Filter]:
        # Every target "<name>:..." sorts at or after "<name>:" and before "<name>;".
        return make_filters(
            MESSAGES, [("target", "ge", f"{self.name}:"), ("target", "lt", f"{self.name};")]
        )

    async def queue(
        self,
        chat: str,
        session_id: str,
        text: str,
        extra: Mapping[str, Any] | None = None,
        user_id: str = "",
    ) -> None:
        """Queue ``text`` for ``chat`` as a durable ``agent_response`` row from
        ``system`` in ``session_id``: it is delivered once and shows in the history.

        Raises:
            PulseError: the store could not take it.
        """
        await self.store.append(
            "messages",
            [
                rows.agent_response(
                    source="system",
                    target=f"{self.name}:{chat}",
                    session_id=session_id,
                    content={"text": text, **(extra or {})},
                    user_id=user_id,
                )
            ],
            durable=True,
        )

    def stop(self) -> None:
        """Make ``run`` end instead of resuming after a failure."""
        self._stopping = True

    async def run(self) -> None:
        """Deliver from the cursor until cancelled; a failing tail is reopened after
        ``RESUME_S``."""
        self._stopping = False
        start = TailStart.after(self.position)
        while not self._stopping:
            try:
                async with aclosing(self.store.tail("messages", self._filters(), start)) as tail:
                    async for batch in tail:
                        for row in batch:
                            if row.seq <= self.position:
                                continue
                            if row["message_type"] in DELIVERABLE:
                                await self._deliver(row)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: outbox failed; resuming in %.0f s", self.name, RESUME_S)
                start = TailStart.after(self.position)
                await asyncio.sleep(RESUME_S)

    async def _deliver(self, row: Row) -> None:
        chat = str(row["target"]).split(":", 1)[1]
        age = datetime.now(UTC) - parse_iso(str(row["timestamp"]))
        if age.total_seconds() > self.ccfg.deliver_max_age_s:
            await self._give_up(
                row, f"not sent: {int(age.total_seconds())} s old (deliver_max_age_s)", 0
            )
            return
        parts = self.transport.render(answer_text(row))
        first = 0
        if self._partial and self._partial.seq == row.seq:
            first = self._partial.sent
        for i in range(first, len(parts)):
            inflight, self._inflight = self._inflight, None
            if inflight and inflight.seq == row.seq and inflight.part == i + 1:
                found = await self._recover(row, chat, parts[i], i + 1, len(parts), inflight)
                if found is not None:
                    await self._record(row, i + 1, len(parts), found, 0)
                    continue
            await self._sending(row, i, len(parts))
            try:
                platform_id, attempts = await self._send_retrying(chat, parts[i])
            except _GaveUp as e:
                await self._give_up(row, e.message, e.attempts)
                return
            await self._record(row, i + 1, len(parts), platform_id, attempts)
        if first >= len(parts):  # every part was sent before a crash; finish the record
            await self._record(row, len(parts), len(parts), "", 0)
        self.delivered += 1

    async def _recover(
        self, row: Row, chat: str, part: Part, n: int, parts: int, inflight: _InFlight
    ) -> str | None:
        """Part ``n`` was being sent when the daemon stopped: the platform's message id
        if the transport finds it delivered, else ``None`` (it is sent again). Either
        way a ``channel_delivery_uncertain`` event says what happened."""
        found = await self.transport.find_sent(chat, part, inflight.at)
        outcome = "found" if found is not None else "resent"
        log.warning(
            "%s: the daemon stopped while sending part %d of %d of message %s to %s; %s",
            self.name,
            n,
            parts,
            row["id"],
            chat,
            "the platform shows it delivered"
            if found is not None
            else "the platform cannot tell whether it arrived: sending it again",
        )
        await self.journal.write(
            rows.channel_delivery_uncertain(
                self.name,
                message_id=str(row["id"]),
                target=str(row["target"]),
                part=n,
                parts=parts,
                outcome=outcome,
            ),
            durable=True,
        )
        return found

    async def _sending(self, row: Row, sent: int, parts: int) -> None:
        """Record durably, before the platform call, that part ``sent + 1`` is being
        sent: what a restart needs to know that this part may have arrived."""
        await self.store.append(
            "cursors",
            [
                rows.delivery_sending(
                    self.consumer,
                    position=self.position,
                    message_id=str(row["id"]),
                    seq=row.seq,
                    target=str(row["target"]),
                    sent=sent,
                    parts=parts,
                    at=to_iso(datetime.now(UTC)),
                )
            ],
            durable=True,
        )

    async def _send_retrying(self, chat: str, part: Part) -> tuple[str, int]:
        """Send ``part``: (the platform's message id, attempts it took). Formatted text
        the platform cannot parse is sent plain (not counted as an attempt).

        Raises:
            _GaveUp: not retryable, or ``retry_attempts`` sends failed.
        """
        delay = self.ccfg.retry_initial_s
        plain = False
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.transport.send(chat, part, plain), attempt
            except SendError as e:
                err = e
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a bug or an unexpected library error: retry it
                log.exception("%s: unexpected send failure", self.name)
                err = SendError(describe(e), retryable=True)
            if err.format_error and not plain:
                log.warning("%s: formatted text refused (%s); sending plain", self.name, err)
                plain = True
                attempt -= 1
                continue
            self._note_error(f"send to {chat}: {err.message}")
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
        position = row.seq if done else self.position
        await self.store.append(
            "cursors",
            [
                rows.delivery(
                    self.consumer,
                    position=position,
                    message_id=str(row["id"]),
                    seq=row.seq,
                    target=str(row["target"]),
                    sent=sent,
                    parts=parts,
                    platform_message_id=platform_id,
                    attempts=attempts,
                )
            ],
            durable=True,
        )
        self.position = position
        self._partial = None if done else _Partial(row.seq, sent)

    async def _give_up(self, row: Row, error: str, attempts: int) -> None:
        log.warning("%s: giving up on message %s: %s", self.name, row["id"], error)
        await self.journal.write(
            rows.channel_delivery_failed(
                self.name,
                message_id=str(row["id"]),
                target=str(row["target"]),
                session_id=str(row["session_id"]),
                error=error,
                attempts=attempts,
            ),
            durable=True,
        )
        await self.store.append(
            "cursors",
            [rows.delivery_given_up(self.consumer, message_id=str(row["id"]), seq=row.seq)],
            durable=True,
        )
        self.position = row.seq
        self._partial = None

    async def pending(self) -> int:
        """Replies for this channel not yet delivered (nor given up).

        Raises:
            PulseError: the store cannot answer.
        """
        recent = await self.store.query(
            "messages", self._filters(), order="desc", limit=PENDING_SCAN
        )
        return sum(1 for r in recent if r.seq > self.position and r["message_type"] in DELIVERABLE)

    async def failures(self, limit: int = 20) -> tuple[int, list[Failure]]:
        """(failed deliveries in the last 24 h, the latest ``limit`` of them).

        Raises:
            PulseError: the store cannot answer.
        """
        since = to_iso(datetime.now(UTC) - timedelta(days=1))
        found = await self.store.query(
            "events",
            make_filters(
                EVENTS,
                [("event_type", "eq", "channel_delivery_failed"), ("source", "eq", self.consumer)],
            ),
            since=since,
            limit=1000,
        )
        out = []
        for r in found[:limit]:
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
        return len(found), out
