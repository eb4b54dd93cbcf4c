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
    """[store.timeplus]: where the Timeplus backend connects and how it keeps rows."""

    host: str = "localhost"
    """Timeplus server (Proton or Enterprise) host name or address."""
    batch_port: int = 8123
    """HTTP port for inserts and historical queries."""
    stream_port: int = 3218
    """HTTP port for streaming (unbounded) queries."""
    user: str = "default"
    """User; ``default`` may only use database ``default`` (README: Timeplus, grants)."""
    password: str = ""
    """The user's password (``${VAR}`` expands from the environment)."""
    database: str = "default"
    """Database holding Pulse's streams (a plain name: letters, digits and _)."""
    stream_prefix: str = ""
    """Prepended to every stream name (e.g. "pulse_" makes pulse_messages); letters,
    digits and _."""
    secure: bool = False
    """HTTPS to both ports."""
    verify: bool = True
    """With secure: verify the server's TLS certificate."""
    logstore_retention_ms: int = 86_400_000
    """How long the streaming log keeps rows (Timeplus' logstore_retention_ms), ms; tails
    resuming from further back read the historical store instead."""
    ttl_days: int = 0
    """How long the historical store keeps rows (a TTL on the event time), days; 0 keeps
    them forever."""
    connect_timeout_s: float = 5.0
    """Seconds to wait for a connection to Timeplus."""
    query_timeout_s: float = 30.0
    """Seconds a historical query or insert may take (streaming reads have no limit)."""
    spool_max_rows: int = 100_000
    """Rows kept in the local spool while Timeplus is unreachable; beyond it appends are
    refused (UNAVAILABLE) until Timeplus is back."""


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
    monthly_usd: float = 0.0
    """Most estimated spend per local calendar month; 0 (the default) disables it."""


@dataclass
class SchedulerConfig:
    """[scheduler]: how the daemon runs scheduled tasks (pulsed.scheduling.runner)."""

    enabled: bool = True
    """Run tasks on their schedules; false: only ``pulsectl tasks run`` starts them."""
    run_timeout_s: float = 600.0
    """Longest a run may take unless the task sets its own; then it is stopped and ends
    as an error row with code timeout."""
    catch_up: bool = True
    """Default for tasks that do not say: a task whose time passed while the daemon was
    down runs once at start-up (not once per missed slot)."""
    max_failures_before_backoff: int = 3
    """Consecutive failed runs after which a task is backed off (and a task_failing
    event written)."""
    backoff_initial_s: float = 300.0
    """First back-off pause; it doubles with each further failure."""
    backoff_max_s: float = 21600.0
    """Longest back-off pause."""
    light_max_tokens: int = 512
    """Most output tokens of a light (heartbeat) run's LLM calls."""
    agent_max_tasks: int = 20
    """How many pending tasks the agent's schedule_reminder tool may have at once."""
    agent_min_interval_s: float = 3600.0
    """Shortest time between runs of a recurring task the agent creates."""
    cost_alert_hourly_usd: float = 1.0
    """The cost-alert preset alerts when the last hour's spend is above this; 0: never."""
    cost_alert_daily_usd: float = 4.0
    """The cost-alert preset alerts (once a day) when the day's spend is above this;
    0: never."""


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
    socket_check_s: float = 2.0
    """How often the daemon checks that its socket file still exists (re-creating a
    deleted one), seconds; 0 turns the check off."""


@dataclass
class ChannelConfig:
    """What every chat channel ([channels.telegram], [channels.slack]) shares."""

    enabled: bool = False
    """Start the channel with the daemon."""
    api_base_url: str = ""
    """The platform's API endpoint; empty: the platform's public one."""
    allow_from: list[str] = field(default_factory=list)
    """Platform user ids allowed to talk to the agent (numbers or strings). Empty admits
    nobody: deny by default."""
    pairing: bool = False
    """An unknown user gets a code; ``pulsectl channels approve CODE`` admits them."""
    refusal_interval_s: float = 600.0
    """A stranger gets at most one refusal (and one channel_refused event) per interval."""
    retry_attempts: int = 8
    """Sends of one reply before it is given up as failed (network errors, 429, 5xx)."""
    retry_initial_s: float = 1.0
    """First pause between send attempts; it doubles after each failure."""
    retry_max_s: float = 60.0
    """Longest pause between send attempts."""
    stall_s: float = 90.0
    """The watchdog restarts the receiving side when it has shown no sign of life for
    this long (a stalled long poll, a dead socket)."""
    deliver_max_age_s: float = 86400.0
    """Replies older than this when the outbox reaches them (e.g. after a long outage)
    are not sent; they are recorded as failed deliveries instead."""


@dataclass
class TelegramConfig(ChannelConfig):
    """[channels.telegram]: the agent as a Telegram bot, by long polling."""

    token: str = ""
    """Bot token from @BotFather; empty: $TELEGRAM_BOT_TOKEN."""
    api_base_url: str = "https://api.telegram.org/bot"
    """Bot API base URL in python-telegram-bot's sense: the token is appended (a
    ``{token}`` placeholder puts it elsewhere). Self-hosted Bot API servers change it."""
    poll_timeout_s: int = 30
    """Long-poll timeout of getUpdates, seconds."""


@dataclass
class SlackConfig(ChannelConfig):
    """[channels.slack]: the agent as a Slack app, by Socket Mode."""

    bot_token: str = ""
    """Bot token (xoxb-...); empty: $SLACK_BOT_TOKEN."""
    app_token: str = ""
    """App-level token with connections:write (xapp-...); empty: $SLACK_APP_TOKEN."""
    api_base_url: str = "https://slack.com/api/"
    """Slack Web API base URL (apps.connections.open, chat.postMessage, ...)."""
    ping_interval_s: float = 10.0
    """Socket Mode ping interval; the connection counts as dead after 4 missed pongs."""
    reply_in_thread: bool = True
    """Answer a message in a channel in its thread (direct messages are answered inline)."""
    typing_reaction: str = "hourglass_flowing_sand"
    """Reaction put on a message while its turn runs (Slack has no typing indicator for
    apps); empty: none."""


@dataclass
class ChannelsConfig:
    """[channels]: where the agent answers besides its own clients."""

    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)


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
    _validate_timeplus(cfg.store.timeplus)
    for tool, pol in cfg.tools.policy.items():
        if pol not in POLICIES:
            raise ConfigError(f'tools.policy.{tool}: "{pol}" is not one of allow, ask, deny')
    for key in ("daily_usd", "monthly_usd"):
        value = getattr(cfg.budget, key)
        if not value >= 0 or value == float("inf"):
            raise ConfigError(f"budget.{key}: must be 0 (no limit) or a positive amount")
    _validate_scheduler(cfg.scheduler)
    _validate_channels(cfg.channels)
    if cfg.server.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f'server.log_level: "{cfg.server.log_level}" is not one of debug, info, warning, error'
        )


CHANNEL_TOKENS = {
    "telegram": (("token", "TELEGRAM_BOT_TOKEN"),),
    "slack": (("bot_token", "SLACK_BOT_TOKEN"), ("app_token", "SLACK_APP_TOKEN")),
}
"""Per channel: (config key, environment variable used when the key is empty)."""


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
                        f"string), got {_describe(v)}"
                    )
            table["allow_from"] = [str(v).strip() for v in ids]


def _channel_tokens(cfg: Config, env: typing.Mapping[str, str]) -> None:
    """Fill empty channel tokens from their environment variables."""
    for name, keys in CHANNEL_TOKENS.items():
        ch = getattr(cfg.channels, name)
        for key, var in keys:
            if not getattr(ch, key):
                setattr(ch, key, env.get(var, ""))


def _validate_channels(channels: ChannelsConfig) -> None:
    for name, keys in CHANNEL_TOKENS.items():
        ch: ChannelConfig = getattr(channels, name)
        prefix = f"channels.{name}"
        if ch.enabled:
            for key, var in keys:
                if not getattr(ch, key):
                    raise ConfigError(
                        f"{prefix}.{key}: the channel is enabled but has no token; set {key} "
                        f"in [channels.{name}] or export {var} (or set enabled = false)"
                    )
        if not ch.api_base_url.startswith(("http://", "https://")):
            raise ConfigError(f'{prefix}.api_base_url: "{ch.api_base_url}" is not an http(s) URL')
        if any(not uid for uid in ch.allow_from):
            raise ConfigError(f"{prefix}.allow_from: an entry is empty")
        if ch.retry_attempts < 1:
            raise ConfigError(f"{prefix}.retry_attempts: must be at least 1")
        for key in ("retry_initial_s", "retry_max_s", "stall_s", "refusal_interval_s"):
            if getattr(ch, key) <= 0:
                raise ConfigError(f"{prefix}.{key}: must be above 0")
    if channels.telegram.poll_timeout_s < 0:
        raise ConfigError("channels.telegram.poll_timeout_s: must be 0 or more")
    if channels.slack.ping_interval_s <= 0:
        raise ConfigError("channels.slack.ping_interval_s: must be above 0")


def _validate_scheduler(s: SchedulerConfig) -> None:
    for key in ("run_timeout_s", "backoff_initial_s", "backoff_max_s"):
        if getattr(s, key) <= 0:
            raise ConfigError(f"scheduler.{key}: must be above 0")
    for key in ("max_failures_before_backoff", "light_max_tokens"):
        if getattr(s, key) < 1:
            raise ConfigError(f"scheduler.{key}: must be at least 1")
    if s.agent_max_tasks < 0:
        raise ConfigError("scheduler.agent_max_tasks: must be 0 (no agent tasks) or more")
    if s.agent_min_interval_s < 10:
        raise ConfigError("scheduler.agent_min_interval_s: must be at least 10 (seconds)")
    for key in ("cost_alert_hourly_usd", "cost_alert_daily_usd"):
        if getattr(s, key) < 0:
            raise ConfigError(f"scheduler.{key}: must be 0 (never) or more")


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _validate_timeplus(tp: TimeplusConfig) -> None:
    key = "store.timeplus"
    for name in ("batch_port", "stream_port"):
        port = getattr(tp, name)
        if not 1 <= port <= 65535:
            raise ConfigError(f"{key}.{name}: {port} is not a TCP port (1-65535)")
    if not tp.host:
        raise ConfigError(f"{key}.host: must not be empty")
    if not _PLAIN_NAME.fullmatch(tp.database):
        raise ConfigError(
            f'{key}.database: "{tp.database}" is not a plain name (letters, digits, _)'
        )
    if not re.fullmatch(r"[A-Za-z0-9_]*", tp.stream_prefix):
        raise ConfigError(
            f'{key}.stream_prefix: "{tp.stream_prefix}" may hold only letters, digits, _'
        )
    if not 60_000 <= tp.logstore_retention_ms <= 10 * 365 * 86_400_000:
        raise ConfigError(
            f"{key}.logstore_retention_ms: must be between 60000 (1 min) and 10 years"
        )
    if not 0 <= tp.ttl_days <= 100_000:
        raise ConfigError(f"{key}.ttl_days: must be 0 (keep forever) or a number of days")
    if tp.connect_timeout_s <= 0 or tp.query_timeout_s <= 0:
        raise ConfigError(f"{key}: connect_timeout_s and query_timeout_s must be above 0")
    if tp.spool_max_rows < 1:
        raise ConfigError(f"{key}.spool_max_rows: must be at least 1")


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
        _normalize_ids(raw)
        cfg: Config = _build(Config, raw, "")
    except ConfigError as e:
        where = f"{source}: " if source else ""
        raise ConfigError(where + e.message) from None
    cfg.source = source
    _channel_tokens(cfg, env)
    _validate(cfg)
    return cfg
