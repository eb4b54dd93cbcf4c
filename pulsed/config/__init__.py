"""The daemon's typed configuration: TOML file, then environment, then command-line flags.

Every key is optional. Strings may hold ``${VAR}``, expanded from the environment (an
unset variable expands to the empty string). Environment overrides use
``PULSE_<SECTION>__<KEY>`` with a double underscore between levels, e.g.
``PULSE_AGENT__MODEL=gpt-4o`` or ``PULSE_BUDGET__DAILY_USD=2``. A bad value raises
``ConfigError`` naming the key, e.g. ``agent.max_iterations: expected an integer, got "ten"``.
"""

from __future__ import annotations

import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse import paths

from pulsed.config.checks import validate
from pulsed.config.convert import build, describe, env_overrides, expand, merge
from pulsed.config.extensions import McpConfig, McpServerConfig, SkillsConfig
from pulsed.config.http import ApiConfig, HttpApiConfig
from pulsed.config.ingest import FeedConfig, IngestConfig, WebhookRoute, WebhooksConfig
from pulsed.config.memory import MemoryConfig
from pulsed.config.sections import (
    CHANNEL_TOKENS,
    POLICIES,
    PROVIDERS,
    AgentConfig,
    BudgetConfig,
    ChannelConfig,
    ChannelsConfig,
    ProviderConfig,
    SchedulerConfig,
    ServerConfig,
    SlackConfig,
    StoreConfig,
    TelegramConfig,
    TimeplusConfig,
)
from pulsed.config.tools import ShellConfig, ToolsConfig, WebConfig
from pulsed.errors import ConfigError

__all__ = [
    "POLICIES",
    "PROVIDERS",
    "AgentConfig",
    "ApiConfig",
    "FeedConfig",
    "HttpApiConfig",
    "IngestConfig",
    "McpConfig",
    "McpServerConfig",
    "MemoryConfig",
    "ShellConfig",
    "SkillsConfig",
    "WebConfig",
    "WebhookRoute",
    "WebhooksConfig",
    "BudgetConfig",
    "ChannelConfig",
    "ChannelsConfig",
    "Config",
    "ConfigError",
    "ProviderConfig",
    "SchedulerConfig",
    "ServerConfig",
    "SlackConfig",
    "StoreConfig",
    "TelegramConfig",
    "TimeplusConfig",
    "ToolsConfig",
    "load",
]


@dataclass
class Config:
    """The whole configuration. ``source`` is the file it came from, if any."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    store: StoreConfig = field(default_factory=StoreConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    channels: ChannelsConfig = field(default_factory=ChannelsConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    skills: SkillsConfig = field(default_factory=SkillsConfig)
    mcp: McpConfig = field(default_factory=McpConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    source: str = ""

    @property
    def socket_path(self) -> Path:
        """The daemon's socket ($PULSE_SOCKET, [server] socket, or the runtime dir).

        Raises:
            ConfigError: none is set and the runtime dir is not usable.
        """
        try:
            return paths.socket_path(self.server.socket)
        except paths.PathError as err:
            raise ConfigError(str(err)) from None

    @property
    def data_path(self) -> Path:
        return paths.data_dir(self.server.data_dir)

    @property
    def config_dir(self) -> Path:
        """The directory of the config file in use (SOUL.md, USER.md and skills/ live
        there); without a file, the platformdirs config dir."""
        return Path(self.source).parent if self.source else paths.config_path().parent

    @property
    def workspace_path(self) -> Path:
        return Path(self.tools.workspace).expanduser()

    def provider(self, name: str) -> ProviderConfig:
        """The [providers.<name>] table, or defaults when absent."""
        return self.providers.get(name, ProviderConfig())


def _normalize_ids(raw: dict[str, Any]) -> None:
    """``allow_from`` entries as strings: Telegram ids are numbers in TOML, Slack's text."""
    channels = raw.get("channels")
    if not isinstance(channels, dict):
        return
    for name, table in channels.items():
        if isinstance(table, dict) and isinstance(table.get("allow_from"), list):
            ids = table["allow_from"]
            for i, v in enumerate(ids):
                if isinstance(v, bool) or not isinstance(v, int | str):
                    raise ConfigError(
                        f"channels.{name}.allow_from[{i}]: expected a user id (number or "
                        f"string), got {describe(v)}"
                    )
            table["allow_from"] = [str(v).strip() for v in ids]


def _channel_tokens(cfg: Config, env: typing.Mapping[str, str]) -> None:
    """Fill empty channel tokens from their environment variables."""
    for name, keys in CHANNEL_TOKENS.items():
        ch = getattr(cfg.channels, name)
        for key, var in keys:
            if not getattr(ch, key):
                setattr(ch, key, env.get(var, ""))


def load(path: Path | None = None, env: typing.Mapping[str, str] | None = None) -> Config:
    """Load the config from ``path`` (default: ``paths.config_path()``) and the environment.

    A missing file is not an error: every key has a default.

    Raises:
        ConfigError: the file is not valid TOML, or a key is unknown or has a bad value.
    """
    env = os.environ if env is None else env
    path = path or paths.config_path()
    raw: dict[str, Any] = {}
    source = ""
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
        source = str(path)
    raw = merge(expand(raw, env), env_overrides(env))
    try:
        _normalize_ids(raw)
        cfg: Config = build(Config, raw, "")
    except ConfigError as e:
        where = f"{source}: " if source else ""
        raise ConfigError(where + e.message) from None
    cfg.source = source
    _channel_tokens(cfg, env)
    if not cfg.api.http.token:
        cfg.api.http.token = env.get("PULSE_API_TOKEN", "")
    validate(cfg)
    return cfg
