"""Progressive disclosure: the skills index in the prompt, the bodies on request.

``SkillsPrompt`` gives the system prompt's stable part "Skills": one line per available
skill (name and description, sorted by name), byte-identical across turns while the
skills do not change, so provider prompt caches hit. ``load_skill(name)`` returns a
skill's instructions with its folder's file list; ``read_skill_file(name, path)`` reads
one file of that folder. Both only read (policy allow, idempotent). A skill's scripts
are never run here: the model runs them through the shell tool, under its policy.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from pulsed.skills.catalog import Skill, SkillCatalog
from pulsed.skills.files import listing, read_text
from pulsed.tools.base import Tool, ToolContext, ToolFailure, ToolOutput
from pulsed.tools.prompt import PromptPart

PROMPT_ORDER = 20
INTRO = (
    "Skills hold instructions for particular tasks. When a request matches a skill's "
    "description, call load_skill with its name first and follow what it says."
)


def one_line(text: str) -> str:
    """``text`` with every run of whitespace as one space."""
    return re.sub(r"\s+", " ", text).strip()


def index_text(skills: Sequence[Skill]) -> str:
    """The body of the prompt's "Skills" part: the intro, then ``- **name**: description``
    per skill in the order given ("" when there is none)."""
    if not skills:
        return ""
    lines = [f"- **{s.name}**: {one_line(s.description)}" for s in skills]
    return INTRO + "\n\n" + "\n".join(lines)


class SkillsPrompt:
    """The PromptSource of the skills index (stable, order 20)."""

    def __init__(self, catalog: SkillCatalog) -> None:
        self.catalog = catalog

    async def prompt_parts(self, ctx: ToolContext, query: str) -> Sequence[PromptPart]:
        skills = await asyncio.to_thread(self.catalog.current)
        text = index_text(skills.available)
        return (
            [PromptPart("skills", "Skills", text, stable=True, order=PROMPT_ORDER)] if text else []
        )


def _name_arg(args: dict[str, Any]) -> str:
    name = args.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ToolFailure("argument 'name' must be a skill's name")
    return name.strip()


def _usable(catalog: SkillCatalog, name: str) -> Skill:
    """The available skill ``name``.

    Raises:
        ToolFailure: no such skill, or it is disabled, invalid or unavailable (why).
    """
    skills = catalog.current()
    skill = skills.get(name)
    if skill is None:
        names = ", ".join(s.name for s in skills.available) or "none"
        raise ToolFailure(f"no skill named {name!r} (available: {names})")
    if skill.state == "disabled":
        raise ToolFailure(f"skill {name!r} is disabled in [skills] disabled")
    if skill.state == "invalid":
        raise ToolFailure(f"skill {name!r} is invalid: {skill.error}")
    if skill.state == "unavailable":
        raise ToolFailure(f"skill {name!r} is unavailable here: {'; '.join(skill.missing)}")
    return skill


def render_skill(skill: Skill) -> str:
    """What load_skill returns: the body, then the folder's files and how to use them."""
    assert skill.doc is not None
    files = listing(skill.path)
    parts = [f"# Skill: {skill.name}", "", skill.doc.body, "", "---"]
    parts.append(f"Folder: {skill.path} ({skill.source} skill)")
    parts.append("Files (read one with read_skill_file(name, path), path relative to the folder):")
    parts += [f"- {f}" for f in files]
    if skill.has_scripts:
        parts.append(
            "Scripts in scripts/ run only through the shell tool, under its policy (a "
            "command may need the person's approval); give the script's full path, inside "
            "the folder above. Read a script before running it."
        )
    return "\n".join(parts)


class LoadSkill(Tool):
    """``load_skill(name)``: a skill's instructions and its folder's file list."""

    name = "load_skill"
    description = (
        "Load the instructions of a skill listed under Skills in the system prompt, with "
        "the list of its files. Call it before doing a task a skill describes."
    )
    parameters = {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "the skill's name"}},
        "required": ["name"],
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, catalog: SkillCatalog) -> None:
        self.catalog = catalog

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        name = _name_arg(args)
        return await asyncio.to_thread(self._load, name)

    def _load(self, name: str) -> ToolOutput:
        return ToolOutput(render_skill(_usable(self.catalog, name)))


class ReadSkillFile(Tool):
    """``read_skill_file(name, path)``: a text file inside a skill's folder, cut at
    ``max_bytes``."""

    name = "read_skill_file"
    description = (
        "Read a text file inside a skill's folder (references/, assets/, scripts/ as "
        "load_skill lists them). The path is relative to the skill's folder."
    )
    parameters = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "the skill's name"},
            "path": {"type": "string", "description": "file path inside the skill's folder"},
        },
        "required": ["name", "path"],
    }
    default_policy = "allow"
    idempotent = True

    def __init__(self, catalog: SkillCatalog, max_bytes: int) -> None:
        self.catalog = catalog
        self.max_bytes = max_bytes

    async def execute(self, args: dict[str, Any], ctx: ToolContext) -> ToolOutput:
        name = _name_arg(args)
        path = args.get("path")
        if not isinstance(path, str):
            raise ToolFailure("argument 'path' must be a string")
        return await asyncio.to_thread(self._read, name, path)

    def _read(self, name: str, path: str) -> ToolOutput:
        skill = _usable(self.catalog, name)
        strict = skill.source != "bundled"
        return ToolOutput(read_text(skill.path, path, self.max_bytes, strict=strict))


def skill_tools(catalog: SkillCatalog, max_read_bytes: int) -> list[Tool]:
    """load_skill and read_skill_file over ``catalog``."""
    return [LoadSkill(catalog), ReadSkillFile(catalog, max_read_bytes)]
