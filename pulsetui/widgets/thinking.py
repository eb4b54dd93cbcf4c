"""Thinking: one line under the conversation while a turn runs, ``⠹ thinking… 12s``.

The Chat view calls ``show_since`` with the start of the running turn of the session on
screen, and with None when that session has no running turn (it ended, or the person
switched to another session); the line shows a spinner and the seconds since that start,
redrawn a few times a second, and is hidden when idle.
"""

from __future__ import annotations

import time

from textual.content import Content
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Static

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
"""Frames of the spinner, one per tick."""

TICK_S = 0.25
"""Seconds between redraws while busy."""


def thinking_text(elapsed_s: float, frame: int = 0) -> Content:
    """The line for a turn running ``elapsed_s`` seconds, spinner at ``frame``."""
    spin = SPINNER[frame % len(SPINNER)]
    return Content.assemble(
        (f"{spin} thinking… ", "bold $accent"),
        (f"{int(elapsed_s)}s", "bold"),
        (" · esc cancels", "$text-muted"),
    )


class Thinking(Static):
    """A spinner with the elapsed time of the running turn; hidden while idle."""

    DEFAULT_CSS = """
    Thinking {
        height: 1;
        padding: 0 1;
        display: none;
        &.-busy { display: block; }
    }
    """

    busy: var[bool] = var(False)
    """Whether a turn runs; turning it on starts the clock at 0 s."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__("", id=id)
        self.started = 0.0
        """``time.monotonic()`` when ``busy`` last turned on."""
        self.frame = 0
        self._timer: Timer | None = None

    @property
    def elapsed_s(self) -> float:
        """Seconds since the turn started (0 while idle)."""
        return time.monotonic() - self.started if self.busy else 0.0

    def show_since(self, started: float | None) -> None:
        """Show the line counting from ``started`` (a ``time.monotonic()``); None hides it."""
        self.busy = started is not None
        if started is not None:
            self.started = started
        self._draw()

    def watch_busy(self, busy: bool) -> None:
        self.set_class(busy, "-busy")
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if busy:
            self.started = time.monotonic()
            self.frame = 0
            self._timer = self.set_interval(TICK_S, self._tick)
        self._draw()

    def _tick(self) -> None:
        self.frame += 1
        self._draw()

    def _draw(self) -> None:
        self.update(thinking_text(self.elapsed_s, self.frame) if self.busy else "")
