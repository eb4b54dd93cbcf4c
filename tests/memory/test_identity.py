"""Identity files in the stable system prompt: loaded when they change, capped, and the
same bytes across turns while unchanged (unit level on real files, and through the
daemon against the loopback LLM)."""

from __future__ import annotations

import os
from pathlib import Path

from pulsed.agent.identity import IdentityFile, IdentitySource
from pulsed.tools.base import ToolContext
from tests.daemon.util import send
from tests.fakes.llm import FakeLLM
from tests.harness import Daemon

CTX = ToolContext(turn_id="t", session_id="s")


async def test_parts_reload_on_change_and_are_capped(tmp_path: Path) -> None:
    soul, user = tmp_path / "SOUL.md", tmp_path / "USER.md"
    src = IdentitySource(
        [IdentityFile(soul, "Who you are", 10), IdentityFile(user, "About the user", 11)],
        limit=50,
    )
    assert await src.prompt_parts(CTX, "") == []
    soul.write_text("You are Pulse, calm and brief.\n")
    [first] = await src.prompt_parts(CTX, "")
    assert first.stable and first.text == "You are Pulse, calm and brief."
    [again] = await src.prompt_parts(CTX, "")
    assert again is first  # unchanged file: the same part, not re-read

    user.write_text("x" * 120)
    parts = await src.prompt_parts(CTX, "")
    assert [p.name for p in parts] == ["identity:SOUL.md", "identity:USER.md"]
    assert parts[1].text.startswith("x" * 50) and "x" * 51 not in parts[1].text
    assert "USER.md is cut here: it has 120 characters" in parts[1].text

    soul.write_text("You are Pulse, loud.")
    st = soul.stat()
    os.utime(soul, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    parts = await src.prompt_parts(CTX, "")
    assert parts[0].text == "You are Pulse, loud."
    soul.unlink()
    assert [p.name for p in await src.prompt_parts(CTX, "")] == ["identity:USER.md"]


def test_identity_in_the_daemons_system_prompt(daemon: Daemon, fake_llm: FakeLLM) -> None:
    (daemon.config_path.parent / "SOUL.md").write_text("You are Juniper, a terse helper.")
    (daemon.config_path.parent / "USER.md").write_text("The user is Sam, a night owl.")
    (daemon.workspace / "AGENTS.md").write_text("Always answer in British English.")

    def system() -> str:
        msgs = fake_llm.requests[-1].body["messages"]
        return str(msgs[0]["content"]) if msgs[0]["role"] == "system" else ""

    send(daemon, "hello", session="a")
    first = system()
    assert "You are Juniper" in first and "Sam, a night owl" in first
    assert "British English" in first
    assert first.index("Juniper") < first.index("Sam") < first.index("British")
    send(daemon, "and again", session="a")
    assert system() == first  # byte-identical across turns

    soul = daemon.config_path.parent / "SOUL.md"
    soul.write_text("You are Juniper, a chatty helper with more words.")
    send(daemon, "third", session="a")
    assert "chatty helper" in system() and "terse" not in system()
