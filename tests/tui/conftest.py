"""Helpers for the console's tests: run PulseApp against a daemon, wait for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot


async def until(
    pilot: Pilot[object], predicate: Callable[[], object], timeout: float = 15.0, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` is truthy (polled every 50 ms).

    Raises:
        AssertionError: it was still false after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


async def type_text(pilot: Pilot[object], text: str) -> None:
    """Type ``text`` key by key (Pilot maps spaces and symbols to their keys)."""
    await pilot.press(*text)
