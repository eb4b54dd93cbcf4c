"""Budget reservations on a real local store: holds, refusals, settling, no cap."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from pulsed.agent.budget import Budget, local_month_start
from pulsed.errors import ResourceExhausted
from pulsed.store import rows
from pulsed.store.local import LocalStore


async def test_reservations_hold_the_cap_and_settle_to_the_real_cost(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.open()
    try:
        budget = Budget(store, daily_usd=1.0)
        a = await budget.reserve(0.4)
        b = await budget.reserve(0.4)
        with pytest.raises(ResourceExhausted, match="too low for this call"):
            await budget.reserve(0.4)  # 0.8 held + 0.4 > 1.0
        assert budget.reserved_usd == pytest.approx(0.8)
        budget.settle(a, 0.1)
        budget.settle(a, 0.1)  # twice: counted once
        assert await budget.spent_today() == pytest.approx(0.1)
        c = await budget.reserve(0.4)  # 0.1 spent + 0.4 held + 0.4 ≤ 1.0
        budget.settle(b, 0.0)
        budget.settle(c, 0.95)
        with pytest.raises(ResourceExhausted, match="daily budget reached"):
            await budget.reserve(0.0)
        assert budget.reserved_usd == 0
    finally:
        await store.close()


async def test_no_cap_holds_nothing_but_still_counts_spend(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.open()
    try:
        budget = Budget(store, daily_usd=0)
        assert await budget.spent_today() == 0
        held = await budget.reserve(1e9)
        assert budget.reserved_usd == 0
        budget.settle(held, 0.25)
        assert await budget.spent_today() == pytest.approx(0.25)
    finally:
        await store.close()


async def test_monthly_cap_counts_what_was_spent_this_month(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.open()
    try:
        await store.append(
            "llm_logs",
            [
                rows.llm_call(
                    session_id="s",
                    turn_id="t",
                    provider="openai",
                    model="m",
                    origin="chat",
                    estimated_cost_usd=3.0,
                )
            ],
        )
        assert local_month_start() <= datetime.now().astimezone()
        assert local_month_start().day == 1 and local_month_start().hour == 0
        budget = Budget(store, daily_usd=0, monthly_usd=2.0)
        assert await budget.spent_this_month() == pytest.approx(3.0)
        with pytest.raises(ResourceExhausted, match="monthly budget reached.*resets on the 1st"):
            await budget.reserve(0.01)
        roomy = Budget(store, daily_usd=10.0, monthly_usd=3.5)
        held = await roomy.reserve(0.4)
        with pytest.raises(ResourceExhausted, match="monthly budget too low"):
            await roomy.reserve(0.2)  # 3.0 + 0.4 + 0.2 > 3.5, though the day has room
        roomy.settle(held, 0.1)
        assert await roomy.spent_this_month() == pytest.approx(3.1)
        assert await roomy.spent_today() == pytest.approx(3.1)
    finally:
        await store.close()
