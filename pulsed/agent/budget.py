"""The daily spending limit ([budget] daily_usd), held by reservations.

Before an LLM call starts, its *maximum* cost (an estimate of its input plus its
``max_tokens`` of output, at the model's price) is reserved; the call is refused when
what was spent today plus what running calls have reserved plus this call's maximum would
pass the cap. When the call ends the reservation is replaced by the call's real cost. So
fifty sessions that start at once cannot pass the cap together: each sees the others'
reservations (DESIGN.md "Semantics": budgets are checked against what the call may cost).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pulsed.errors import ResourceExhausted
from pulsed.store.base import Store, to_iso
from pulsed.timeutil import local_midnight


@dataclass(slots=True)
class Reservation:
    """Money held for one running call: ``amount_usd`` on local day ``day`` (ISO date).
    Settle it exactly once with ``Budget.settle``."""

    amount_usd: float
    day: str
    settled: bool = False


class Budget:
    """Today's spend: summed from llm_logs once per day, then kept up to date in memory
    as calls settle, so a check costs no query; plus the reservations of running calls."""

    def __init__(self, store: Store, daily_usd: float) -> None:
        self.store = store
        self.daily_usd = daily_usd
        self._day: str = ""
        self._spent = 0.0
        self._reserved = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> float:
        """Today's spend; at a new day, re-summed from the store. Call under the lock."""
        midnight = local_midnight()
        day = midnight.date().isoformat()
        if day != self._day:
            summary = await self.store.cost_summary(since=to_iso(midnight))
            self._spent = summary.total.cost_usd
            self._reserved = 0.0  # yesterday's reservations settle into yesterday
            self._day = day
        return self._spent

    async def spent_today(self) -> float:
        """Estimated USD spent since local midnight (settled calls only)."""
        async with self._lock:
            return await self._refresh()

    @property
    def reserved_usd(self) -> float:
        """USD held by calls that are running now."""
        return self._reserved

    async def reserve(self, max_cost_usd: float) -> Reservation:
        """Hold ``max_cost_usd`` (≥ 0) for a call about to start.

        Raises:
            ResourceExhausted: the cap is reached, or this call's maximum on top of
                today's spend and the running calls' reservations would pass it.
        """
        amount = max(0.0, max_cost_usd)
        if self.daily_usd <= 0:
            return Reservation(0.0, "")  # no cap: nothing to hold, nothing to sum
        async with self._lock:
            spent = await self._refresh()
            if spent >= self.daily_usd:
                raise ResourceExhausted(
                    f"daily budget reached: ${spent:.4f} spent today of "
                    f"${self.daily_usd:.2f}. Raise [budget] daily_usd in the config "
                    "(0 = no limit) or wait until midnight."
                )
            if spent + self._reserved + amount > self.daily_usd:
                raise ResourceExhausted(
                    f"daily budget too low for this call: ${spent:.4f} spent today and "
                    f"${self._reserved:.4f} held by running calls, of ${self.daily_usd:.2f}; "
                    f"this call may cost up to ${amount:.4f}. Raise [budget] daily_usd "
                    "(0 = no limit), lower max_tokens, or wait until midnight."
                )
            self._reserved += amount
            return Reservation(amount, self._day)

    def settle(self, reservation: Reservation, cost_usd: float) -> None:
        """Release ``reservation`` and add the call's real cost (already appended to
        llm_logs) to today's spend. Settling twice does nothing the second time; a
        reservation of an earlier day was already dropped when the day changed."""
        if reservation.settled:
            return
        reservation.settled = True
        if reservation.day == self._day:
            self._reserved = max(0.0, self._reserved - reservation.amount_usd)
        if self._day == local_midnight().date().isoformat():
            self._spent += cost_usd  # else the next read re-sums the new day from the store
