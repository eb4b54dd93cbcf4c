"""The daemon's typed configuration: TOML file, then environment, then command-line flags.

Every key is optional. Strings may hold ``${VAR}``, expanded from the environment (an
unset variable expands to the empty string). Environment overrides use
``PULSE_<SECTION>__<KEY>`` with a double underscore between levels, e.g.
``PULSE_AGENT__MODEL=gpt-4o`` or ``PULSE_BUDGET__DAILY_USD=2``. A bad value raises
``ConfigError`` naming the key, e.g. ``agent.max_iterations: expected an integer, got "ten"``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse import paths

from pulsed.errors import ConfigError

PROVIDERS = ("anthropic", "openai", "openrouter", "ollama", "openai-compatible")
POLICIES = ("allow", "ask", "deny")


@dataclass
class AgentConfig:
    """[agent]: who the agent is and how a turn runs."""

    name: str = "Pulse"
    """Name the agent uses for itself in its system prompt."""
    provider: str = "anthropic"
    """One of anthropic | openai | openrouter | ollama | openai-compatible."""
    model: str = ""
    """Model id; empty means the provider's default_model."""
    fallback: list[str] = field(default_factory=list)
    """Providers tried in order when the main one fails, as "provider:model"."""
    max_iterations: int = 10
    """Most LLM calls in one turn (each tool round is one)."""
    max_concurrent_turns: int = 4
    """Turns running at once across sessions; turns within a session run in order."""
    history_messages: int = 40
    """How many earlier user/agent messages of the session go into a turn's context."""
    max_tokens: int = 4096
    """Most output tokens per LLM call."""
    instructions: str = ""
    """Extra instructions appended to the system prompt."""
    recover_max_age_s: float = 3600.0
    """After a crash, unanswered inputs younger than this are answered again; older ones
    get a visible error instead."""
    max_message_chars: int = 100_000
    """Longest user message accepted; a longer one is refused with INVALID_ARGUMENT."""


@dataclass
class ProviderConfig:
    """[providers.<name>]: credentials and endpoint of one LLM provider."""

    api_key: str = ""
    """Empty: the SDK's own variable (ANTHROPIC_API_KEY, OPENAI_API_KEY, ...)."""
    base_url: str = ""
    """Empty: the SDK's own variable or default endpoint."""
    default_model: str = ""
    """Model used when [agent] model is empty."""
    timeout_s: float = 120.0
    """Per-request timeout, seconds."""
    max_retries: int = 3
    """Retries with exponential backoff on 429, 5xx, connection errors and timeouts."""


@dataclass
class TimeplusConfig:
    """[store.timeplus]: where the Timeplus backend connects."""

    host: str = "localhost"
    batch_port: int = 8123
    stream_port: int = 3218
    user: str = "default"
    password: str = ""
    database: str = "default"


@dataclass
class StoreConfig:
    """[store]: which backend holds the streams."""

    backend: str = "local"
    """local (embedded SQLite under the data dir) | timeplus."""
    timeplus: TimeplusConfig = field(default_factory=TimeplusConfig)


@dataclass
class ToolsConfig:
    """[tools]: what the agent's tools may touch."""

    workspace: str = "~/pulse-workspace"
    """Directory the file tools are confined to; created on start."""
    policy: dict[str, str] = field(default_factory=dict)
    """allow | ask | deny per tool name; unnamed tools use their own default."""
    approval_timeout_s: float = 120.0
    """How long an "ask" waits for the person; no answer means denied."""
    max_read_bytes: int = 256 * 1024
    """Largest file read_file returns whole; longer files are cut with a note."""
    tool_timeout_s: float = 60.0
    """Longest a tool call may run; then it is stopped and reported as timed out."""


@dataclass
class BudgetConfig:
    """[budget]: spending limits, checked before every LLM call."""

    daily_usd: float = 5.0
    """Most estimated spend per local calendar day; 0 disables the check."""


@dataclass
class ServerConfig:
    """[server]: how clients reach the daemon."""

    socket: str = ""
    """Unix socket path; $PULSE_SOCKET overrides it; empty: the platformdirs runtime dir."""
    data_dir: str = ""
    """Data directory; $PULSE_DATA_DIR overrides it; empty: the platformdirs data dir."""
    log_level: str = "info"
    """debug | info | warning | error."""
    shutdown_grace_s: float = 10.0
    """On SIGTERM, how long running turns may take to finish before they are cancelled."""


@dataclass
class Config:
    """The whole configuration. ``source`` is the file it came from, if any."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    store: StoreConfig = field(default_factory=StoreConfig)
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw channel tables; each channel validates its own."""
    source: str = ""

    @property
    def socket_path(self) -> Path:
        return paths.socket_path(self.server.socket)

    @property
    def data_path(self) -> Path:
        return paths.data_dir(self.server.data_dir)

    @property
    def workspace_path(self) -> Path:
        return Path(self.tools.workspace).expanduser()

    def provider(self, name: str) -> ProviderConfig:
        """The [providers.<name>] table, or defaults when absent."""
        return self.providers.get(name, ProviderConfig())


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, env: typing.Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _VAR.sub(lambda m: env.get(m.group(1), ""), value)
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    return value


def _describe(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _convert(tp: Any, value: Any, key: str) -> Any:
    """Check or convert ``value`` to the annotated type ``tp``; ``key`` names it in errors."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_describe(value)}")
        return _build(tp, value, key)
    if origin is dict:
        _, vtype = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table, got {_describe(value)}")
        return {k: _convert(vtype, v, f"{key}.{k}") for k, v in value.items()}
    if origin is list:
        (itype,) = typing.get_args(tp)
        if isinstance(value, str):  # from the environment: comma-separated
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_describe(value)}")
        return [_convert(itype, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"{key}: expected an integer, got {_describe(value)}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{key}: expected a number, got {_describe(value)}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{key}: expected a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_describe(value)}")
        return value
    raise TypeError(f"unsupported config type {tp!r} at {key}")  # a bug in this module


def _build(cls: Any, table: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
    kwargs: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}.{k}" if prefix else k
        if k not in names:
            close = difflib.get_close_matches(k, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(names)})"
            raise ConfigError(f"{key}: unknown key{hint}")
        kwargs[k] = _convert(hints[k], v, key)
    return cls(**kwargs)


def _env_overrides(env: typing.Mapping[str, str]) -> dict[str, Any]:
    """Nested table from PULSE_<SECTION>__<KEY>[__<KEY>...] variables."""
    out: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith("PULSE_") or "__" not in name:
            continue
        parts = [p.lower() for p in name[len("PULSE_") :].split("__")]
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k] = _merge(merged[k], v)
        else:
            merged[k] = v
    return merged


def _validate(cfg: Config) -> None:
    if cfg.agent.provider not in PROVIDERS:
        raise ConfigError(
            f'agent.provider: "{cfg.agent.provider}" is not one of {", ".join(PROVIDERS)}'
        )
    for i, fb in enumerate(cfg.agent.fallback):
        prov = fb.split(":", 1)[0]
        if prov not in PROVIDERS:
            raise ConfigError(
                f'agent.fallback[{i}]: "{fb}" should be provider:model with provider one of '
                f"{', '.join(PROVIDERS)}"
            )
    for name in cfg.providers:
        if name not in PROVIDERS:
            raise ConfigError(f"providers.{name}: unknown provider (known: {', '.join(PROVIDERS)})")
    if cfg.agent.max_iterations < 1:
        raise ConfigError("agent.max_iterations: must be at least 1")
    if cfg.agent.max_concurrent_turns < 1:
        raise ConfigError("agent.max_concurrent_turns: must be at least 1")
    if cfg.store.backend not in ("local", "timeplus"):
        raise ConfigError(f'store.backend: "{cfg.store.backend}" is not one of local, timeplus')
    for tool, pol in cfg.tools.policy.items():
        if pol not in POLICIES:
            raise ConfigError(f'tools.policy.{tool}: "{pol}" is not one of allow, ask, deny')
    if cfg.budget.daily_usd < 0:
        raise ConfigError("budget.daily_usd: must be 0 (no limit) or more")
    if cfg.server.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f'server.log_level: "{cfg.server.log_level}" is not one of debug, info, warning, error'
        )


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
    raw = _merge(_expand(raw, env), _env_overrides(env))
    try:
        cfg: Config = _build(Config, raw, "")
    except ConfigError as e:
        where = f"{source}: " if source else ""
        raise ConfigError(where + e.message) from None
    cfg.source = source
    _validate(cfg)
    return cfg
