"""The identity files, part of every full turn's stable system prompt.

``SOUL.md`` (who the agent is) and ``USER.md`` (who the person is) live in the config
dir (``Config.config_dir``: the directory of the config file in use), ``AGENTS.md``
(standing instructions) in the workspace. Each is read again only when its modification
time or size changes, so the system prompt stays byte-identical across turns (provider
prompt caches hit) until a file is edited. A file longer than ``MAX_CHARS`` is cut, and
the prompt says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pulsed.config import Config
from pulsed.tools.base import ToolContext
from pulsed.tools.prompt import PromptPart

log = logging.getLogger("pulsed.agent")

MAX_CHARS = 8000
"""Most characters of one identity file in the prompt."""
ORDER = 10
"""Position of the first identity part among the stable parts (they come first)."""


@dataclass(frozen=True, slots=True)
class IdentityFile:
    """One identity file: where it is, how it is titled in the prompt, its position."""

    path: Path
    title: str
    order: int = ORDER

    @property
    def name(self) -> str:
        return f"identity:{self.path.name}"


def identity_files(cfg: Config) -> list[IdentityFile]:
    """SOUL.md and USER.md in the config dir, AGENTS.md in the workspace, in that order."""
    return [
        IdentityFile(cfg.config_dir / "SOUL.md", "Who you are (SOUL.md)", ORDER),
        IdentityFile(cfg.config_dir / "USER.md", "About the user (USER.md)", ORDER + 1),
        IdentityFile(
            cfg.workspace_path / "AGENTS.md", "Standing instructions (AGENTS.md)", ORDER + 2
        ),
    ]


def capped(text: str, name: str, limit: int = MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a line saying that it was cut."""
    if len(text) <= limit:
        return text
    return (
        text[:limit].rstrip()
        + f"\n\n[{name} is cut here: it has {len(text)} characters and only the first "
        f"{limit} are shown]"
    )


class IdentitySource:
    """The ``PromptSource`` of the identity files (stable parts, ``ORDER``)."""

    def __init__(self, files: Sequence[IdentityFile], limit: int = MAX_CHARS) -> None:
        self.files = list(files)
        self.limit = limit
        self._cache: dict[Path, tuple[tuple[int, int], PromptPart | None]] = {}

    @classmethod
    def of(cls, cfg: Config) -> IdentitySource:
        """The identity files of ``cfg``."""
        return cls(identity_files(cfg))

    def __repr__(self) -> str:
        return "IdentitySource"

    async def prompt_parts(self, ctx: ToolContext, query: str) -> Sequence[PromptPart]:
        """One stable part per identity file that exists and is not empty; the same
        part objects (and bytes) as long as a file's mtime and size stay the same."""
        out = []
        for f in self.files:
            part = await self._part(f)
            if part is not None:
                out.append(part)
        return out

    async def _part(self, f: IdentityFile) -> PromptPart | None:
        try:
            st = f.path.stat()
        except OSError:
            self._cache.pop(f.path, None)
            return None
        key = (st.st_mtime_ns, st.st_size)
        cached = self._cache.get(f.path)
        if cached is not None and cached[0] == key:
            return cached[1]
        try:
            text = await asyncio.to_thread(f.path.read_text, "utf-8", "replace")
        except OSError as e:
            log.warning("cannot read %s (left out of the prompt): %s", f.path, e)
            return None
        text = text.strip()
        part = (
            PromptPart(f.name, f.title, capped(text, f.path.name, self.limit), True, f.order)
            if text
            else None
        )
        self._cache[f.path] = (key, part)
        return part
