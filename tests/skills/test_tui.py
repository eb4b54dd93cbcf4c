"""The console lists the skills: ctrl+p → Skills opens a modal fed by Skills.List of the
real daemon."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from pulsetui.app import PulseApp
from pulsetui.dialogs.skills import SkillsDialog
from tests.harness import Daemon
from tests.skills.util import write_skill
from tests.tui.conftest import type_text, until


async def test_palette_opens_the_skills_modal(daemon: Daemon) -> None:
    write_skill(daemon.workspace / "skills", "aaa-notes", "Keep notes tidy.")
    bad = daemon.workspace / "skills" / "aab-broken"
    bad.mkdir()
    (bad / "SKILL.md").write_text("no front matter")
    app = PulseApp(daemon.socket, autostart=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.connection.state == "connected", what="connection")
        await pilot.press("ctrl+p")
        await type_text(pilot, "Skills")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SkillsDialog), what="skills modal")
        dialog = app.screen
        assert isinstance(dialog, SkillsDialog)
        await until(pilot, lambda: dialog.skills, what="skills loaded")
        table = dialog.query_one(DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names[:2] == ["aaa-notes", "aab-broken"] and "git-github" in names
        assert "no front matter" in str(table.get_row_at(1)[3])
        detail = dialog.query_one("#skill-detail", Static)
        assert "aaa-notes · available" in str(detail.render())
        await pilot.press("down")
        await until(pilot, lambda: "aab-broken · invalid" in str(detail.render()), what="detail")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SkillsDialog), what="closed")
