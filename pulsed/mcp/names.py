"""Tool names as providers accept them, and the include/exclude filters of a server."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

MAX_NAME = 64
"""Longest tool name the providers accept (Anthropic and OpenAI: 64)."""
_BAD = re.compile(r"[^A-Za-z0-9_-]")


def full_name(server: str, tool: str) -> str:
    """``<server>__<tool>`` with every character outside ``[A-Za-z0-9_-]`` replaced by
    ``_`` and cut to 64 characters (so two tools can end up with one name; the caller
    refuses the second)."""
    return _BAD.sub("_", f"{server}__{tool}")[:MAX_NAME]


def offered(tool: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a server's tool (its own name, before prefixing) passes the server's
    ``include`` globs and none of its ``exclude`` globs (case-sensitive fnmatch)."""
    if not any(fnmatch.fnmatchcase(tool, g) for g in include):
        return False
    return not any(fnmatch.fnmatchcase(tool, g) for g in exclude)
