"""The built-in tool set, built from the config."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from pulsed.config import Config
from pulsed.errors import ConfigError
from pulsed.tools.base import Tool, ToolRegistry
from pulsed.tools.clock import CurrentTime
from pulsed.tools.files import ListDir, ReadFile, Workspace, WriteFile
from pulsed.tools.ports import Reminders
from pulsed.tools.reminders import ReminderDeps, reminder_tools
from pulsed.tools.search import search_tool
from pulsed.tools.shell import Sandbox, Shell
from pulsed.tools.web import WebFetch


def builtin_tools(
    cfg: Config, reminders: Reminders | None = None, extra: Sequence[Tool] = ()
) -> ToolRegistry:
    """read_file, write_file, list_dir (confined to [tools] workspace), current_time,
    shell (in the workspace, [tools.shell]), web_fetch and web_search ([tools.web]; no
    web_search when its search is none); given the reminders
    (``pulsed.scheduling.reminders.BookReminders`` in the daemon), also
    schedule_reminder, list_reminders and cancel_reminder; then the ``extra`` tools of
    the layers above (skills, memory, MCP)."""
    ws = Workspace(cfg.workspace_path)
    sh = cfg.tools.shell
    hidden = [cfg.data_path]
    with contextlib.suppress(ConfigError):
        hidden.append(cfg.socket_path.parent)
    masked = [Path(cfg.source)] if cfg.source else []
    tools: list[Tool] = [
        ReadFile(ws, cfg.tools.max_read_bytes),
        WriteFile(ws),
        ListDir(ws),
        CurrentTime(),
        Shell(ws.root, sh, Sandbox(sh.sandbox, sh.network, hidden, masked)),
        WebFetch(cfg.tools.web),
    ]
    search = search_tool(cfg.tools.web)
    if search is not None:
        tools.append(search)
    if reminders is not None:
        tools += reminder_tools(ReminderDeps(reminders, cfg.scheduler))
    tools += extra
    return ToolRegistry(tools, cfg.tools.policy)
