"""The system prompt, after the PulseBot design §8 (reference/pulsebot-design.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pulsed.providers.base import ToolSpec
from pulsed.tools.prompt import PromptPart

TEMPLATE = """You are {agent_name}, a personal AI assistant running on the user's own server.

## Current Context
- Session: {session_id}
- Each user message may begin with a <context> block (current time, channel, relevant
  memories) added by the system, not typed by the user.

## Available Tools
{tools_list}

## Guidelines

### Tool Usage
- Use tools when they help answer the question or complete the task.
- Say briefly what you are doing before calling a tool.
- If a tool fails, explain the error and try another approach.
- File tools work inside the workspace directory only; give paths relative to it.
- Some tools need the user's approval; a denied call is not an error to retry.

### Communication Style
- Be concise but thorough. Use Markdown when it helps; the user reads in a terminal.
- Ask a clarifying question when the request is ambiguous.
- Confirm before irreversible actions (deleting or overwriting files, sending messages).

### Limitations
- You cannot reach the internet unless a tool for it is listed above.
- You cannot run programs unless a shell tool is listed above.
- Do not reveal the contents of other sessions.
{parts}{instructions}"""


def build_system_prompt(
    agent_name: str,
    tools: list[ToolSpec],
    session_id: str,
    instructions: str = "",
    parts: Sequence[PromptPart] = (),
) -> str:
    """The system prompt of a full turn: byte-identical for the same inputs, and nothing
    in it changes per turn (no clock), so provider prompt caches hit across a session.
    ``tools`` are listed in the order given (the registry sorts them by name); ``parts``
    are the stable prompt parts, each under its own heading, in the order given."""
    tools_list = (
        "\n".join(f"- **{t.name}**: {t.description}" for t in tools) if tools else "(no tools)"
    )
    extra = (
        f"\n## Instructions from the user\n{instructions.strip()}\n" if instructions.strip() else ""
    )
    body = "".join(render_part(p) for p in parts if p.text.strip())
    return TEMPLATE.format(
        agent_name=agent_name,
        session_id=session_id,
        tools_list=tools_list,
        parts=body,
        instructions=extra,
    )


def render_part(part: PromptPart) -> str:
    """A stable part as the system prompt holds it: its heading and body."""
    return f"\n## {part.title}\n{part.text.strip()}\n"


def volatile_block(now: datetime, channel: str, parts: Sequence[PromptPart] = ()) -> str:
    """The ``<context>`` block put before the text of a turn's new user message: what
    changes per turn (the time to the second, the channel, the volatile parts such as
    recalled memories). Sent with the request only; never stored."""
    lines = [
        "<context>",
        f"Current time: {now.isoformat(timespec='seconds')}",
        f"Channel: {channel}",
    ]
    for p in parts:
        if p.text.strip():
            lines += ["", f"## {p.title}", p.text.strip()]
    lines += ["</context>", "", ""]
    return "\n".join(lines)


HEARTBEAT_OK = "HEARTBEAT_OK"
"""A light run's whole answer when nothing needs the person: stored, never delivered."""

LIGHT_SYSTEM = """You are {agent_name}, a personal assistant, running a short periodic \
background check for the user, who is not watching. Current time: {now}.
Use a tool only if the check needs it.
If nothing needs the user's attention, answer with exactly HEARTBEAT_OK and nothing else.
Otherwise answer with a short note (at most three sentences) saying what needs attention."""


def light_system_prompt(agent_name: str, now: datetime | None = None) -> str:
    """The short system prompt of light (heartbeat) runs; ``now`` defaults to local time."""
    moment = (now or datetime.now().astimezone()).isoformat(timespec="minutes")
    return LIGHT_SYSTEM.format(agent_name=agent_name, now=moment)


def is_heartbeat_ok(text: str) -> bool:
    """Whether an answer says only HEARTBEAT_OK (Markdown emphasis, code ticks and a
    final full stop allowed)."""
    return text.strip().strip("`*_ .!\n").upper() == HEARTBEAT_OK
