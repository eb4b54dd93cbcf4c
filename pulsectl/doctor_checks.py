"""The checks of ``pulsectl doctor``: each a small function returning one ``Result``.

Static checks read the config file themselves (``tomllib``; pulsectl never imports
pulsed), the environment and the file system, so they run with the daemon down (the live
and network ones, and the list of all: ``pulsectl.doctor_live``). Sources of facts:
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

from pulsectl.config_keys import TABLES

if TYPE_CHECKING:
    from pulse.v1 import skills_pb2, system_pb2

OK, WARN, FAIL = "ok", "warn", "fail"

SECTIONS = TABLES[""]
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
    socket: Path | None = None
    """The socket of ``--socket``; None: the one ``pulse.paths`` names."""
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
    unknown = unknown_keys(ctx.raw)
    if unknown:
        return Result(
            name,
            FAIL,
            f"{where}: " + "; ".join(unknown),
            f"rename or remove them in {where}",
        )
    return Result(name, OK, f"{where} parses")


def unknown_keys(raw: Mapping[str, Any], path: str = "") -> list[str]:
    """Each key of the parsed config ``raw`` that the daemon does not know, with its
    table and the closest known key: ``[agent] modle: unknown key; did you mean model?``
    (top level: ``agnet: unknown section; did you mean agent?``). The known keys are
    ``pulsectl.config_keys.TABLES``, generated from the daemon's config schema."""
    import difflib

    pattern = _pattern(path)
    if pattern in _NAMED:  # [providers.<name>] and the like: check each named table
        return [
            problem
            for name, value in raw.items()
            if isinstance(value, dict)
            for problem in unknown_keys(value, f"{path}.{name}")
        ]
    if pattern not in TABLES:
        return []  # a free-form table (e.g. [tools.policy]): any key goes
    known = TABLES[pattern]
    found: list[str] = []
    for key, value in raw.items():
        child = f"{path}.{key}" if path else key
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            what = "unknown key" if path else "unknown section"
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(known)})"
            found.append((f"[{path}] " if path else "") + f"{key}: {what}{hint}")
        elif isinstance(value, dict):
            found += unknown_keys(value, child)
    return found


_NAMED = frozenset(p.removesuffix(".*") for p in TABLES if p.endswith(".*"))
"""Tables whose keys are names of the user's choosing (``providers``, ``mcp.servers``)."""


def _pattern(path: str) -> str:
    """The ``TABLES`` path describing the table at ``path``: a name of the user's
    choosing becomes ``*`` (``providers.openai`` -> ``providers.*``)."""
    out: list[str] = []
    for part in path.split(".") if path else []:
        out.append("*" if ".".join(out) in _NAMED else part)
    return ".".join(out)


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


def _socket(ctx: Context) -> Path | None:
    if ctx.socket is not None:
        return ctx.socket
    try:
        return paths.client_socket_path()
    except paths.PathError:
        return None


def check_socket(ctx: Context) -> Result:
    """The socket is 0600 and its folder 0700 (no one else may talk to the daemon)."""
    name, sock = "socket permissions", _socket(ctx)
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
    by_hand = f"on a systemd machine: loginctl show-user {user} -p Linger"
    if shutil.which("loginctl") is None:
        return Result("lingering", WARN, "cannot check: no loginctl", by_hand)
    try:
        out = subprocess.run(
            ["loginctl", "show-user", user, "-p", "Linger"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return Result("lingering", WARN, f"cannot check: {err}", by_hand)
    value = out.stdout.strip().partition("=")[2]
    if out.returncode != 0 or not value:
        why = out.stderr.strip().splitlines()[0] if out.stderr.strip() else "no answer"
        return Result("lingering", WARN, f"cannot check: {why}", by_hand)
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
