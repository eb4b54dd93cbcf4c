"""Helpers for the console's tests: run PulseApp against a daemon, wait for conditions."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

S = TypeVar("S", bound=Screen[object])


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


async def screen_ready(
    pilot: Pilot[object], app: App[Any], kind: type[S], timeout: float = 15.0, what: str = ""
) -> S:
    """Wait until the app's current screen is a ``kind`` that is mounted, and return it.

    A pushed screen is ``app.screen`` at once, but its parts exist only once it is
    composed and mounted (``is_mounted`` is set after its children are mounted and its
    ``on_mount`` ran): querying or pressing keys at it before then races the console.

    Raises:
        AssertionError: no such screen was mounted within ``timeout`` seconds.
    """
    await until(
        pilot,
        lambda: isinstance(app.screen, kind) and app.screen.is_mounted,
        timeout,
        what or f"{kind.__name__} shown",
    )
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


async def type_text(pilot: Pilot[object], text: str) -> None:
    """Type ``text`` key by key (Pilot maps spaces and symbols to their keys)."""
    await pilot.press(*text)
