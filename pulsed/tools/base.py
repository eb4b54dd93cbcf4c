"""The tool interface and registry.

A tool has a name, a description and a JSON Schema of its arguments (what the model
sees), a default policy (allow | ask | deny), and ``execute``. Failures a model can
act on are returned as ``ToolOutput(is_error=True)``, not raised.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pulsed.providers.base import ToolSpec

MAX_DETAIL_CHARS = 8000
"""Longest approval detail a tool gives (``Tool.approval_detail``)."""


@dataclass(slots=True)
class ToolOutput:
    """What a tool returns to the model: text, and whether it is an error."""

    text: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolContext:
    """The turn a tool call belongs to, handed to ``Tool.execute`` with every call.

    Attributes:
        turn_id: id of the turn's input row in ``messages``.
        session_id: the session the turn runs in.
        source: where the input came from (``cli``, ``tui``, ``telegram``, ``scheduler``...).
        user_id: who sent it (a platform user id, ``local`` for the person's clients).
        interactive: a person is watching and can answer approvals.
        origin: what the turn's spend is attributed to (chat | task | heartbeat | trigger).
        channel_metadata: the input row's ``channel_metadata`` (``deliver_to``, chat ids).
    """

    turn_id: str
    session_id: str
    source: str = ""
    user_id: str = ""
    interactive: bool = False
    origin: str = "chat"
    channel_metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def deliver_to(self) -> str:
        """The input's ``channel_metadata.deliver_to``, or '' when it names none."""
        target = self.channel_metadata.get("deliver_to")
        return target if isinstance(target, str) else ""


class ToolFailure(Exception):
    """Raised inside a tool for a failure the model should see as an error result."""


class Tool(ABC):
    """One tool. Subclasses set the class attributes and implement ``execute``."""

    name: str = ""
    description: str = ""
    parameters: dict[str, Any] = {"type": "object", "properties": {}}
    default_policy: str = "allow"
    """allow | ask | deny when [tools.policy] does not name the tool."""
    idempotent: bool = False
    """Running it twice with the same arguments has the effect of running it once (reads,
    lookups). A call interrupted by a crash is run again after recovery only if so; else
    the model is told it was interrupted."""

    def spec(self) -> ToolSpec:
        """The tool as the model sees it."""
        return ToolSpec(self.name, self.description, self.parameters)

    def pre_approved(self, args: dict[str, Any], ctx: ToolContext) -> bool:
        """Whether this call may run unasked although the tool's policy is "ask" (the
        shell: every command matches a ``[tools.shell] allow`` pattern). Also decides
        for unattended turns, which never ask. Default: never."""
        return False

    def approval_key(self, args: dict[str, Any], ctx: ToolContext) -> str:
        """What an approval of this call binds to; "allow for this session" remembers
        exactly this key. Default: the arguments as canonical JSON."""
        return json.dumps(args, sort_keys=True, ensure_ascii=False)

    def approval_detail(self, args: dict[str, Any], ctx: ToolContext) -> str:
        """What the person should see besides the arguments before approving (the shell:
        the exact command, where it runs and why it asks; write_file: a diff against the
        file it replaces). Plain text, at most ``MAX_DETAIL_CHARS``. Default: nothing."""
        return ""

    def time_limit(self, args: dict[str, Any]) -> float | None:
        """How long this call may run, seconds, when the tool enforces its own limit (the
        shell's ``timeout_s`` plus its kill grace); None: ``[tools] tool_timeout_s``."""
        return None

    @abstractmethod
    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        """Run the tool with the model's arguments, for the turn ``ctx``.

        Raises:
            ToolFailure: the call failed in a way the model should be told about.
        """


class ToolSource(Protocol):
    """Tools that come and go while the daemon runs (an MCP server's): asked afresh
    whenever the registry is read, so a turn sees the tools of that moment."""

    def current_tools(self) -> Sequence[Tool]:
        """The tools now; names are unique within a source."""
        ...


class ToolRegistry:
    """The tools available to the agent, by name, with their effective policies.

    The built-in tools are fixed at construction; sources added with ``add_source``
    contribute theirs each time the registry is read. A source's tool never replaces a
    built-in one of the same name (the source is expected to refuse such names)."""

    def __init__(self, tools: list[Tool], policy: dict[str, str] | None = None) -> None:
        self._tools = {t.name: t for t in tools}
        self._policy = dict(policy or {})
        self._sources: list[ToolSource] = []

    def add_source(self, source: ToolSource) -> None:
        """Offer ``source``'s tools beside the built-in ones from now on."""
        self._sources.append(source)

    def names(self) -> set[str]:
        """Names of the built-in tools (those a source must not take)."""
        return set(self._tools)

    def _all(self) -> dict[str, Tool]:
        if not self._sources:
            return self._tools
        tools = dict(self._tools)
        for source in self._sources:
            for t in source.current_tools():
                tools.setdefault(t.name, t)
        return tools

    def get(self, name: str) -> Tool | None:
        """The named tool, or None."""
        tool = self._tools.get(name)
        if tool is None and self._sources:
            tool = self._all().get(name)
        return tool

    def policy(self, name: str) -> str:
        """allow | ask | deny for the named tool (config first, then the tool's default)."""
        if name in self._policy:
            return self._policy[name]
        tool = self.get(name)
        return tool.default_policy if tool else "deny"

    def specs(self) -> list[ToolSpec]:
        """Specs of every tool whose policy is not deny, sorted by name."""
        return [t.spec() for n, t in sorted(self._all().items()) if self.policy(n) != "deny"]

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._all().values()))
