"""Cross-field checks of a built config; each raises ConfigError naming the key."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pulsed.config.extensions import validate_mcp
from pulsed.config.http import validate_api
from pulsed.config.ingest import validate_ingest
from pulsed.config.memory import validate_memory
from pulsed.config.sections import (
    CHANNEL_TOKENS,
    POLICIES,
    PROVIDERS,
    ChannelConfig,
    ChannelsConfig,
    SchedulerConfig,
    TimeplusConfig,
)
from pulsed.config.tools import validate_tools
from pulsed.errors import ConfigError

if TYPE_CHECKING:
    from pulsed.config import Config


def validate(cfg: Config) -> None:
    """Raises ConfigError naming the first key whose value is bad or inconsistent."""
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
    for key in ("daily_usd", "monthly_usd", "session_usd"):
        value = getattr(cfg.budget, key)
        if not value >= 0 or value == float("inf"):
            raise ConfigError(f"budget.{key}: must be 0 (no limit) or a positive amount")
    _validate_scheduler(cfg.scheduler)
    validate_tools(cfg.tools)
    validate_memory(cfg.memory)
    validate_mcp(cfg.mcp)
    validate_ingest(cfg.ingest)
    validate_api(cfg.api)
    if not 0 < cfg.agent.compact_at < 1:
        raise ConfigError("agent.compact_at: must be between 0 and 1 (a share of the window)")
    if cfg.agent.context_window < 0:
        raise ConfigError("agent.context_window: must be 0 (the model's own) or a token count")
    _validate_channels(cfg.channels)
    if cfg.server.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            f'server.log_level: "{cfg.server.log_level}" is not one of debug, info, warning, error'
        )


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
