"""Who may talk to the agent on a channel: ``allow_from``, paired people, pairing codes,
and the rate-limited refusal a stranger gets.

Admission is durable: a pairing code is a ``channel_pairing_code`` event and an
approval a ``channel_paired`` event; ``load`` reads them back when the channel starts.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pulsed.channels.journal import Journal
from pulsed.channels.transport import Inbound
from pulsed.config import ChannelConfig
from pulsed.errors import InvalidArgument, NotFound
from pulsed.store import rows
from pulsed.store.base import Store, make_filters, parse_iso, to_iso
from pulsed.store.schema import EVENTS

log = logging.getLogger("pulsed.channels")

PAIRING_TTL_S = 3600.0
"""How long a pairing code stays valid, seconds."""

PAIRING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Pairing code letters: no 0/O or 1/I to misread."""

PAIRING_CODE_LEN = 6
"""Letters in a pairing code."""

LOAD_LIMIT = 10000
"""Most pairing events read when the channel starts."""


@dataclass(frozen=True, slots=True)
class PairingCode:
    """A code given to a stranger; ``pulsectl channels approve CODE`` admits them.

    Attributes:
        code: the code (``PAIRING_CODE_LEN`` letters of ``PAIRING_ALPHABET``).
        user_id: the platform user it was given to; ``user_name`` their display name.
        chat: where they wrote from (the welcome goes there).
        expires_at: when it stops being valid (aware, UTC).
    """

    code: str
    user_id: str
    user_name: str
    chat: str
    expires_at: datetime

    def valid(self, now: datetime) -> bool:
        """Whether the code can still be approved at ``now`` (aware)."""
        return self.expires_at > now

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PairingCode:
        """The code a ``channel_pairing_code`` event recorded.

        Raises:
            KeyError: the payload has no code or expiry. InvalidArgument: the expiry is
                not an ISO 8601 time.
        """
        return cls(
            code=str(payload["code"]),
            user_id=str(payload.get("user_id", "")),
            user_name=str(payload.get("user_name", "")),
            chat=str(payload.get("chat", "")),
            expires_at=parse_iso(str(payload["expires_at"])),
        )


class Access:
    """The allowlist and pairing of one channel.

    ``allowed`` answers per message; ``refusal`` decides what a stranger is told;
    ``approve`` admits the holder of a code.
    """

    def __init__(self, name: str, platform: str, ccfg: ChannelConfig, journal: Journal) -> None:
        self.name = name
        self.platform = platform
        self.ccfg = ccfg
        self.journal = journal
        self._paired: set[str] = set()
        self._codes: dict[str, PairingCode] = {}
        self._refused: dict[str, float] = {}
        """User id → monotonic time of their last refusal."""
        self._suppressed: dict[str, int] = {}
        """User id → messages dropped unanswered since their last refusal."""

    async def load(self, store: Store) -> None:
        """Read the paired people and the still valid codes from ``events``.

        Raises:
            PulseError: the store cannot answer.
        """
        for row in await store.query(
            "events",
            make_filters(EVENTS, [("event_type", "eq", "channel_paired")]),
            limit=LOAD_LIMIT,
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
            limit=LOAD_LIMIT,
        ):
            payload = row["payload"]
            if not isinstance(payload, dict) or payload.get("channel") != self.name:
                continue
            try:
                entry = PairingCode.from_payload(payload)
            except (KeyError, InvalidArgument):
                log.warning("%s: ignoring a malformed pairing code event %s", self.name, row["id"])
                continue
            if entry.user_id not in self._paired:
                self._codes[entry.code] = entry

    def allowed(self, user_id: str) -> bool:
        """Whether ``user_id`` may talk to the agent (allow_from or paired)."""
        return user_id in self.ccfg.allow_from or user_id in self._paired

    async def refusal(self, inb: Inbound) -> str | None:
        """What to tell the stranger who sent ``inb``: a pairing code (``pairing`` on)
        or a refusal naming their user id; None within ``refusal_interval_s`` of the
        last answer to them (counted, and reported with the next refusal)."""
        now = time.monotonic()
        last = self._refused.get(inb.user_id)
        if last is not None and now - last < self.ccfg.refusal_interval_s:
            self._suppressed[inb.user_id] = self._suppressed.get(inb.user_id, 0) + 1
            return None
        self._refused[inb.user_id] = now
        suppressed = self._suppressed.pop(inb.user_id, 0)
        if self.ccfg.pairing:
            code = self._code_for(inb.user_id) or await self._issue(inb)
            return (
                "Hello! I don't know you yet. To be let in, ask my owner to run:\n\n"
                f"`pulsectl channels approve {code}`"
            )
        await self.journal.write(
            rows.channel_refused(
                self.name,
                user_id=inb.user_id,
                user_name=inb.user_name,
                chat=inb.chat,
                suppressed_since_last=suppressed,
            )
        )
        return (
            "Sorry, I only talk with people my owner has allowed. "
            f"(Your {self.platform} user id is {inb.user_id}.)"
        )

    def _code_for(self, user_id: str) -> str | None:
        now = datetime.now(UTC)
        for code, entry in self._codes.items():
            if entry.user_id == user_id and entry.valid(now):
                return code
        return None

    async def _issue(self, inb: Inbound) -> str:
        code = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LEN))
        expires = datetime.now(UTC) + timedelta(seconds=PAIRING_TTL_S)
        entry = PairingCode(code, inb.user_id, inb.user_name, inb.chat, expires)
        self._codes[code] = entry
        await self.journal.write(
            rows.channel_pairing_code(
                self.name,
                code=code,
                expires_at=to_iso(expires),
                user_id=inb.user_id,
                user_name=inb.user_name,
                chat=inb.chat,
            )
        )
        return code

    def has_code(self, code: str) -> bool:
        """Whether this channel issued ``code`` (valid or not yet forgotten)."""
        return code in self._codes

    async def approve(self, code: str) -> PairingCode:
        """Admit the user who was given ``code`` (and drop their other codes).

        Raises:
            NotFound: no such code, or it expired.
        """
        entry = self._codes.get(code)
        if entry is None or not entry.valid(datetime.now(UTC)):
            self._codes.pop(code, None)
            raise NotFound(f"no valid pairing code {code!r} (codes expire after an hour)")
        await self.journal.write(
            rows.channel_paired(
                self.name, user_id=entry.user_id, user_name=entry.user_name, code=code
            )
        )
        self._paired.add(entry.user_id)
        for c in [c for c, e in self._codes.items() if e.user_id == entry.user_id]:
            del self._codes[c]
        self._refused.pop(entry.user_id, None)
        return entry

    @property
    def allowed_users(self) -> int:
        """People in ``allow_from``."""
        return len(self.ccfg.allow_from)

    @property
    def paired_users(self) -> int:
        """People admitted by pairing."""
        return len(self._paired)

    def pending_pairings(self) -> int:
        """Codes issued and still valid."""
        now = datetime.now(UTC)
        return sum(1 for e in self._codes.values() if e.valid(now))
