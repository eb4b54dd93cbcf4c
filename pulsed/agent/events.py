"""Events a running turn emits to the clients watching it (never stored as such).

One dataclass per kind; ``TurnEvent`` is their union, read with ``match``. Each mirrors
the member of the same name in ``pulse.v1.TurnEvent`` (``api/convert.py`` is the one
place that converts them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from pulsed.providers.base import Usage


@dataclass(slots=True)
class TurnUsage:
    """What a turn's LLM calls used, summed: tokens, estimated USD and the call count."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0

    def add(self, usage: Usage | None, cost_usd: float) -> None:
        """Count one call: its provider-reported ``usage`` (None when it failed) and cost."""
        if usage is not None:
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens
            self.cache_read_tokens += usage.cache_read_tokens
            self.cache_write_tokens += usage.cache_write_tokens
        self.cost_usd += cost_usd
        self.llm_calls += 1

    def to_dict(self) -> dict[str, int | float]:
        """The JSON shape stored in an ``agent_response`` row's ``content.usage``."""
        return asdict(self)

    def copy(self) -> TurnUsage:
        """An independent copy (events must not change as the turn goes on)."""
        return TurnUsage(**asdict(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    turn_id: str
    session_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted(_Event):
    """The input is stored (``seq`` in ``messages``); ``queued_behind`` turns of its
    session run first."""

    seq: int
    queued_behind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Delta(_Event):
    """A fragment of the answer's text as it streams in."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallStarted(_Event):
    """The model called a tool; ``arguments_json`` is its arguments as JSON text."""

    call_id: str
    name: str
    arguments_json: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested(_Event):
    """An "ask" tool waits for ``Chat.Approve(request_id)`` for up to ``timeout_s``;
    ``approval_key`` is what an "allow for this session" answer binds to."""

    request_id: str
    tool: str
    arguments_json: str
    timeout_s: float
    approval_key: str = ""
    detail: str = ""
    """What the tool shows besides the arguments (``Tool.approval_detail``): the shell's
    exact command and why it asks, write_file's diff."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResultReady(_Event):
    """A tool call ended: ``status`` ok | error | denied | timeout, a result preview and
    its duration in milliseconds."""

    call_id: str
    name: str
    status: str
    preview: str
    duration_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Final(_Event):
    """The turn answered: the ``agent_response`` row's id, its text and the usage."""

    message_id: str
    text: str
    usage: TurnUsage = field(default_factory=TurnUsage)
    iterations: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Failed(_Event):
    """The turn ended with an error. ``message_id`` is its ``error`` row ('' when none
    was written: ``shutdown`` turns stay unanswered and resume at the next start).
    ``code``: provider_error | budget_exceeded | max_iterations | no_provider | cancelled |
    timeout | interrupted | shutdown | store_unavailable | internal."""

    message_id: str
    code: str
    message: str


TurnEvent = (
    Accepted | Delta | ToolCallStarted | ApprovalRequested | ToolResultReady | Final | Failed
)
"""Any event of a turn."""

TERMINAL = (Final, Failed)
"""The kinds that end a turn: exactly one of them is its last event."""


def is_terminal(ev: TurnEvent) -> bool:
    """Whether ``ev`` is the last event of its turn."""
    return isinstance(ev, TERMINAL)
