"""Skills through the real daemon: the index in the system prompt (the same bytes turn
after turn), load_skill called by the model, and a broken skill that breaks nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.daemon.util import kinds, send
from tests.fakes.llm import FakeLLM, Reply
from tests.harness import Daemon, fake_llm_config, running
from tests.skills.util import write_skill


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def skilled(llm: FakeLLM) -> Iterator[Daemon]:
    """One daemon for the module, its workspace holding the skill ``release-notes`` and
    an invalid one, ``broken``."""
    extra = '[skills]\ndisabled = ["daily-briefing", "no-such-skill"]\n'
    d = Daemon(fake_llm_config(llm.url, extra=extra))
    folder = write_skill(
        d.workspace / "skills", "release-notes", "Write release notes from git history."
    )
    (folder / "SKILL.md").write_text(
        (folder / "SKILL.md").read_text().replace("Step one.", "Group changes by kind.")
    )
    broken = d.workspace / "skills" / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: broken\n---\n")
    with running(d):
        yield d


def system_prompt(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list) and messages[0]["role"] == "system"
    return str(messages[0]["content"])


def test_index_in_the_system_prompt_is_stable(skilled: Daemon, llm: FakeLLM) -> None:
    first = send(skilled, "hello")
    assert kinds(first)[-1] == "final"
    send(skilled, "and again", session=first[0].session_id)
    a, b = (system_prompt(r.body) for r in llm.requests[-2:])
    assert "## Skills\n" in a and "call load_skill" in a
    assert "- **release-notes**: Write release notes from git history." in a
    assert "broken" not in a
    assert a.encode() == b.encode()
    # bundled skills are there too (those needing nothing of the machine)
    assert "- **summarize-web-page**:" in a
    assert "daily-briefing" not in a  # [skills] disabled
    tools = {t["function"]["name"] for t in llm.requests[-1].body["tools"]}
    assert {"load_skill", "read_skill_file"} <= tools


def test_model_loads_a_skill(skilled: Daemon, llm: FakeLLM) -> None:
    llm.script(
        Reply(tool_calls=[("load_skill", {"name": "release-notes"})]),
        Reply(text="Here are your notes."),
    )
    events = send(skilled, "write the release notes")
    assert kinds(events)[-1] == "final"
    results = [e.tool_result for e in events if e.WhichOneof("event") == "tool_result"]
    assert [(r.name, r.status) for r in results] == [("load_skill", "ok")]
    tool_msgs = [m for m in llm.requests[-1].body["messages"] if m["role"] == "tool"]
    body = tool_msgs[0]["content"]
    assert body.startswith("# Skill: release-notes")
    assert "Group changes by kind." in body and "- SKILL.md" in body


def test_a_broken_skill_is_an_error_result_not_a_failed_turn(skilled: Daemon, llm: FakeLLM) -> None:
    llm.script(
        Reply(tool_calls=[("load_skill", {"name": "broken"})]),
        Reply(text="That skill is broken."),
    )
    events = send(skilled, "use the broken skill")
    assert kinds(events)[-1] == "final"
    result = next(e.tool_result for e in events if e.WhichOneof("event") == "tool_result")
    assert result.status == "error" and "description is missing" in result.preview
    assert json.dumps(events[-1].final.text) == '"That skill is broken."'


def test_pulsectl_skills_check_reports_the_invalid_skill(skilled: Daemon) -> None:
    r = skilled.pulsectl("skills", "check")
    assert r.returncode == 1, r.stderr
    assert "invalid (1):\n  broken (workspace, " in r.stdout
    assert "    - description is missing" in r.stdout
    assert "release-notes" in r.stdout.splitlines()[0]
    assert "1 invalid skill" in r.stderr
    assert "\ndisabled: daily-briefing\n" in r.stdout
    assert "'no-such-skill', which no skills folder holds" in r.stderr
    data = json.loads(skilled.pulsectl("skills", "check", "--json").stdout)
    assert data["ok"] is False and "release-notes" in data["available"]
    assert data["invalid"][0]["name"] == "broken"
    assert data["disabled"] == ["daily-briefing"] and data["unknown_disabled"] == ["no-such-skill"]
    assert [r["source"] for r in data["roots"]] == ["bundled", "person", "workspace"]
    # chat still works with the broken skill there
    assert kinds(send(skilled, "still fine?"))[-1] == "final"


def test_pulsectl_skills_list_and_show(skilled: Daemon) -> None:
    listed = json.loads(skilled.pulsectl("skills", "list", "--json").stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["release-notes"]["state"] == "available"
    assert by_name["release-notes"]["source"] == "workspace"
    assert by_name["broken"]["state"] == "invalid"
    assert by_name["git-github"]["source"] == "bundled"
    assert by_name["git-github"]["requires"]["bins"] == ["git"]
    table = skilled.pulsectl("skills", "list")
    assert table.returncode == 0 and table.stdout.startswith("SKILL")
    shown = skilled.pulsectl("skills", "show", "git-github")
    assert shown.returncode == 0
    assert re.search(r"^needs +git on PATH$", shown.stdout, re.MULTILINE)
    assert "scripts/summary.sh" in shown.stdout and "# git and GitHub" in shown.stdout
    doc = json.loads(skilled.pulsectl("skills", "show", "git-github", "--json").stdout)
    assert doc["metadata"]["requires-bins"] == "git" and "SKILL.md" in doc["files"]
    missing = skilled.pulsectl("skills", "show", "nope")
    assert missing.returncode == 1 and "no skill 'nope'" in missing.stderr


def test_a_new_skill_shows_at_the_next_turn(skilled: Daemon, llm: FakeLLM) -> None:
    # The person's skills/ sits beside the config file in use.
    write_skill(skilled.config_path.parent / "skills", "from-person", "The person's own skill.")
    write_skill(skilled.config_path.parent / "skills", "release-notes", "Shadowed by the ws.")
    assert kinds(send(skilled, "anything new?"))[-1] == "final"
    prompt = system_prompt(llm.requests[-1].body)
    assert "- **from-person**: The person's own skill." in prompt
    assert "Shadowed" not in prompt and "- **release-notes**: Write release notes" in prompt
    section = prompt.split("## Skills\n", 1)[1].split("\n## ", 1)[0]
    names = [line.split("**")[1] for line in section.splitlines() if line.startswith("- **")]
    assert "from-person" in names and names == sorted(names)
