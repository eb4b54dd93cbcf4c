"""Helpers for the skills tests: write skills into temporary roots."""

from __future__ import annotations

from pathlib import Path


def write_skill(root: Path, name: str, description: str = "Does a thing.", **front: str) -> Path:
    """``root/name/SKILL.md`` with ``name``, ``description`` and the ``front`` lines given
    (keys with ``_`` written with ``-``; a value is put verbatim after ``key: ``)."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f"name: {name}", f"description: {description}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in front.items()]
    lines += ["---", "", f"# {name}", "", "Step one. Step two."]
    (folder / "SKILL.md").write_text("\n".join(lines) + "\n")
    return folder


def fake_bin(bindir: Path, *names: str) -> str:
    """Executables ``names`` in ``bindir``; returns ``bindir`` as a PATH value."""
    bindir.mkdir(parents=True, exist_ok=True)
    for n in names:
        p = bindir / n
        p.write_text("#!/bin/sh\nexit 0\n")
        p.chmod(0o755)
    return str(bindir)
