"""The config sections of the agent, providers, store, budget, scheduler, server and
channels (one dataclass per TOML table; each field's docstring is its documentation)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    context_window: int = 0
    """The model's context window in tokens; 0: from the table of known models."""
    compact_at: float = 0.75
    """Share of the context window past which older history is summarised (compaction)."""


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
class BudgetConfig:
    """[budget]: spending limits, checked before every LLM call."""

    daily_usd: float = 5.0
    """Most estimated spend per local calendar day; 0 disables the check."""
    monthly_usd: float = 0.0
    """Most estimated spend per local calendar month; 0 (the default) disables it."""
    session_usd: float = 0.0
    """Most estimated spend of one session; 0 (the default) disables it."""


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
    approvals: bool = True
    """Ask for the approval of an "ask" tool (``[tools.policy]``) in the chat, with
    buttons (Allow once · Allow for this session · Deny) that only an allowed user's
    press answers; no answer within ``[tools] approval_timeout_s`` = denied. False: such
    tools are denied at once in this channel's turns."""


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


CHANNEL_TOKENS = {
    "telegram": (("token", "TELEGRAM_BOT_TOKEN"),),
    "slack": (("bot_token", "SLACK_BOT_TOKEN"), ("app_token", "SLACK_APP_TOKEN")),
}
"""Per channel: (config key, environment variable used when the key is empty)."""
