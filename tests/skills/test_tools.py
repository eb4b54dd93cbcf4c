"""The prompt's Skills part, load_skill and read_skill_file on a real folder tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pulsed.skills.catalog import Root, SkillCatalog
from pulsed.skills.files import listing
from pulsed.skills.tools import LoadSkill, ReadSkillFile, SkillsPrompt
from pulsed.tools.base import ToolContext, ToolFailure
from tests.skills.util import write_skill

CTX = ToolContext(turn_id="t", session_id="s")


@pytest.fixture
def catalog(tmp_path: Path) -> SkillCatalog:
    ws = tmp_path / "ws"
    write_skill(ws, "zeta", "Last one.\n  Spread over\n  lines.")
    folder = write_skill(ws, "alpha", "First one.")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "run.sh").write_text("echo hi\n")
    (folder / "references").mkdir()
    (folder / "references" / "guide.md").write_text("# Guide\nread me")
    write_skill(ws, "gone", metadata='{"requires-bins": "no-such-binary-here"}')
    (tmp_path / "secret.txt").write_text("top secret")
    return SkillCatalog([Root("workspace", ws)], environ={"PATH": str(tmp_path / "nobin")})


async def test_prompt_lists_available_skills_sorted_and_stable(catalog: SkillCatalog) -> None:
    source = SkillsPrompt(catalog)
    parts = await source.prompt_parts(CTX, "hello")
    assert len(parts) == 1
    part = parts[0]
    assert (part.name, part.title, part.stable, part.order) == ("skills", "Skills", True, 20)
    lines = part.text.splitlines()
    assert "load_skill" in lines[0]
    assert lines[2:] == ["- **alpha**: First one.", "- **zeta**: Last one. Spread over lines."]
    again = await source.prompt_parts(CTX, "another question")
    assert again[0].text.encode() == part.text.encode()


async def test_no_available_skill_no_part(tmp_path: Path) -> None:
    catalog = SkillCatalog([Root("workspace", tmp_path / "none")])
    assert await SkillsPrompt(catalog).prompt_parts(CTX, "q") == []


async def test_load_skill_returns_body_files_and_the_shell_note(catalog: SkillCatalog) -> None:
    out = await LoadSkill(catalog).execute({"name": "alpha"}, CTX)
    assert not out.is_error
    assert out.text.startswith("# Skill: alpha\n\n# alpha\n\nStep one. Step two.")
    assert "- SKILL.md\n- references/guide.md\n- scripts/run.sh" in out.text
    assert "only through the shell tool" in out.text
    zeta = await LoadSkill(catalog).execute({"name": "zeta"}, CTX)
    assert "shell tool" not in zeta.text


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("nope", "no skill named 'nope' \\(available: alpha, zeta\\)"),
        ("gone", "unavailable here: no-such-binary-here: not found on PATH"),
        ("", "must be a skill's name"),
    ],
)
async def test_load_skill_refusals(catalog: SkillCatalog, name: str, why: str) -> None:
    with pytest.raises(ToolFailure, match=why):
        await LoadSkill(catalog).execute({"name": name}, CTX)


async def test_read_skill_file_inside_the_folder(catalog: SkillCatalog) -> None:
    tool = ReadSkillFile(catalog, max_bytes=5)
    out = await tool.execute({"name": "alpha", "path": "references/guide.md"}, CTX)
    assert out.text == "# Gui\n[cut at 5 bytes]"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../secret.txt", "resolves outside the skill's folder"),
        ("/etc/passwd", "absolute"),
        ("references/missing.md", "no such file"),
        ("references", "not a regular file"),
        (".", "folder itself"),
        ("link.txt", "symlink"),
        ("linkdir/x", "symlink"),
        ("hard.txt", "hard links"),
    ],
)
async def test_read_skill_file_is_confined(
    catalog: SkillCatalog, tmp_path: Path, path: str, why: str
) -> None:
    folder = tmp_path / "ws" / "alpha"
    os.symlink(tmp_path / "secret.txt", folder / "link.txt")
    os.symlink(tmp_path, folder / "linkdir")
    os.link(tmp_path / "secret.txt", folder / "hard.txt")
    with pytest.raises(ToolFailure, match=why):
        await ReadSkillFile(catalog, 1000).execute({"name": "alpha", "path": path}, CTX)


async def test_bundled_skills_skip_the_hard_link_check(tmp_path: Path) -> None:
    folder = write_skill(tmp_path / "b", "pkg")
    (tmp_path / "orig.md").write_text("package data")
    os.link(tmp_path / "orig.md", folder / "ref.md")
    catalog = SkillCatalog([Root("bundled", tmp_path / "b")])
    out = await ReadSkillFile(catalog, 1000).execute({"name": "pkg", "path": "ref.md"}, CTX)
    assert out.text == "package data"
    os.symlink(tmp_path / "orig.md", folder / "sym.md")
    with pytest.raises(ToolFailure, match="symlink"):
        await ReadSkillFile(catalog, 1000).execute({"name": "pkg", "path": "sym.md"}, CTX)


def test_tools_are_read_only_and_allowed(catalog: SkillCatalog) -> None:
    for tool in (LoadSkill(catalog), ReadSkillFile(catalog, 10)):
        assert tool.default_policy == "allow" and tool.idempotent


def test_listing_is_capped(tmp_path: Path) -> None:
    for i in range(210):
        (tmp_path / f"f{i:03d}.txt").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    out = listing(tmp_path, limit=200)
    assert len(out) == 201 and out[0] == "f000.txt" and out[-1] == "[10 more files not shown]"
