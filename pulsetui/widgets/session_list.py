"""The Chat view's session sidebar: ``SessionList`` (the list, with its keys for the
highlighted session) and ``SessionCommands`` (the same actions in the command palette).

Both only name actions of the screen they are on (``export_session``,
``remove_session``); the screen does the work.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widgets import OptionList

ACTIONS = (
    ("Export session", "export_session", "Write the highlighted session to a Markdown file (e)"),
    ("Remove session", "remove_session", "Remove the highlighted session from the list (d)"),
)
"""(palette title, screen action, help) of each session action."""


class SessionList(OptionList):
    """The list of sessions; enter switches to one, ``e`` exports the highlighted one,
    ``d`` (or delete) removes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "screen.export_session", "Export"),
        Binding("d,delete", "screen.remove_session", "Remove"),
    ]


class SessionCommands(Provider):
    """Palette commands for the highlighted session (on the screen that lists it)."""

    async def discover(self) -> Hits:
        for title, action, help_ in ACTIONS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, action, help_ in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_)

    async def _run(self, action: str) -> None:
        await self.screen.run_action(action)
