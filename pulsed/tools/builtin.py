"""The built-in tool set, built from the config."""

from __future__ import annotations

from collections.abc import Sequence

from pulsed.config import Config
from pulsed.tools.base import Tool, ToolRegistry
from pulsed.tools.clock import CurrentTime
from pulsed.tools.files import ListDir, ReadFile, Workspace, WriteFile
from pulsed.tools.ports import Reminders
from pulsed.tools.reminders import ReminderDeps, reminder_tools


def builtin_tools(
    cfg: Config, reminders: Reminders | None = None, extra: Sequence[Tool] = ()
) -> ToolRegistry:
    """read_file, write_file, list_dir (confined to [tools] workspace) and current_time;
    given the reminders (``pulsed.scheduling.reminders.BookReminders`` in the daemon),
    also schedule_reminder, list_reminders and cancel_reminder; then the ``extra`` tools
    of the layers above (skills, MCP)."""
    ws = Workspace(cfg.workspace_path)
    tools: list[Tool] = [
        ReadFile(ws, cfg.tools.max_read_bytes),
        WriteFile(ws),
        ListDir(ws),
        CurrentTime(),
    ]
    if reminders is not None:
        tools += reminder_tools(ReminderDeps(reminders, cfg.scheduler))
    tools += extra
    return ToolRegistry(tools, cfg.tools.policy)
