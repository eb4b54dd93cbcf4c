"""The checks of ``pulsectl doctor``: each a small function returning one ``Result``.

Static checks read the config file themselves (``tomllib``; pulsectl never imports
pulsed), the environment and the file system, so they run with the daemon down. Live
checks read what a running daemon reports (System.Status, Skills.List). Sources of facts:
``pulse.paths`` for where files are; the provider key variables are the SDKs' own
(ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENROUTER_API_KEY), as the daemon reads them.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulse import paths

if TYPE_CHECKING:
    from pulse.v1 import skills_pb2, system_pb2

OK, WARN, FAIL = "ok", "warn", "fail"

SECTIONS = (
    "agent",
    "providers",
    "store",
    "tools",
    "budget",
    "server",
    "scheduler",
    "channels",
    "memory",
    "skills",
    "mcp",
    "ingest",
    "api",
)
"""The config file's top-level sections (the daemon's Config fields)."""

PROVIDERS = ("anthropic", "openai", "openrouter", "ollama", "openai-compatible")
KEY_VARIABLES = {
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"),
    "openai": ("OPENAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
}
"""Environment variables holding each provider's key (the SDKs' own)."""

CHANNEL_TOKENS = {
    "telegram": (("token", "TELEGRAM_BOT_TOKEN"),),
    "slack": (("bot_token", "SLACK_BOT_TOKEN"), ("app_token", "SLACK_APP_TOKEN")),
}
"""Channel token keys and the variables that fill them when empty."""

MIN_FREE_BYTES = 1 << 30
"""Free space under the data dir below which doctor warns (1 GiB)."""

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Result:
    """One check's outcome: ``status`` is ok | warn | fail; ``fix`` one line ('' when ok)."""

    check: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """``{check, status, detail, fix}`` for ``--json``."""
        return asdict(self)


@dataclass
class Context:
    """What the checks read: the config file (parsed, or why not), the environment, and
    what a running daemon reports (None when it does not answer)."""

    config_path: Path
    env: Mapping[str, str]
    raw: dict[str, Any] = field(default_factory=dict)
    config_error: str = ""
    status: system_pb2.StatusResponse | None = None
    skills: skills_pb2.ListSkillsResponse | None = None
    daemon_error: str = ""
    network: bool = False
    """Also contact the provider's endpoint (``doctor --network``)."""
    home: Path = field(default_factory=Path.home)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None) -> Context:
        """The config file of ``paths.config_path()`` read and parsed (errors kept, not
        raised)."""
        ctx = cls(config_path=paths.config_path(), env=os.environ if env is None else env)
        try:
            ctx.raw = tomllib.loads(ctx.config_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except OSError as err:
            ctx.config_error = f"cannot read: {err.strerror}"
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            ctx.config_error = f"not valid TOML: {err}"
        return ctx

    def section(self, *keys: str) -> dict[str, Any]:
        """The table at ``keys`` (``{}`` when absent or not a table)."""
        node: Any = self.raw
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def value(self, table: dict[str, Any], key: str, default: str = "") -> str:
        """A string value with ``${VAR}`` expanded from the environment."""
        v = table.get(key, default)
        return _VAR.sub(lambda m: self.env.get(m.group(1), ""), v) if isinstance(v, str) else ""

    @property
    def provider(self) -> str:
        return self.value(self.section("agent"), "provider", "anthropic")


Check = Callable[[Context], Result]

# -- static checks ---------------------------------------------------------------------


def check_config(ctx: Context) -> Result:
    """The config file exists, parses as TOML and has only known top-level sections."""
    name, where = "config", str(ctx.config_path)
    if ctx.config_error:
        return Result(name, FAIL, f"{where}: {ctx.config_error}", f"fix the TOML in {where}")
    if not ctx.config_path.exists():
        return Result(name, WARN, f"{where} does not exist; defaults apply", "run: pulsectl init")
    unknown = sorted(k for k in ctx.raw if k not in SECTIONS)
    if unknown:
        return Result(
            name,
            FAIL,
            f"{where}: unknown section(s) {', '.join(unknown)}",
            f"remove or rename them (known: {', '.join(SECTIONS)})",
        )
    return Result(name, OK, f"{where} parses")


def check_provider_key(ctx: Context) -> Result:
    """[agent] provider is known and has its key (env or [providers.NAME] api_key) or
    endpoint."""
    name, prov = "provider key", ctx.provider
    if prov not in PROVIDERS:
        return Result(
            name,
            FAIL,
            f'[agent] provider "{prov}" is unknown',
            f"use one of {', '.join(PROVIDERS)}",
        )
    table = ctx.section("providers", prov)
    base_url = ctx.value(table, "base_url")
    if prov == "ollama":
        return Result(name, OK, "ollama needs no key")
    if prov == "openai-compatible":
        if not base_url:
            return Result(
                name,
                FAIL,
                "openai-compatible has no base_url",
                f"set base_url in [providers.openai-compatible] of {ctx.config_path}",
            )
        return Result(name, OK, f"endpoint {base_url}")
    if ctx.value(table, "api_key"):
        return Result(name, OK, f"api_key in [providers.{prov}]")
    variables = KEY_VARIABLES[prov]
    found = [v for v in variables if ctx.env.get(v, "").strip()]
    if found:
        return Result(name, OK, f"${found[0]} is set")
    if prov == "openai" and base_url and "api.openai.com" not in base_url:
        return Result(name, OK, f"local endpoint {base_url} needs no key")
    return Result(
        name,
        FAIL,
        f"no API key for {prov}",
        f'set {variables[0]} or api_key = "${{{variables[0]}}}" in [providers.{prov}]',
    )


DEFAULT_ENDPOINTS = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "openai-compatible": "",
}
"""Each provider's endpoint when neither [providers.NAME] base_url nor the SDK's variable
sets one (the daemon's defaults)."""
ENDPOINT_VARIABLES = {"anthropic": "ANTHROPIC_BASE_URL", "openai": "OPENAI_BASE_URL"}


def _key(ctx: Context, prov: str) -> str:
    table = ctx.section("providers", prov)
    found = [ctx.env.get(v, "").strip() for v in KEY_VARIABLES.get(prov, ())]
    return ctx.value(table, "api_key") or next((k for k in found if k), "")


def check_endpoint(ctx: Context) -> Result:
    """The provider's endpoint answers a model list with the key (no tokens spent);
    ``GET /v1/models`` (Anthropic: ``x-api-key``; the others: a bearer token)."""
    import urllib.error
    import urllib.request

    name, prov = "provider endpoint", ctx.provider
    if prov not in PROVIDERS:
        return Result(name, FAIL, f'unknown provider "{prov}"', "fix [agent] provider")
    base = (
        ctx.value(ctx.section("providers", prov), "base_url")
        or ctx.env.get(ENDPOINT_VARIABLES.get(prov, ""), "")
        or DEFAULT_ENDPOINTS[prov]
    ).rstrip("/")
    if not base:
        return Result(name, FAIL, f"{prov} has no base_url", f"set [providers.{prov}] base_url")
    key = _key(ctx, prov)
    if prov == "anthropic":
        url = base + "/v1/models"
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    else:
        url = base + "/models"
        headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - http(s) only
            resp.read(1 << 20)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            return Result(name, FAIL, f"{url}: {err.code}, the key is refused", "check the key")
        return Result(name, WARN, f"{url}: HTTP {err.code}", "check base_url")
    except (urllib.error.URLError, OSError, ValueError) as err:
        why = getattr(err, "reason", err)
        return Result(name, FAIL, f"{url}: unreachable ({why})", "check base_url and the network")
    return Result(name, OK, f"{url} lists models")


def check_channel_tokens(ctx: Context) -> Result:
    """Every enabled channel has its tokens (config or environment)."""
    missing = []
    enabled = []
    for chan, keys in CHANNEL_TOKENS.items():
        table = ctx.section("channels", chan)
        if table.get("enabled") is not True:
            continue
        enabled.append(chan)
        for key, var in keys:
            raw = table.get(key, "")
            named = _VAR.search(raw) if isinstance(raw, str) else None
            if not (ctx.value(table, key) or ctx.env.get(var)):
                missing.append(f"{chan}.{key} (${named.group(1) if named else var})")
    if missing:
        return Result(
            "channel tokens",
            FAIL,
            f"enabled but no token: {', '.join(missing)}",
            "export the variable (e.g. in ~/.config/pulse/env), or set enabled = false",
        )
    detail = f"tokens set for {', '.join(enabled)}" if enabled else "no channel enabled"
    return Result("channel tokens", OK, detail)


def _socket() -> Path | None:
    try:
        return paths.client_socket_path()
    except paths.PathError:
        return None


def check_socket(ctx: Context) -> Result:
    """The socket is 0600 and its folder 0700 (no one else may talk to the daemon)."""
    name, sock = "socket permissions", _socket()
    if sock is None:
        return Result(name, FAIL, "no usable folder for the socket", "set PULSE_SOCKET")
    parent = sock.parent
    if not parent.exists():
        return Result(name, OK, f"{parent} not created yet (the daemon makes it 0700)")
    problems = []
    dir_mode = stat.S_IMODE(parent.stat().st_mode)
    if dir_mode & 0o077:
        problems.append(f"{parent} is {dir_mode:04o}")
    if sock.exists():
        mode = stat.S_IMODE(sock.stat().st_mode)
        if mode & 0o077:
            problems.append(f"{sock} is {mode:04o}")
    if problems:
        return Result(
            name, FAIL, "; ".join(problems), f"chmod 700 {parent}; chmod 600 {sock} (or restart)"
        )
    return Result(name, OK, f"{sock} and its folder are private")


def _data_dir(ctx: Context) -> Path:
    return paths.data_dir(ctx.value(ctx.section("server"), "data_dir"))


def check_data_dir(ctx: Context) -> Result:
    """The data dir exists (or can be made) and is writable."""
    data = _data_dir(ctx)
    if not data.exists():
        return Result("data dir", OK, f"{data} will be created on start")
    if not os.access(data, os.W_OK | os.X_OK):
        return Result("data dir", FAIL, f"{data} is not writable", f"chown/chmod {data}")
    return Result("data dir", OK, str(data))


def check_disk(ctx: Context) -> Result:
    """Free space where the data dir lives (warn below 1 GiB)."""
    data = _data_dir(ctx)
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    detail = f"{free / (1 << 30):.1f} GiB free under {probe}"
    if free < MIN_FREE_BYTES:
        return Result("disk space", WARN, detail, f"free space on the disk of {data}")
    return Result("disk space", OK, detail)


def check_workspace(ctx: Context) -> Result:
    """The agent's workspace folder exists (it is created on start when it does not)."""
    ws = Path(ctx.value(ctx.section("tools"), "workspace", "~/pulse-workspace")).expanduser()
    if not ws.exists():
        return Result("workspace", WARN, f"{ws} does not exist", f"mkdir -p {ws} (or start pulsed)")
    if not ws.is_dir():
        return Result("workspace", FAIL, f"{ws} is not a folder", "set [tools] workspace")
    return Result("workspace", OK, str(ws))


def check_webhooks(ctx: Context) -> Result:
    """With [ingest.webhooks.routes] configured: the listen address is served by the
    daemon (when up) or can be bound (when down)."""
    hooks = ctx.section("ingest", "webhooks")
    if not ctx.section("ingest", "webhooks", "routes"):
        return Result("webhook listener", OK, "no routes configured")
    listen = ctx.value(hooks, "listen", "127.0.0.1:8787")
    host, _, port_text = listen.rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        return Result("webhook listener", FAIL, f'listen "{listen}" has no port', "use host:port")
    host = host.strip("[]") or "127.0.0.1"
    if ctx.status is not None:
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as err:
            return Result(
                "webhook listener",
                FAIL,
                f"nothing answers on {listen}: {err.strerror or err}",
                "see the daemon's log (pulsectl service logs or pulsed.log)",
            )
        return Result("webhook listener", OK, f"served on {listen}")
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, port))
    except OSError as err:
        why = "in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
        return Result(
            "webhook listener",
            FAIL,
            f"cannot bind {listen}: {why}",
            "change [ingest.webhooks] listen or stop what holds the port",
        )
    return Result("webhook listener", OK, f"{listen} can be bound")


def check_systemd_unit(ctx: Context) -> Result:
    """The user unit of ``pulsectl service install`` exists."""
    unit = ctx.home / ".config" / "systemd" / "user" / "pulsed.service"
    if unit.exists():
        return Result("systemd unit", OK, str(unit))
    return Result(
        "systemd unit",
        WARN,
        f"{unit} not installed (the daemon does not start at boot)",
        "run: pulsectl service install",
    )


def check_lingering(ctx: Context) -> Result:
    """User lingering, so the user's services outlive the login session."""
    user = ctx.env.get("USER") or ctx.home.name
    if shutil.which("loginctl") is None:
        return Result("lingering", WARN, "cannot check: no loginctl", "")
    try:
        out = subprocess.run(
            ["loginctl", "show-user", user, "-p", "Linger"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Result("lingering", WARN, f"cannot check: {err}", "")
    value = out.stdout.strip().partition("=")[2]
    if out.returncode != 0 or not value:
        why = out.stderr.strip().splitlines()[0] if out.stderr.strip() else "no answer"
        return Result("lingering", WARN, f"cannot check: {why}", "")
    if value == "yes":
        return Result("lingering", OK, f"enabled for {user}")
    return Result(
        "lingering",
        WARN,
        f"off for {user}: the service stops when you log out",
        f"run: loginctl enable-linger {user}",
    )


def check_timezone(ctx: Context) -> Result:
    """A time zone is set (TZ or /etc/localtime): schedules and 'today' use it."""
    tz = ctx.env.get("TZ", "")
    if tz:
        return Result("time zone", OK, f"TZ={tz}")
    local = Path("/etc/localtime")
    if local.exists():
        target = os.path.realpath(local)
        zone = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else target
        return Result("time zone", OK, zone)
    return Result(
        "time zone",
        WARN,
        "no TZ and no /etc/localtime: times are UTC",
        "set TZ (e.g. Europe/Paris)",
    )


# -- live checks (what the daemon reports) ---------------------------------------------


def check_daemon(ctx: Context) -> Result:
    """A daemon answers on the socket."""
    if ctx.status is None:
        return Result(
            "daemon",
            WARN,
            f"not running ({ctx.daemon_error or 'no answer'}); live checks skipped",
            "start it: pulsed (or pulsectl service install)",
        )
    st = ctx.status
    return Result("daemon", OK, f"pulsed {st.version}, pid {st.pid}, {st.socket}")


def check_store(ctx: Context) -> Result:
    """The store's health as the daemon reports it."""
    st = ctx.status
    if st is None:
        return Result("store", WARN, "daemon not running: not checked", "start pulsed")
    if st.store_health == "ok":
        return Result("store", OK, f"{st.store_backend}, schema {st.schema_version}")
    return Result(
        "store", FAIL, f"{st.store_backend}: {st.store_health}", "run: pulsectl store status"
    )


def check_provider(ctx: Context) -> Result:
    """The daemon's provider is usable (its own provider_problem)."""
    st = ctx.status
    if st is None:
        return Result("provider", WARN, "daemon not running: not checked", "start pulsed")
    if st.provider_problem:
        return Result("provider", FAIL, st.provider_problem, "set it, then: pulsectl restart")
    return Result("provider", OK, f"{st.provider} {st.model}")


def check_channels(ctx: Context) -> Result:
    """Each enabled channel is connected."""
    st = ctx.status
    if st is None:
        return Result("channels", WARN, "daemon not running: not checked", "start pulsed")
    if not st.channels:
        return Result("channels", OK, "none enabled")
    bad = [f"{c.name} {c.state}" for c in st.channels if c.state != "connected"]
    failed = [f"{c.name}: {c.failed_deliveries} failed" for c in st.channels if c.failed_deliveries]
    if bad:
        return Result("channels", FAIL, ", ".join(bad), "run: pulsectl channels status")
    if failed:
        return Result("channels", WARN, ", ".join(failed), "run: pulsectl channels status")
    return Result("channels", OK, ", ".join(f"{c.name} connected" for c in st.channels))


def check_http_api(ctx: Context) -> Result:
    """The HTTP API listener serves when enabled."""
    st = ctx.status
    if st is None:
        return Result("http api", WARN, "daemon not running: not checked", "start pulsed")
    for x in st.listeners:
        if x.name != "http_api":
            continue
        if x.state == "serving":
            return Result("http api", OK, f"serving on {x.address}")
        if x.state in ("disabled", "stopped"):
            return Result("http api", OK, x.state)
        return Result(
            "http api", FAIL, f"{x.state}: {x.detail or x.reason}", x.detail or "see [api.http]"
        )
    return Result("http api", OK, "not configured")


def check_mcp(ctx: Context) -> Result:
    """Each enabled MCP server is ready."""
    st = ctx.status
    if st is None:
        return Result("mcp servers", WARN, "daemon not running: not checked", "start pulsed")
    if not st.mcp_servers:
        return Result("mcp servers", OK, "none enabled")
    failed = [f"{m.name}: {m.last_error or m.state}" for m in st.mcp_servers if m.state == "failed"]
    if failed:
        return Result("mcp servers", FAIL, "; ".join(failed), "run: pulsectl mcp probe NAME")
    waiting = [m.name for m in st.mcp_servers if m.state != "ready"]
    if waiting:
        return Result("mcp servers", WARN, f"still connecting: {', '.join(waiting)}", "run again")
    return Result(
        "mcp servers", OK, ", ".join(f"{m.name} ({m.tools} tools)" for m in st.mcp_servers)
    )


def check_skills(ctx: Context) -> Result:
    """No skill is invalid or missing its requirements."""
    if ctx.skills is None:
        return Result("skills", WARN, "daemon not running: not checked", "start pulsed")
    invalid = [s.name for s in ctx.skills.skills if s.state == "invalid"]
    unmet = [s.name for s in ctx.skills.skills if s.state == "unavailable"]
    if invalid or unmet:
        parts = [f"invalid: {', '.join(invalid)}"] if invalid else []
        parts += [f"requirements not met: {', '.join(unmet)}"] if unmet else []
        return Result("skills", WARN, "; ".join(parts), "run: pulsectl skills check")
    n = sum(s.state == "available" for s in ctx.skills.skills)
    return Result("skills", OK, f"{n} available")


STATIC: tuple[Check, ...] = (
    check_config,
    check_provider_key,
    check_channel_tokens,
    check_socket,
    check_data_dir,
    check_disk,
    check_workspace,
    check_systemd_unit,
    check_lingering,
    check_timezone,
)
LIVE: tuple[Check, ...] = (
    check_daemon,
    check_store,
    check_provider,
    check_channels,
    check_http_api,
    check_mcp,
    check_skills,
    check_webhooks,
)


def run_all(ctx: Context) -> list[Result]:
    """Every check, static first (with the daemon down, of the live ones only ``daemon``
    and ``webhook listener``; ``provider endpoint`` only with ``ctx.network``); a check that
    raises is reported as failed."""
    results = []
    live = LIVE if ctx.status is not None else (check_daemon, check_webhooks)
    network = (check_endpoint,) if ctx.network else ()
    for check in (*STATIC, *network, *live):
        try:
            results.append(check(ctx))
        except Exception as err:  # a broken check must not hide the others
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Result(name, FAIL, f"the check failed: {err}", "report this"))
    return results
