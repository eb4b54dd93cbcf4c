"""The built-in tool set, built from the config."""

from __future__ import annotations

from pulsed.config import Config
from pulsed.tools.base import ToolRegistry
from pulsed.tools.clock import CurrentTime
from pulsed.tools.files import ListDir, ReadFile, Workspace, WriteFile


def builtin_tools(cfg: Config) -> ToolRegistry:
    """read_file, write_file, list_dir (confined to [tools] workspace) and current_time."""
    ws = Workspace(cfg.workspace_path)
    return ToolRegistry(
        [ReadFile(ws, cfg.tools.max_read_bytes), WriteFile(ws), ListDir(ws), CurrentTime()],
        cfg.tools.policy,
    )
