"""The system prompt, after the PulseBot design §8 (reference/pulsebot-design.md)."""

from __future__ import annotations

from datetime import datetime

from pulsed.providers.base import ToolSpec

TEMPLATE = """You are {agent_name}, a personal AI assistant running on the user's own server.

## Current Context
- Current time: {current_time}
- Session: {session_id}
- Channel: {channel}

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
{instructions}"""


def build_system_prompt(
    agent_name: str,
    tools: list[ToolSpec],
    session_id: str,
    channel: str,
    instructions: str = "",
    now: datetime | None = None,
) -> str:
    """The system prompt for one turn. ``now`` defaults to the local time."""
    tools_list = (
        "\n".join(f"- **{t.name}**: {t.description}" for t in tools) if tools else "(no tools)"
    )
    extra = (
        f"\n## Instructions from the user\n{instructions.strip()}\n" if instructions.strip() else ""
    )
    return TEMPLATE.format(
        agent_name=agent_name,
        current_time=(now or datetime.now().astimezone()).isoformat(timespec="seconds"),
        session_id=session_id,
        channel=channel,
        tools_list=tools_list,
        instructions=extra,
    )


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
