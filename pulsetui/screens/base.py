"""PulseScreen: the base of every view, given the daemon connection by the app."""

from __future__ import annotations

from textual.screen import Screen

from pulsectl.client import AsyncPulseClient


class PulseScreen(Screen[None]):
    """A top-level view of the console.

    Args:
        client: the daemon connection its workers use (the app's, shared by every view).
    """

    def __init__(self, client: AsyncPulseClient) -> None:
        super().__init__()
        self.client = client

    def reconnected(self) -> None:
        """The daemon answers again after a lost connection: refresh what came from it.

        Tails resume by themselves, so by default there is nothing to do.
        """
