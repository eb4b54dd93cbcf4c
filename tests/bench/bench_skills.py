"""Skills: what the per-turn check costs (rescan only on change, requirements each time),
and a full scan after an edit, with 50 skills in the workspace beside the bundled ones."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pulsed.skills.catalog import BUNDLED_DIR, Root, SkillCatalog
from tests.bench.common import Figure, median
from tests.skills.util import write_skill

SKILLS = 50


def _timed(fn: object, n: int) -> float:
    """The median of ``n`` runs of ``fn()``, milliseconds."""
    assert callable(fn)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return median(times)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "skills"
        for i in range(SKILLS):
            meta = '{"requires-bins": "sh git", "requires-env": "HOME"}'
            write_skill(ws, f"skill-{i:02d}", f"Skill number {i}.", metadata=meta)
        catalog = SkillCatalog([Root("bundled", BUNDLED_DIR.resolve()), Root("workspace", ws)])
        catalog.current()
        unchanged = _timed(catalog.current, 50)
        target = ws / "skill-00" / "SKILL.md"

        def edited() -> None:
            st = target.stat()
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
            catalog.current()

        rescan = _timed(edited, 20)
    n = SKILLS + 4
    return [
        Figure(f"skills: per-turn check, {n} skills unchanged", unchanged, "ms", 3.0),
        Figure(f"skills: rescan after an edit, {n} skills", rescan, "ms", 30.0),
    ]
