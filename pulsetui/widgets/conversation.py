"""The pieces of a conversation: the person's messages, the agent's answers (Markdown,
streamed), tool calls as collapsible cards, errors and notes; and which of them a stored
message row is shown as."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Collapsible, Markdown, Static

from pulsectl.client import TailRow
from pulsetui.format import duration_ms

STATUS_MARKS = {"ok": "✔", "error": "✖", "denied": "⊘", "timeout": "⌛", "running": "…"}


class UserMessage(Static):
    """What the person wrote (shown verbatim, never as markup)."""

    DEFAULT_CSS = """
    UserMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $primary;
        background: $primary 10%;
    }
    """

    def __init__(self, text: str, *, label: str = "you") -> None:
        super().__init__(Text(text))
        self.border_title = label
        self.text = text


class AgentMessage(Markdown):
    """The agent's answer as Markdown; ``stream`` fills it while tokens arrive."""

    DEFAULT_CSS = """
    AgentMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        border-left: thick $success;
        background: $boost;
        & > *:last-child { margin-bottom: 0; }
    }
    """

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.text = text
        """The text so far (deltas appended)."""


class ErrorMessage(Static):
    """A turn that ended in an error, or a request the daemon refused."""

    DEFAULT_CSS = """
    ErrorMessage {
        margin: 1 0 0 0;
        padding: 0 1;
        color: $text-error;
        background: $error 15%;
        border-left: thick $error;
    }
    """

    def __init__(self, code: str, message: str) -> None:
        text = Text()
        text.append(f"✖ {code}" if code else "✖ error", style="bold")
        if message:
            text.append(f": {message}")
        super().__init__(text)
        self.code = code
        self.message = message


class Note(Static):
    """A quiet line: queued, cancelled, a task delivery's header."""

    DEFAULT_CSS = """
    Note { color: $text-muted; padding: 0 1; text-style: italic; }
    """

    def __init__(self, text: str, classes: str = "") -> None:
        super().__init__(Text(text), classes=classes)


def _pretty(arguments: str | dict[str, Any]) -> str:
    value: Any = arguments
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments) if arguments else {}
        except ValueError:
            return arguments
    return json.dumps(value, indent=2, ensure_ascii=False)


class ToolCard(Collapsible):
    """One tool call: name and status in the title; arguments, result and duration inside.

    Collapsed by default (Enter on the title opens it); a call that failed opens itself.
    """

    DEFAULT_CSS = """
    ToolCard {
        margin: 1 0 0 0;
        border-top: none;
        border-left: thick $secondary;
        background: $panel;
        padding: 0;
        & > Contents { padding: 0 1 0 2; }
        & .tool-label { color: $text-muted; text-style: bold; }
        &.-error { border-left: thick $error; }
    }
    """

    def __init__(self, call_id: str, name: str, arguments: str | dict[str, Any]) -> None:
        self.call_id = call_id
        self.tool = name
        self.status = "running"
        self.duration: float | None = None
        self.result = ""
        """The result's preview, once the call ended."""
        self.arguments = _pretty(arguments)
        self._result = Static(Text("…"), classes="tool-result")
        super().__init__(
            Static("arguments", classes="tool-label"),
            Static(Text(self.arguments)),
            Static("result", classes="tool-label"),
            self._result,
            title=self._heading(),
            collapsed=True,
        )

    def _heading(self) -> str:
        mark = STATUS_MARKS.get(self.status, "•")
        title = f"⚙ {self.tool}  {mark} {self.status}"
        if self.duration is not None:
            title += f" · {duration_ms(self.duration)}"
        return title

    def finish(self, status: str, preview: str, duration: float | None) -> None:
        """Show the call's outcome (``duration`` in ms, None when unknown)."""
        self.status = status or "ok"
        self.duration = duration
        self.result = preview
        self.title = self._heading()
        self._result.update(Text(preview or "(empty)"))
        if self.status != "ok":
            self.add_class("-error")
            self.collapsed = False


def history_widget(row: TailRow, cards: dict[str, ToolCard]) -> Widget | None:
    """The widget a stored ``messages`` row is shown as (None for rows not shown).

    ``cards`` maps call ids to the tool cards made so far; a tool_call row adds its card
    and a tool_result row finishes it.
    """
    v = row.values
    kind = v.get("message_type")
    content: Any = v.get("content")
    if not isinstance(content, dict):
        content = {"text": content if isinstance(content, str) else json.dumps(content)}
    text = str(content.get("text", ""))
    if kind == "user_input":
        return UserMessage(text)
    if kind == "scheduled_task":
        return UserMessage(text, label=f"task {content.get('task', '')}".strip())
    if kind == "agent_response":
        return AgentMessage(text)
    if kind == "error":
        return ErrorMessage(str(content.get("code", "")), text)
    if kind == "tool_call":
        call_id = str(content.get("call_id", ""))
        card = ToolCard(call_id, str(content.get("name", "?")), content.get("arguments") or {})
        cards[call_id] = card
        return card
    if kind == "tool_result":
        started = cards.get(str(content.get("call_id", "")))
        if started is not None:
            started.finish(str(content.get("status", "ok")), text, None)
        return None
    return None
