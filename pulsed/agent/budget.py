"""The spending caps ([budget] daily_usd, monthly_usd, session_usd, and a task's budget
per run), held by reservations.

Before an LLM call starts, its *maximum* cost (an estimate of its input plus its
``max_tokens`` of output, at the model's price) is reserved against every cap; the call is
refused when what was spent in a cap's period plus what running calls have reserved plus
this call's maximum would pass that cap. When the call ends the reservation is replaced by
the call's real cost. So fifty sessions that start at once cannot pass a cap together: each
sees the others' reservations (DESIGN.md "Semantics": budgets are checked against what the
call may cost, daily and monthly).

Periods are local: the day starts at local midnight, the month at local midnight of its
first day. A session's cap covers the session's whole life; a run's cap (``tasks add
--budget``) covers one turn, so it needs no reservation bookkeeping here beyond the turn's
own running total.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pulsed.errors import ResourceExhausted
from pulsed.store.base import Store, to_iso
from pulsed.timeutil import local_midnight


def local_month_start(now: datetime | None = None) -> datetime:
    """Local midnight of the first day of the month containing ``now`` (default: now)."""
    return local_midnight(now).replace(day=1)


@dataclass(slots=True)
class _Cap:
    """One cap: its period's start (a function of now), spend and reservations."""

    name: str
    """``daily`` or ``monthly``: names the config key ``<name>_usd`` and messages."""
    limit_usd: float
    start_of: Callable[[], datetime]
    resets: str
    """When the period ends, for messages: "at midnight", "on the 1st"."""
    period: str = ""
    spent: float = 0.0
    reserved: float = 0.0

    async def refresh(self, store: Store) -> None:
        """At a new period, re-sum its spend from llm_logs and drop old reservations."""
        start = self.start_of()
        period = start.isoformat()
        if period != self.period:
            summary = await store.cost_summary(since=to_iso(start))
            self.spent = summary.total.cost_usd
            self.reserved = 0.0  # the previous period's calls settle into it
            self.period = period


class BudgetRefused(ResourceExhausted):
    """A call was refused by a cap: ``cap`` is daily | monthly | session | run and
    ``resets`` says when it lifts ("at local midnight", "never: raise ...")."""

    def __init__(self, message: str, cap: str, resets: str) -> None:
        super().__init__(message)
        self.cap = cap
        self.resets = resets


def _check(cap: _Cap, amount: float, key: str) -> None:
    """Raises BudgetRefused when ``amount`` more would pass ``cap``."""
    if cap.spent >= cap.limit_usd:
        raise BudgetRefused(
            f"{cap.name} budget reached: ${cap.spent:.4f} spent of ${cap.limit_usd:.2f}; "
            f"it resets {cap.resets}. Raise {key} in the config (0 = no limit).",
            cap.name,
            cap.resets,
        )
    if cap.spent + cap.reserved + amount > cap.limit_usd:
        raise BudgetRefused(
            f"{cap.name} budget too low for this call: ${cap.spent:.4f} spent and "
            f"${cap.reserved:.4f} held by running calls, of ${cap.limit_usd:.2f}; this call "
            f"may cost up to ${amount:.4f}. Raise {key} (0 = no limit), lower max_tokens, "
            f"or wait: it resets {cap.resets}.",
            cap.name,
            cap.resets,
        )


@dataclass(slots=True)
class _SessionSpend:
    """One session's settled spend (summed from llm_logs once) and reservations."""

    spent: float = 0.0
    reserved: float = 0.0


@dataclass(slots=True)
class Reservation:
    """Money held for one running call: ``amount_usd`` in each cap's period (cap name →
    period key). Settle it exactly once with ``Budget.settle``."""

    amount_usd: float
    periods: dict[str, str] = field(default_factory=dict)
    settled: bool = False
    session_id: str = ""
    """The session whose cap holds it too ('' when no session cap applies)."""


class Budget:
    """Spend per cap period: summed from llm_logs once per period, then kept up to date in
    memory as calls settle, so a check costs no query; plus the reservations of running
    calls. A cap of 0 is off."""

    def __init__(
        self, store: Store, daily_usd: float, monthly_usd: float = 0.0, session_usd: float = 0.0
    ) -> None:
        self.store = store
        self.daily_usd = daily_usd
        self.monthly_usd = monthly_usd
        self.session_usd = session_usd
        self._sessions: dict[str, _SessionSpend] = {}
        self._day = _Cap("daily", daily_usd, local_midnight, "at local midnight")
        self._month = _Cap("monthly", monthly_usd, local_month_start, "on the 1st, local time")
        self._lock = asyncio.Lock()

    async def spent_today(self) -> float:
        """Estimated USD spent since local midnight (settled calls only)."""
        async with self._lock:
            await self._day.refresh(self.store)
            return self._day.spent

    async def spent_this_month(self) -> float:
        """Estimated USD spent since the local start of this month (settled calls only)."""
        async with self._lock:
            await self._month.refresh(self.store)
            return self._month.spent

    @property
    def reserved_usd(self) -> float:
        """USD held by calls that are running now (as seen by the daily cap)."""
        return self._day.reserved

    def _caps(self) -> list[_Cap]:
        return [c for c in (self._day, self._month) if c.limit_usd > 0]

    async def session_spent(self, session_id: str) -> float:
        """Estimated USD the session has spent (settled calls), summed from llm_logs on
        first use and kept up to date as its calls settle."""
        async with self._lock:
            return (await self._session(session_id)).spent

    async def _session(self, session_id: str) -> _SessionSpend:
        entry = self._sessions.get(session_id)
        if entry is None:
            summary = await self.store.cost_summary(by="session")
            spent = next((b.cost_usd for b in summary.buckets if b.key == session_id), 0.0)
            entry = self._sessions.setdefault(session_id, _SessionSpend(spent))
        return entry

    def caps(self) -> list[tuple[str, float, float, float, str]]:
        """The configured daily and monthly caps as (name, limit, spent, reserved,
        resets), for ``pulsectl costs``; call after ``spent_today``/``spent_this_month``
        so the figures are current."""
        return [(c.name, c.limit_usd, c.spent, c.reserved, c.resets) for c in self._caps()]

    async def reserve(self, max_cost_usd: float, session_id: str = "") -> Reservation:
        """Hold ``max_cost_usd`` (≥ 0) for a call about to start, against every cap
        (the session's too, when [budget] session_usd is set and ``session_id`` given).

        Raises:
            BudgetRefused: a cap is reached, or this call's maximum on top of the
                period's spend and the running calls' reservations would pass it; the
                message names the cap, the figures and when it resets.
        """
        amount = max(0.0, max_cost_usd)
        caps = self._caps()
        per_session = bool(session_id) and self.session_usd > 0
        if not caps and not per_session:
            return Reservation(0.0)  # no cap: nothing to hold, nothing to sum
        async with self._lock:
            for cap in caps:
                await cap.refresh(self.store)
            for cap in caps:
                _check(cap, amount, f"[budget] {cap.name}_usd")
            if per_session:
                entry = await self._session(session_id)
                scap = _Cap("session", self.session_usd, local_midnight, "never (per session)")
                scap.spent, scap.reserved = entry.spent, entry.reserved
                _check(scap, amount, "[budget] session_usd or start a new session")
                entry.reserved += amount
            for cap in caps:
                cap.reserved += amount
            return Reservation(
                amount,
                {cap.name: cap.period for cap in caps},
                session_id=session_id if per_session else "",
            )

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Release ``reservation`` and add the call's real cost (already appended to
        llm_logs) to each period's spend. Settling twice does nothing the second time; a
        reservation of an earlier period was already dropped when the period changed."""
        if reservation.settled:
            return
        reservation.settled = True
        entry = self._sessions.get(reservation.session_id) if reservation.session_id else None
        if entry is not None:
            entry.reserved = max(0.0, entry.reserved - reservation.amount_usd)
            entry.spent += cost_usd
        for cap in (self._day, self._month):
            if reservation.periods.get(cap.name) == cap.period:
                cap.reserved = max(0.0, cap.reserved - reservation.amount_usd)
            if cap.period and cap.period == cap.start_of().isoformat():
                cap.spent += cost_usd  # else the next read re-sums the new period
