"""The bundled skills: each one parses, loads through load_skill, and has its
requirements detected on a PATH the test makes (met and unmet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulsed.skills.catalog import BUNDLED_DIR, Root, SkillCatalog
from pulsed.skills.tools import LoadSkill, ReadSkillFile
from pulsed.tools.base import ToolContext
from tests.skills.util import fake_bin

ROOT = Path(__file__).resolve().parents[2]
CTX = ToolContext(turn_id="t", session_id="s")

BUNDLED = {
    # name: (binaries it needs, a phrase of its body)
    "daily-briefing": ((), "list_reminders"),
    "git-github": (("git",), "git status --short --branch"),
    "pulse-streams": (("pulsectl", "jq"), "pulsectl --no-start costs"),
    "summarize-web-page": ((), "web_fetch(url)"),
}


def catalog(path: str) -> SkillCatalog:
    return SkillCatalog([Root("bundled", BUNDLED_DIR)], environ={"PATH": path})


def test_bundled_dir_is_the_repositorys_skills_folder() -> None:
    assert BUNDLED_DIR.resolve() == (ROOT / "skills").resolve()
    names = sorted(p.name for p in (ROOT / "skills").iterdir() if p.is_dir())
    assert names == sorted(BUNDLED)


@pytest.mark.parametrize("name", sorted(BUNDLED))
async def test_bundled_skill_loads_when_its_binaries_are_there(name: str, tmp_path: Path) -> None:
    bins, phrase = BUNDLED[name]
    skills = catalog(fake_bin(tmp_path / "bin", *bins)).current()
    skill = skills.get(name)
    assert skill is not None and skill.state == "available", skill
    assert skill.doc is not None and skill.doc.requires.bins == bins
    assert skill.doc.warnings == ()
    out = await LoadSkill(catalog(str(tmp_path / "bin"))).execute({"name": name}, CTX)
    assert not out.is_error and phrase in out.text


@pytest.mark.parametrize("name", [n for n, (bins, _) in sorted(BUNDLED.items()) if bins])
def test_bundled_skill_unavailable_without_its_binaries(name: str, tmp_path: Path) -> None:
    bins, _ = BUNDLED[name]
    # all but the last binary present: exactly that one is reported missing
    skills = catalog(fake_bin(tmp_path / "bin", *bins[:-1])).current()
    skill = skills.get(name)
    assert skill is not None and skill.state == "unavailable"
    assert skill.missing == (f"{bins[-1]}: not found on PATH",)
    assert name not in [s.name for s in skills.available]


async def test_bundled_reference_and_script_can_be_read(tmp_path: Path) -> None:
    read = ReadSkillFile(catalog(fake_bin(tmp_path / "bin", "git")), 100_000)
    shapes = await read.execute({"name": "summarize-web-page", "path": "references/shapes.md"}, CTX)
    assert "Release notes" in shapes.text
    script = await read.execute({"name": "git-github", "path": "scripts/summary.sh"}, CTX)
    assert script.text.startswith("#!/bin/sh")
