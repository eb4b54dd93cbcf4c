"""[tools] and its sub-tables [tools.shell] and [tools.web]: what the agent's tools may
touch."""

from __future__ import annotations

from dataclasses import dataclass, field

from pulsed.errors import ConfigError

SANDBOXES = ("auto", "bwrap", "none")
SEARCH_BACKENDS = ("duckduckgo", "searxng", "brave", "tavily", "none")
SECRET_ENV = frozenset(
    {
        "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
    }
)  # fmt: skip
"""The provider and channel keys: never passed to shell commands."""
UNSAFE_ENV = frozenset(
    {"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "IFS", "PS4", "PROMPT_COMMAND", "CDPATH"}
)
"""Variables that make bash run or read something else; never passed either."""


@dataclass
class ShellConfig:
    """[tools.shell]: the shell tool (policy ``ask`` unless [tools.policy] says else)."""

    allow: list[str] = field(default_factory=list)
    """Command patterns that run without asking (e.g. "git status", "ls *"); every simple
    command of a pipeline or list must match one."""
    env: list[str] = field(default_factory=list)
    """Names of daemon environment variables passed to commands besides PATH, HOME, LANG,
    TERM and TZ (never the provider or channel keys, PULSE_*, LD_*, BASH_ENV...)."""
    timeout_s: float = 60.0
    """Default and longest run time of one command, seconds; then its process group is
    killed."""
    max_output_bytes: int = 65536
    """Most output returned to the model; longer output keeps its head and tail."""
    sandbox: str = "auto"
    """auto (bubblewrap when it works here) | bwrap (required) | none."""
    network: bool = False
    """In the sandbox: whether commands may use the network."""


@dataclass
class WebConfig:
    """[tools.web]: web_fetch and web_search."""

    search: str = "duckduckgo"
    """duckduckgo (no key) | searxng (url) | brave (api_key) | tavily (api_key) | none."""
    url: str = ""
    """Base URL of the SearXNG instance (search = searxng)."""
    api_key: str = ""
    """API key of Brave Search or Tavily."""
    api_base_url: str = ""
    """Base URL of the Brave or Tavily API; empty: the service's own
    (https://api.search.brave.com, https://api.tavily.com)."""
    allow_private: bool = False
    """Let web_fetch reach loopback, private, link-local and other internal addresses."""
    timeout_s: float = 20.0
    """Longest a fetch or search request may take, seconds."""
    max_bytes: int = 2 * 1024 * 1024
    """Largest response body web_fetch reads."""
    max_chars: int = 20000
    """Default most characters of text web_fetch returns."""


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
    shell: ShellConfig = field(default_factory=ShellConfig)
    web: WebConfig = field(default_factory=WebConfig)


def validate_tools(tools: ToolsConfig) -> None:
    """Raises ConfigError for a bad [tools.shell] or [tools.web] value."""
    sh = tools.shell
    if sh.sandbox not in SANDBOXES:
        raise ConfigError(f'tools.shell.sandbox: "{sh.sandbox}" is not one of auto, bwrap, none')
    if not 0 < sh.timeout_s <= 86400:
        raise ConfigError("tools.shell.timeout_s: must be above 0 and at most 86400")
    if sh.max_output_bytes < 256:
        raise ConfigError("tools.shell.max_output_bytes: must be at least 256")
    if any(not p.strip() for p in sh.allow):
        raise ConfigError("tools.shell.allow: an entry is empty")
    for name in sh.env:
        if (
            name in SECRET_ENV
            or name in UNSAFE_ENV
            or name.startswith(("PULSE_", "BASH_FUNC_", "LD_"))
            or not name.replace("_", "a").isalnum()
        ):
            raise ConfigError(
                f'tools.shell.env: "{name}" may not be passed to commands (provider and '
                "channel keys, PULSE_* and variables that change how bash or the loader "
                "run are never passed)"
            )
    web = tools.web
    if web.search not in SEARCH_BACKENDS:
        raise ConfigError(
            f'tools.web.search: "{web.search}" is not one of {", ".join(SEARCH_BACKENDS)}'
        )
    if web.search == "searxng" and not web.url.startswith(("http://", "https://")):
        raise ConfigError("tools.web.url: search = searxng needs the instance's http(s) URL")
    if web.api_base_url and not web.api_base_url.startswith(("http://", "https://")):
        raise ConfigError("tools.web.api_base_url: must be an http(s) URL")
    if web.search in ("brave", "tavily") and not web.api_key:
        raise ConfigError(f"tools.web.api_key: search = {web.search} needs an API key")
    if web.timeout_s <= 0 or web.max_bytes < 1024 or web.max_chars < 100:
        raise ConfigError(
            "tools.web: timeout_s must be above 0, max_bytes at least 1024, max_chars at least 100"
        )
