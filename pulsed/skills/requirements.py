"""What a skill needs from the machine, in the three forms skills are written in, and
whether this machine has it.

- AgentSkills: ``metadata.requires-bins`` and ``metadata.requires-env``, space-separated
  strings (the spec's ``metadata`` is a map of strings).
- OpenClaw: ``metadata.openclaw.requires`` with ``bins`` (all), ``anyBins`` (at least
  one), ``env`` (all set), and ``metadata.openclaw.os`` (``darwin`` | ``linux`` |
  ``win32``; also accepted under ``requires``). ``metadata.clawdbot``, its earlier
  name, is read the same way; ``requires.config`` (OpenClaw's own config keys) is not.
- nanobot: ``metadata.nanobot.requires`` with ``bins`` and ``env``, and
  ``metadata.nanobot.os``. nanobot (like OpenClaw) also writes ``metadata`` as one line of
  JSON; a string that parses as a JSON object is read the same way.

Sources: the AgentSkills specification (agentskills.io), OpenClaw's docs/tools/skills.md
("Gating"), nanobot's nanobot/agent/skills.py.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OS_NAMES = {"linux": "linux", "darwin": "darwin", "macos": "darwin", "win32": "win32"}
"""Accepted ``os`` values and the ``sys.platform`` family each means (``windows`` too)."""


class RequirementsError(ValueError):
    """The requirements in a skill's metadata have the wrong shape (the message says
    which key and why)."""


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a skill needs: every one of ``bins`` on PATH, at least one of ``any_bins``
    (when given), every one of ``env`` set and non-empty, and the platform among ``os``
    (when given)."""

    bins: tuple[str, ...] = ()
    any_bins: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    os: tuple[str, ...] = ()

    def missing(
        self,
        environ: Mapping[str, str] | None = None,
        platform: str | None = None,
        on_path: Callable[[str], bool] | None = None,
    ) -> list[str]:
        """Why this machine does not meet them, one reason a line ([] when it does).

        ``environ`` (default ``os.environ``) gives PATH and the variables; ``platform``
        (default ``sys.platform``) the system; ``on_path`` says whether a program is on
        PATH (default: ``shutil.which`` over ``environ``'s PATH; a caller checking many
        skills passes a memo).
        """
        env = os.environ if environ is None else environ
        if on_path is None:
            path = env.get("PATH", "")

            def on_path(program: str) -> bool:
                return shutil.which(program, path=path) is not None

        out = [f"{b}: not found on PATH" for b in self.bins if not on_path(b)]
        if self.any_bins and not any(on_path(b) for b in self.any_bins):
            out.append(f"none of {', '.join(self.any_bins)} found on PATH (needs one)")
        out += [f"${name}: not set" for name in self.env if not env.get(name)]
        if self.os:
            here = _os_family(platform or sys.platform)
            if here not in {OS_NAMES.get(o.lower(), o.lower()) for o in self.os}:
                out.append(f"runs on {', '.join(self.os)}, not on {here}")
        return out


def _os_family(platform: str) -> str:
    if platform.startswith("linux"):
        return "linux"
    if platform.startswith("win") or platform == "cygwin":
        return "win32"
    return platform


def parse_requirements(metadata: Mapping[str, Any]) -> Requirements:
    """The requirements declared in a skill's ``metadata`` map, all three forms merged.

    Raises:
        RequirementsError: a requirement key holds something other than a string
            (space-separated) or a list of strings.
    """
    bins = _words(metadata, "requires-bins", "metadata.requires-bins")
    env = _words(metadata, "requires-env", "metadata.requires-env")
    any_bins: list[str] = []
    oses: list[str] = []
    for key in ("openclaw", "nanobot", "clawdbot"):
        block = _block(metadata.get(key), f"metadata.{key}")
        if block is None:
            continue
        requires = _block(block.get("requires"), f"metadata.{key}.requires") or {}
        where = f"metadata.{key}.requires"
        bins += _words(requires, "bins", f"{where}.bins")
        any_bins += _words(requires, "anyBins", f"{where}.anyBins")
        env += _words(requires, "env", f"{where}.env")
        oses += _words(requires, "os", f"{where}.os") + _words(block, "os", f"metadata.{key}.os")
    return Requirements(_unique(bins), _unique(any_bins), _unique(env), _unique(oses))


def _block(value: Any, key: str) -> Mapping[str, Any] | None:
    """A nested map: a mapping, or a string holding a JSON object; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RequirementsError(f"{key}: expected a map (or a JSON object)") from None
    if not isinstance(value, Mapping):
        raise RequirementsError(f"{key}: expected a map, got {type(value).__name__}")
    return value


def _words(table: Mapping[str, Any], name: str, key: str) -> list[str]:
    value = table.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise RequirementsError(f"{key}: expected a space-separated string or a list of strings")


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
