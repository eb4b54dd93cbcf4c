"""The daily spending limit, checked before every LLM call ([budget] daily_usd)."""

from __future__ import annotations

import asyncio

from pulsed.errors import ResourceExhausted
from pulsed.store.base import Store, to_iso
from pulsed.timeutil import local_midnight


class Budget:
    """Today's spend: summed from llm_logs once per day, then kept up to date in memory
    as calls are recorded, so the check before each call costs nothing."""

    def __init__(self, store: Store, daily_usd: float) -> None:
        self.store = store
        self.daily_usd = daily_usd
        self._day: str = ""
        self._spent = 0.0
        self._lock = asyncio.Lock()

    async def spent_today(self) -> float:
        """Estimated USD spent since local midnight."""
        async with self._lock:
            midnight = local_midnight()
            day = midnight.date().isoformat()
            if day != self._day:
                summary = await self.store.cost_summary(since=to_iso(midnight))
                self._spent = summary.total.cost_usd
                self._day = day
            return self._spent

    def record(self, cost_usd: float) -> None:
        """Add a call's cost (already appended to llm_logs) to today's spend."""
        if self._day == local_midnight().date().isoformat():
            self._spent += cost_usd

    async def check(self) -> None:
        """Raises ResourceExhausted when today's spend has reached the daily limit."""
        if self.daily_usd <= 0:
            return
        spent = await self.spent_today()
        if spent >= self.daily_usd:
            raise ResourceExhausted(
                f"daily budget reached: ${spent:.4f} spent today of ${self.daily_usd:.2f}. "
                "Raise [budget] daily_usd in the config (0 = no limit) or wait until midnight."
            )
