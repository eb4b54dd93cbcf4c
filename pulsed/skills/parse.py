"""SKILL.md: YAML front matter between ``---`` lines, then a Markdown body.

Front matter (the AgentSkills specification, agentskills.io/specification):
``name`` (1-64 lower-case letters, digits and hyphens, not starting or ending with a
hyphen, no ``--``, equal to the folder's name), ``description`` (1-1,024 characters),
optional ``license``, ``compatibility`` (at most 500 characters), ``allowed-tools``
(space-separated, or a list) and ``metadata`` (a map; nested maps as OpenClaw and nanobot
write them are kept). Keys other agents add (``version``, ``user-invocable``, ...) are
ignored with a warning, so their skills load as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from pulsed.skills.requirements import Requirements, RequirementsError, parse_requirements

SKILL_FILE = "SKILL.md"
MAX_SKILL_BYTES = 256 * 1024
"""Largest SKILL.md read; a bigger one is invalid (a skill's body goes to the model)."""
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500

NAME_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
KNOWN_KEYS = frozenset(
    {"name", "description", "license", "compatibility", "allowed-tools", "metadata"}
)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (several times faster)."""
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)


class SkillInvalid(ValueError):
    """A SKILL.md that cannot be used; the message says why (``name: ...``)."""


@dataclass(frozen=True, slots=True)
class SkillDoc:
    """One parsed SKILL.md.

    Attributes:
        name, description, license, compatibility: the front matter's values.
        allowed_tools: tool names the skill expects (informational; policies decide).
        metadata: the ``metadata`` map as written (a JSON-string form parsed).
        requires: what it needs from the machine (``pulsed.skills.requirements``).
        body: the Markdown after the front matter, stripped.
        warnings: keys ignored and similar notes.
    """

    name: str
    description: str
    body: str
    license: str = ""
    compatibility: str = ""
    allowed_tools: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    requires: Requirements = field(default_factory=Requirements)
    warnings: tuple[str, ...] = ()


def check_name(name: str) -> str | None:
    """Why ``name`` is not a valid skill name, or None when it is."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; at most {MAX_NAME}"
    if not NAME_RE.fullmatch(name):
        return (
            f"{name!r} must be lower-case letters, digits and single hyphens, not starting or "
            "ending with a hyphen"
        )
    return None


def parse_skill(text: str, folder: str) -> SkillDoc:
    """The skill in ``text`` (a SKILL.md's content) of the folder named ``folder``.

    Raises:
        SkillInvalid: no front matter, YAML that does not parse, or a field that breaks
            the rules above (the message names the field).
    """
    m = _FRONT.match(text.lstrip("\ufeff"))
    if not m:
        raise SkillInvalid("no front matter: SKILL.md must start with a '---' line, YAML, '---'")
    try:
        front = yaml.load(m.group(1), Loader=_LOADER)  # a safe loader (libyaml's if built)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" (line {where.line + 2})" if where is not None else ""
        raise SkillInvalid(f"front matter is not valid YAML{at}: {_first_line(e)}") from None
    if not isinstance(front, dict):
        raise SkillInvalid("front matter must be a YAML map of fields")
    name = _string(front, "name", required=True)
    why = check_name(name)
    if why:
        raise SkillInvalid(f"name {why}")
    if name != folder:
        raise SkillInvalid(f"name {name!r} differs from its folder's name {folder!r}")
    description = _string(front, "description", required=True).strip()
    if not description:
        raise SkillInvalid("description is empty")
    if len(description) > MAX_DESCRIPTION:
        raise SkillInvalid(
            f"description is {len(description)} characters long; at most {MAX_DESCRIPTION}"
        )
    compatibility = _string(front, "compatibility")
    if len(compatibility) > MAX_COMPATIBILITY:
        raise SkillInvalid(
            f"compatibility is {len(compatibility)} characters long; at most {MAX_COMPATIBILITY}"
        )
    metadata = _metadata(front.get("metadata"))
    try:
        requires = parse_requirements(metadata)
    except RequirementsError as e:
        raise SkillInvalid(str(e)) from None
    unknown = sorted(str(k) for k in front if k not in KNOWN_KEYS)
    warnings = (f"ignored front matter keys: {', '.join(unknown)}",) if unknown else ()
    return SkillDoc(
        name=name,
        description=description,
        body=text[m.end() :].strip(),
        license=_string(front, "license"),
        compatibility=compatibility,
        allowed_tools=_tools(front.get("allowed-tools")),
        metadata=metadata,
        requires=requires,
        warnings=warnings,
    )


def _first_line(e: Exception) -> str:
    problem = getattr(e, "problem", None)
    return str(problem) if problem else str(e).splitlines()[0]


def _string(front: dict[Any, Any], key: str, *, required: bool = False) -> str:
    value = front.get(key)
    if value is None:
        if required:
            raise SkillInvalid(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise SkillInvalid(
            f"{key} must be a string, got {type(value).__name__} {value!r} "
            f'(YAML reads yes/no/on/off and numbers so; quote it: {key}: "...")'
        )
    return value


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise SkillInvalid("metadata must be a map (or a JSON object)") from None
    if not isinstance(value, dict):
        raise SkillInvalid(f"metadata must be a map, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _tools(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(t for t in re.split(r"[\s,]+", value) if t)
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return tuple(value)
    raise SkillInvalid("allowed-tools must be a space-separated string or a list of strings")
