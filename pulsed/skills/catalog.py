"""Finding skills: the bundled ones, the person's and the workspace's, and which apply.

A skills root holds one folder per skill, each with its ``SKILL.md``. Roots, from the
lowest precedence to the highest: bundled (the repository's ``skills/``, shipped with
the package), the person's (``skills/`` in the config dir), the workspace's
(``skills/`` in ``[tools] workspace``). A skill of a higher root replaces the one of the
same name below it. ``[skills] disabled`` leaves names out wherever they are.

``SkillCatalog.current()`` rescans only when something changed: it compares the
mtimes (and sizes) of the roots, the skill folders and their SKILL.md files, a few
``stat`` calls per skill; requirements are checked again when PATH, a folder of PATH
(installing a program changes its mtime) or a variable they name changes, so a binary
installed meanwhile counts at the next turn. A SKILL.md that does not parse makes
its skill ``invalid`` with the reason; nothing here raises for a bad skill.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pulsed.config import Config
from pulsed.skills.parse import MAX_SKILL_BYTES, SKILL_FILE, SkillDoc, SkillInvalid, parse_skill

log = logging.getLogger("pulsed.skills")

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
"""The bundled skills: a symlink to the repository's ``skills/`` in a source tree or an
editable install, a folder of copies in an installed wheel."""

Source = Literal["bundled", "person", "workspace"]
State = Literal["available", "unavailable", "invalid", "disabled"]


@dataclass(frozen=True, slots=True)
class Root:
    """A folder of skills and its place in the precedence (later roots win)."""

    source: Source
    path: Path


@dataclass(frozen=True, slots=True)
class Skill:
    """One skill as found.

    Attributes:
        name: the folder's name (the skill's name when valid).
        source, path: the root it came from and its folder (absolute).
        state: available (in the prompt), unavailable (requirements not met: ``missing``
            says why), invalid (``error`` says why), disabled (``[skills] disabled``).
        doc: the parsed SKILL.md (None when invalid).
        overrides: folders of same-named skills of lower roots that this one replaces.
    """

    name: str
    source: Source
    path: Path
    state: State
    doc: SkillDoc | None = None
    missing: tuple[str, ...] = ()
    error: str = ""
    overrides: tuple[Path, ...] = ()

    @property
    def description(self) -> str:
        """The front matter's description ("" when invalid)."""
        return self.doc.description if self.doc else ""

    @property
    def has_scripts(self) -> bool:
        """Whether the folder has a ``scripts/`` folder (looked at now)."""
        return (self.path / "scripts").is_dir()


@dataclass(frozen=True, slots=True)
class SkillSet:
    """The skills of one scan, by name (each name once: the winning root's)."""

    skills: tuple[Skill, ...] = ()
    roots: tuple[Root, ...] = ()
    by_name: Mapping[str, Skill] = field(default_factory=dict)

    @property
    def available(self) -> list[Skill]:
        """The skills in the prompt, sorted by name."""
        return [s for s in self.skills if s.state == "available"]

    def get(self, name: str) -> Skill | None:
        """The skill named ``name`` in any state, or None."""
        return self.by_name.get(name)


def default_roots(cfg: Config) -> list[Root]:
    """bundled, the config dir's ``skills/``, the workspace's ``skills/`` (lowest first);
    a folder that is also a later root is left to the later one (a workspace inside the
    config dir, say)."""
    roots = [
        Root("bundled", BUNDLED_DIR.resolve()),
        Root("person", cfg.config_dir / "skills"),
        Root("workspace", cfg.workspace_path / "skills"),
    ]
    later = [r.path.resolve() for r in roots]
    return [r for i, r in enumerate(roots) if r.path.resolve() not in later[i + 1 :]]


class SkillCatalog:
    """The skills of a set of roots, rescanned when their files change.

    Args:
        roots: lowest precedence first (``default_roots``).
        disabled: names left out.
        environ: where PATH and the variables of requirements come from (default
            ``os.environ``, read at each check).
    """

    def __init__(
        self,
        roots: Sequence[Root],
        disabled: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.roots = tuple(roots)
        self.disabled = frozenset(disabled)
        self.environ = environ
        self._lock = threading.Lock()
        self._stamp: tuple[object, ...] | None = None
        self._env_stamp: tuple[object, ...] | None = None
        self._parsed: SkillSet = SkillSet()
        self._current: SkillSet = SkillSet()
        self._loaded: dict[str, tuple[object, Skill]] = {}
        """Skills as last parsed, by folder, with the stat keys they were parsed at."""

    @classmethod
    def from_config(cls, cfg: Config) -> SkillCatalog:
        """The catalog of ``default_roots(cfg)`` with ``[skills] disabled``."""
        return cls(default_roots(cfg), cfg.skills.disabled)

    def current(self) -> SkillSet:
        """The skills now: rescanned if any SKILL.md, folder or root changed since the
        last call, requirements checked again if PATH, its folders or the variables they
        name changed. Safe from any thread."""
        with self._lock:
            stamp = self._fingerprint()
            if stamp != self._stamp:
                self._parsed = self._scan()
                self._stamp = stamp
                self._env_stamp = None
            environ = os.environ if self.environ is None else self.environ
            env_stamp = _environment_stamp(self._parsed, environ)
            if env_stamp != self._env_stamp:
                self._current = self._check(self._parsed, environ)
                self._env_stamp = env_stamp
            return self._current

    # -- scanning -------------------------------------------------------------------------

    def _fingerprint(self) -> tuple[object, ...]:
        """Stat keys of every root, skill folder and SKILL.md (plain strings and
        ``os.scandir``: this runs every turn)."""
        out: list[object] = []
        for root in self.roots:
            top = str(root.path)
            out.append(_stat_key(top, follow=True))
            try:
                with os.scandir(top) as it:
                    entries = sorted(
                        (e for e in it if not e.name.startswith(".")), key=lambda e: e.name
                    )
            except OSError:
                continue
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    skill_md = os.path.join(e.path, SKILL_FILE)
                    out.append((e.name, _stat_key(e.path), _stat_key(skill_md)))
        return tuple(out)

    def _scan(self) -> SkillSet:
        found: dict[str, Skill] = {}
        for root in self.roots:
            for folder in _folders(root.path):
                skill = self._load(root, folder)
                below = found.get(skill.name)
                if below is not None:
                    skill = replace(skill, overrides=(*below.overrides, below.path))
                found[skill.name] = skill
        for skill in found.values():
            if skill.state == "invalid":
                log.warning("skill %s (%s) is invalid: %s", skill.name, skill.path, skill.error)
        skills = tuple(sorted(found.values(), key=lambda s: s.name))
        folders = {str(s.path) for s in skills} | {str(p) for s in skills for p in s.overrides}
        self._loaded = {k: v for k, v in self._loaded.items() if k in folders}
        return SkillSet(skills, self.roots, {s.name: s for s in skills})

    def _load(self, root: Root, folder: Path) -> Skill:
        """The skill of ``folder``, parsed again only when it or its SKILL.md changed."""
        key = (root.source, _stat_key(folder), _stat_key(folder / SKILL_FILE))
        cached = self._loaded.get(str(folder))
        if cached is not None and cached[0] == key:
            return cached[1]
        name = folder.name
        try:
            doc = parse_skill(_read_skill_file(folder), name)
        except SkillInvalid as e:
            skill = Skill(name, root.source, folder, "invalid", error=str(e))
        else:
            state: State = "disabled" if name in self.disabled else "available"
            skill = Skill(name, root.source, folder, state, doc)
        self._loaded[str(folder)] = (key, skill)
        return skill

    def _check(self, parsed: SkillSet, environ: Mapping[str, str]) -> SkillSet:
        """``parsed`` with the requirements of each enabled valid skill checked now."""
        skills = []
        path = environ.get("PATH", "")
        found: dict[str, bool] = {}

        def on_path(program: str) -> bool:
            if program not in found:
                found[program] = shutil.which(program, path=path) is not None
            return found[program]

        for s in parsed.skills:
            if s.doc is not None and s.state != "disabled":
                missing = tuple(s.doc.requires.missing(environ, on_path=on_path))
                s = replace(s, state="unavailable" if missing else "available", missing=missing)
            skills.append(s)
        return SkillSet(tuple(skills), parsed.roots, {s.name: s for s in skills})


def _environment_stamp(parsed: SkillSet, environ: Mapping[str, str]) -> tuple[object, ...]:
    """What the requirements of ``parsed`` depend on: PATH and the mtime of each of its
    folders (installing a program changes its folder's), and the variables named."""
    path = environ.get("PATH", "")
    names = sorted({v for s in parsed.skills if s.doc for v in s.doc.requires.env})
    return (
        path,
        tuple(_stat_key(d, follow=True) for d in path.split(os.pathsep) if d),
        tuple(bool(environ.get(n)) for n in names),
    )


def _stat_key(path: str | Path, follow: bool = False) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path, follow_symlinks=follow)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _folders(root: Path) -> list[Path]:
    """The skill folders of ``root`` sorted by name: real directories (no symlinks), not
    hidden ones."""
    try:
        with os.scandir(root) as it:
            entries = [e for e in it if not e.name.startswith(".")]
    except OSError:
        return []
    return sorted(
        (Path(root) / e.name for e in entries if e.is_dir(follow_symlinks=False)),
        key=lambda p: p.name,
    )


def _read_skill_file(folder: Path) -> str:
    """The text of ``folder``'s SKILL.md.

    Raises:
        SkillInvalid: missing, a symlink, not a regular file, too big, not UTF-8.
    """
    path = folder / SKILL_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SkillInvalid(f"no {SKILL_FILE} in the folder") from None
    except OSError as e:
        if os.path.islink(path):
            raise SkillInvalid(f"{SKILL_FILE} is a symlink; symlinks are not followed") from None
        raise SkillInvalid(f"{SKILL_FILE}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise SkillInvalid(f"{SKILL_FILE} is not a regular file")
        data = f.read(MAX_SKILL_BYTES + 1)
    if len(data) > MAX_SKILL_BYTES:
        raise SkillInvalid(f"{SKILL_FILE} is over {MAX_SKILL_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SkillInvalid(f"{SKILL_FILE} is not UTF-8 (byte {e.start})") from None
