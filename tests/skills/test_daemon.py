"""Skills through the real daemon: the index in the system prompt (the same bytes turn
after turn), load_skill called by the model, and a broken skill that breaks nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.daemon.util import kinds, send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config
from tests.skills.util import write_skill


@pytest.fixture
def skilled(fake_llm: FakeLLM) -> Iterator[Daemon]:
    """A daemon whose workspace holds the skill ``release-notes`` and an invalid one."""
    d = Daemon(fake_llm_config(fake_llm.url))
    folder = write_skill(
        d.workspace / "skills", "release-notes", "Write release notes from git history."
    )
    (folder / "SKILL.md").write_text(
        (folder / "SKILL.md").read_text().replace("Step one.", "Group changes by kind.")
    )
    broken = d.workspace / "skills" / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: broken\n---\n")
    try:
        d.start()
        yield d
    finally:
        try:
            d.stop()
        finally:
            d.cleanup()


def system_prompt(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list) and messages[0]["role"] == "system"
    return str(messages[0]["content"])


def test_index_in_the_system_prompt_is_stable(skilled: Daemon, fake_llm: FakeLLM) -> None:
    first = send(skilled, "hello")
    assert kinds(first)[-1] == "final"
    send(skilled, "and again", session=first[0].session_id)
    a, b = (system_prompt(r.body) for r in fake_llm.requests[-2:])
    assert "## Skills\n" in a and "call load_skill" in a
    assert "- **release-notes**: Write release notes from git history." in a
    assert "broken" not in a
    assert a.encode() == b.encode()
    # bundled skills are there too (those needing nothing of the machine)
    assert "- **summarize-web-page**:" in a
    tools = {t["function"]["name"] for t in fake_llm.requests[-1].body["tools"]}
    assert {"load_skill", "read_skill_file"} <= tools


def test_model_loads_a_skill(skilled: Daemon, fake_llm: FakeLLM) -> None:
    fake_llm.script(
        Reply(tool_calls=[("load_skill", {"name": "release-notes"})]),
        Reply(text="Here are your notes."),
    )
    events = send(skilled, "write the release notes")
    assert kinds(events)[-1] == "final"
    results = [e.tool_result for e in events if e.WhichOneof("event") == "tool_result"]
    assert [(r.name, r.status) for r in results] == [("load_skill", "ok")]
    tool_msgs = [m for m in fake_llm.requests[-1].body["messages"] if m["role"] == "tool"]
    body = tool_msgs[0]["content"]
    assert body.startswith("# Skill: release-notes")
    assert "Group changes by kind." in body and "- SKILL.md" in body


def test_a_broken_skill_is_an_error_result_not_a_failed_turn(
    skilled: Daemon, fake_llm: FakeLLM
) -> None:
    fake_llm.script(
        Reply(tool_calls=[("load_skill", {"name": "broken"})]),
        Reply(text="That skill is broken."),
    )
    events = send(skilled, "use the broken skill")
    assert kinds(events)[-1] == "final"
    result = next(e.tool_result for e in events if e.WhichOneof("event") == "tool_result")
    assert result.status == "error" and "description is missing" in result.preview
    assert json.dumps(events[-1].final.text) == '"That skill is broken."'
