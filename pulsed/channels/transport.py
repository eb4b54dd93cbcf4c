"""What a chat platform must provide: the ``Transport`` that ``telegram.py`` and
``slack.py`` implement, the ``Inbox`` a transport reports to, and their errors.

A transport only talks to the platform: it connects, receives (handing each message to
its ``Inbox`` and saying when it is alive), sends one part, shows typing and renders
Markdown into parts. Sessions, access, the outbox and supervision are the channel's
(``channel.py``), the same for every platform.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pulsed.channels.format import Part
from pulsed.config import ChannelConfig

TypingPhase = Literal["start", "refresh", "stop"]
"""Where a turn is when ``Transport.typing`` is called."""


class SendError(Exception):
    """A send the platform refused or that did not complete.

    Attributes:
        retryable: a network error, a timeout, 429 or 5xx: trying again may work.
        retry_after: seconds the platform asked to wait, when it said (Telegram's
            ``parameters.retry_after``, Slack's ``Retry-After`` header).
        format_error: the platform could not parse the formatted text; sending the
            plain text instead will work.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        format_error: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.format_error = format_error


class ConnectError(Exception):
    """Connecting failed. ``permanent`` when retrying soon cannot help (a bad token)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass
class Inbound:
    """A message from the platform, in platform-neutral terms.

    Attributes:
        chat: where answers go within the platform (Telegram: the chat id; Slack: the
            channel id, plus ``:<thread ts>`` in a thread).
        user_id: the platform's user id (checked against ``allow_from``).
        text: the message text.
        message_id: the platform's id of the message.
        dedupe: a key that is the same when the platform delivers the message again.
        user_name: a display name, where known.
        meta: further channel metadata stored with the message.
    """

    chat: str
    user_id: str
    text: str
    message_id: str
    dedupe: str
    user_name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApprovalPrompt:
    """An approval request as a chat message shows it (the transport formats it).

    Attributes:
        request_id: the broker's request id (``ap-…``), carried by the buttons.
        tool: the tool's name.
        lines: what the call does, short and redacted: ``name: value`` lines.
        code: the exact shell command (shown whole, as code), or ''.
        timeout_s: seconds the request stays open.
    """

    request_id: str
    tool: str
    lines: tuple[str, ...] = ()
    code: str = ""
    timeout_s: float = 0.0

    def wait_text(self) -> str:
        """How long the request waits, for people: ``90 s``, ``2 min``."""
        if self.timeout_s >= 120:
            return f"{self.timeout_s / 60:.0f} min"
        return f"{self.timeout_s:.0f} s"


@dataclass(frozen=True, slots=True)
class Press:
    """A press of an approval button, in platform-neutral terms.

    Attributes:
        chat: the chat of the message the button is on (as ``Inbound.chat``).
        message_id: the platform's id of that message.
        user_id: who pressed (checked against ``allow_from``); ``user_name`` how the
            decision names them (``@alice``; Slack: ``<@U…>``).
        request_id: the approval request the button answers.
        decision: once | session | deny.
    """

    chat: str
    message_id: str
    user_id: str
    user_name: str
    request_id: str
    decision: str


@dataclass(frozen=True, slots=True)
class PressReply:
    """What the presser is told (a callback notice, an ephemeral message); ``settled``
    when the request message is edited to show the decision (nothing else to say in
    the chat itself)."""

    text: str
    settled: bool = False


class Inbox(Protocol):
    """What a transport's receiving side reports to (the channel)."""

    async def deliver(self, inbound: Inbound) -> None:
        """Handle one message; returns once it is durable (or refused), so the
        transport may then confirm it to the platform.

        Raises:
            PulseError: the store could not take it; do not confirm it.
        """

    def alive(self) -> None:
        """The receiver is working (a poll returned, a ping was answered)."""

    async def link(self, up: bool, reason: str = "") -> None:
        """The platform connection came up or dropped on its own (Slack's socket
        reconnects inside the SDK); ``reason`` says why it dropped."""

    def follows(self, chat: str) -> bool:
        """Whether the channel has talked in ``chat`` (Slack follows its threads)."""

    async def press(self, press: Press) -> PressReply:
        """Handle an approval button press; returns what to tell the presser. Never
        raises."""

    def resume_position(self) -> int:
        """The platform's position of the last handled update; 0 for none."""

    async def save_position(self, position: int) -> None:
        """Record the platform's position of the last handled update."""


class Transport(ABC):
    """One chat platform's connection.

    The channel calls ``open`` once, then ``connect``/``receive``/``disconnect`` per
    connection (the supervisor reconnects), ``send``/``typing``/``render`` at any time
    after ``open``, and ``close`` at the end.

    Attributes:
        name: the channel's name (``telegram``), also the prefix of its targets.
        platform: the platform's name for people (``Telegram``).
        cfg: the channel's config table.
    """

    name = ""
    platform = ""

    def __init__(self, cfg: ChannelConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    async def open(self, inbox: Inbox) -> None:
        """Build the platform clients (no network yet); received messages go to
        ``inbox``."""

    @abstractmethod
    async def connect(self) -> str:
        """Check the credentials and connect; returns the bot's name on the platform.

        Raises:
            ConnectError: the platform refused (``permanent`` for a bad token) or is
                unreachable.
        """

    @abstractmethod
    async def receive(self) -> None:
        """Receive until cancelled, calling the inbox's ``deliver`` per message and
        ``alive`` at each sign of life.

        Raises:
            Exception: the connection failed (any error; the supervisor reconnects).
        """

    @abstractmethod
    async def disconnect(self) -> None:
        """Drop the receiving connection after ``receive`` ended (before a reconnect)."""

    @abstractmethod
    async def send(self, chat: str, part: Part, plain: bool) -> str:
        """Send one message part to ``chat`` (its plain text when ``plain``); returns the
        platform's message id.

        Raises:
            SendError: the platform refused or the send did not complete.
        """

    async def find_sent(self, chat: str, part: Part, since: datetime) -> str | None:
        """Whether ``part`` reached ``chat`` after all: the outbox asks this after a
        restart for a part whose send began at ``since`` (UTC) and has no record of its
        answer. Returns the platform's message id when the platform shows the bot's
        message with this text, ``None`` when it does not or cannot say (the part is then
        sent again). Never raises. By default the platform cannot say."""
        return None

    approvals = False
    """Whether the transport can show approval requests with buttons (``ask``)."""

    async def ask(self, chat: str, prompt: ApprovalPrompt) -> str:
        """Post ``prompt`` to ``chat`` with the buttons Allow once · Allow for this
        session · Deny; returns the platform's message id.

        Raises:
            SendError: the platform refused or the send did not complete (by default:
                the platform has no buttons).
        """
        raise SendError(f"{self.platform} cannot show approval buttons", retryable=False)

    async def settle(
        self, chat: str, message_id: str, prompt: ApprovalPrompt, outcome: str
    ) -> None:
        """Edit the request message ``message_id`` in ``chat``: the prompt, the
        ``outcome`` line below it, and no buttons.

        Raises:
            SendError: the platform refused or the edit did not complete (by default:
                the platform has no buttons).
        """
        raise SendError(f"{self.platform} cannot show approval buttons", retryable=False)

    @abstractmethod
    async def typing(self, inbound: Inbound, phase: TypingPhase) -> None:
        """Show that a turn for ``inbound`` runs. Never raises."""

    @abstractmethod
    async def close(self) -> None:
        """Release the platform clients."""

    @abstractmethod
    def render(self, markdown: str) -> list[Part]:
        """An answer as the platform's message parts, each under its limit."""

    def stall_limit(self) -> float:
        """Seconds without a sign of life after which the receiver is restarted."""
        return self.cfg.stall_s


def describe(e: BaseException) -> str:
    """``Type: message`` of an unexpected error, for logs and ``last_error``."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
