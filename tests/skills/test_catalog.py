"""Discovery: roots, precedence, [skills] disabled, invalid skills, rescans on change."""

from __future__ import annotations

import os
from pathlib import Path

from pulsed.config import Config, SkillsConfig, ToolsConfig
from pulsed.skills.catalog import Root, SkillCatalog, default_roots
from tests.skills.util import fake_bin, write_skill


def roots(tmp_path: Path) -> list[Root]:
    return [
        Root("bundled", tmp_path / "bundled"),
        Root("person", tmp_path / "person"),
        Root("workspace", tmp_path / "ws"),
    ]


def test_precedence_workspace_over_person_over_bundled(tmp_path: Path) -> None:
    write_skill(tmp_path / "bundled", "notes", "bundled notes")
    write_skill(tmp_path / "person", "notes", "person notes")
    write_skill(tmp_path / "ws", "notes", "workspace notes")
    write_skill(tmp_path / "bundled", "only-bundled")
    write_skill(tmp_path / "person", "only-person")
    skills = SkillCatalog(roots(tmp_path)).current()
    assert [s.name for s in skills.skills] == ["notes", "only-bundled", "only-person"]
    notes = skills.get("notes")
    assert notes is not None
    assert (notes.source, notes.description) == ("workspace", "workspace notes")
    assert notes.overrides == (tmp_path / "bundled" / "notes", tmp_path / "person" / "notes")
    assert [s.source for s in skills.skills] == ["workspace", "bundled", "person"]


def test_invalid_and_disabled_are_reported_not_fatal(tmp_path: Path) -> None:
    write_skill(tmp_path / "ws", "good")
    bad = tmp_path / "ws" / "bad"
    bad.mkdir(parents=True)
    (bad / "SKILL.md").write_text("---\nname: bad\n---\nno description\n")
    (tmp_path / "ws" / "empty").mkdir()
    (tmp_path / "ws" / ".hidden").mkdir()
    (tmp_path / "ws" / "README.md").write_text("not a skill")
    write_skill(tmp_path / "ws", "paused")
    os.symlink(tmp_path / "ws" / "good", tmp_path / "ws" / "linked")
    skills = SkillCatalog(roots(tmp_path), disabled=["paused"]).current()
    states = {s.name: (s.state, s.error) for s in skills.skills}
    assert states == {
        "bad": ("invalid", "description is missing"),
        "empty": ("invalid", "no SKILL.md in the folder"),
        "good": ("available", ""),
        "paused": ("disabled", ""),
    }
    assert [s.name for s in skills.available] == ["good"]


def test_requirements_decide_availability(tmp_path: Path) -> None:
    write_skill(tmp_path / "ws", "needs", metadata='{"requires-bins": "zz-tool", "x": "y"}')
    env = {"PATH": str(tmp_path / "bin")}
    catalog = SkillCatalog(roots(tmp_path), environ=env)
    skill = catalog.current().get("needs")
    assert skill is not None and skill.state == "unavailable"
    assert skill.missing == ("zz-tool: not found on PATH",)
    fake_bin(tmp_path / "bin", "zz-tool")
    skill = catalog.current().get("needs")  # checked again each time, files unchanged
    assert skill is not None and skill.state == "available" and skill.missing == ()


def test_rescans_when_files_change(tmp_path: Path) -> None:
    catalog = SkillCatalog(roots(tmp_path))
    assert catalog.current().skills == ()
    folder = write_skill(tmp_path / "ws", "new", "first")
    assert [s.description for s in catalog.current().skills] == ["first"]
    first = catalog.current()
    assert catalog.current().skills == first.skills  # unchanged: same result
    text = (folder / "SKILL.md").read_text().replace("first", "second")
    (folder / "SKILL.md").write_text(text)
    st = (folder / "SKILL.md").stat()
    os.utime(folder / "SKILL.md", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert [s.description for s in catalog.current().skills] == ["second"]
    (folder / "SKILL.md").unlink()
    assert catalog.current().get("new") is not None
    assert catalog.current().get("new").state == "invalid"  # type: ignore[union-attr]


def test_default_roots_follow_the_config(tmp_path: Path) -> None:
    cfg = Config(
        tools=ToolsConfig(workspace=str(tmp_path / "ws")),
        skills=SkillsConfig(disabled=["git-github"]),
        source=str(tmp_path / "conf" / "config.toml"),
    )
    rs = default_roots(cfg)
    assert [r.source for r in rs] == ["bundled", "person", "workspace"]
    assert rs[1].path == tmp_path / "conf" / "skills"
    assert rs[2].path == tmp_path / "ws" / "skills"
    catalog = SkillCatalog.from_config(cfg)
    skill = catalog.current().get("git-github")
    assert skill is not None and skill.state == "disabled" and skill.source == "bundled"


def test_requirements_checked_again_when_a_variable_or_path_changes(tmp_path: Path) -> None:
    write_skill(tmp_path / "ws", "env", metadata='{"requires-env": "TOKEN", "requires-bins": "t"}')
    env = {"PATH": fake_bin(tmp_path / "bin")}
    catalog = SkillCatalog(roots(tmp_path), environ=env)
    assert catalog.current().get("env").missing == (  # type: ignore[union-attr]
        "t: not found on PATH",
        "$TOKEN: not set",
    )
    env["TOKEN"] = "x"
    fake_bin(tmp_path / "bin", "t")  # a program installed into a PATH folder
    assert catalog.current().get("env").state == "available"  # type: ignore[union-attr]
    (tmp_path / "bin" / "t").unlink()
    assert catalog.current().get("env").state == "unavailable"  # type: ignore[union-attr]


def test_a_config_dir_that_is_the_workspace_is_one_root(tmp_path: Path) -> None:
    cfg = Config(tools=ToolsConfig(workspace=str(tmp_path)), source=str(tmp_path / "c.toml"))
    assert [r.source for r in default_roots(cfg)] == ["bundled", "workspace"]
