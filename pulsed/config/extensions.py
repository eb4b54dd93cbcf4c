"""[skills] and [mcp.servers.NAME]: what extends the agent's tools."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pulsed.config.sections import POLICIES
from pulsed.errors import ConfigError


@dataclass
class SkillsConfig:
    """[skills]: SKILL.md skills (bundled, the config dir's skills/, the workspace's)."""

    enabled: bool = True
    """List available skills in the prompt and offer load_skill / read_skill_file."""
    disabled: list[str] = field(default_factory=list)
    """Skill names left out wherever they are found."""


@dataclass
class McpServerConfig:
    """[mcp.servers.NAME]: one MCP server, over stdio (command) or streamable HTTP (url)."""

    command: str = ""
    """Program of a stdio server."""
    args: list[str] = field(default_factory=list)
    """Its arguments."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment of a stdio server besides PATH and HOME (values may use ${VAR})."""
    url: str = ""
    """Endpoint of a streamable HTTP server."""
    headers: dict[str, str] = field(default_factory=dict)
    """HTTP headers sent to it (values may use ${VAR})."""
    enabled: bool = True
    """Start the server with the daemon."""
    timeout_s: float = 30.0
    """Longest one tool call may take, seconds; then it is cancelled as a timeout."""
    connect_timeout_s: float = 15.0
    """Longest connecting and listing tools may take, seconds."""
    include: list[str] = field(default_factory=lambda: ["*"])
    """Tool-name globs offered to the agent."""
    exclude: list[str] = field(default_factory=list)
    """Tool-name globs withheld (after include)."""
    policy: str = "allow"
    """allow | ask | deny for this server's tools ([tools.policy] per tool wins)."""
    max_output_bytes: int = 65536
    """Longest result (UTF-8 bytes) handed to the model; the rest is cut."""


@dataclass
class McpConfig:
    """[mcp]: MCP servers whose tools the agent may call."""

    servers: dict[str, McpServerConfig] = field(default_factory=dict)


_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")


def validate_mcp(mcp: McpConfig) -> None:
    """Raises ConfigError for a bad [mcp.servers.*] table."""
    for name, srv in mcp.servers.items():
        key = f"mcp.servers.{name}"
        if not _SERVER_NAME.fullmatch(name) or "__" in name:
            raise ConfigError(f"{key}: a server name is 1-32 letters, digits, _ or -, without '__'")
        if bool(srv.command) == bool(srv.url):
            raise ConfigError(f"{key}: set either command (stdio) or url (streamable HTTP)")
        if srv.url and not srv.url.startswith(("http://", "https://")):
            raise ConfigError(f'{key}.url: "{srv.url}" is not an http(s) URL')
        if srv.policy not in POLICIES:
            raise ConfigError(f'{key}.policy: "{srv.policy}" is not one of allow, ask, deny')
        if srv.timeout_s <= 0 or srv.connect_timeout_s <= 0:
            raise ConfigError(f"{key}: timeout_s and connect_timeout_s must be above 0")
        if srv.max_output_bytes < 256:
            raise ConfigError(f"{key}.max_output_bytes: {srv.max_output_bytes} is below 256")
