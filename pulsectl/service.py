"""pulsed as a systemd user service: render, install, uninstall and inspect the unit.

The template is the repository's ``systemd/pulsed.service``; ``@EXEC_START@`` becomes the
``pulsed`` script beside the running interpreter (or ``python -m pulsed``) and
``@ENVIRONMENT@`` one ``Environment=`` line per PULSE_* variable set now. Nothing here
writes to stdout or stderr: results and notes go back to the caller.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pulsectl.diagnostics import CliError

UNIT_NAME = "pulsed.service"
ENV_VARS = ("PULSE_CONFIG", "PULSE_DATA_DIR", "PULSE_SOCKET")
TEMPLATE_FILE = Path(__file__).resolve().parent.parent / "systemd" / UNIT_NAME

FALLBACK_TEMPLATE = """\
# Pulse daemon as a systemd user service.
# `pulsectl service install` renders this template into
# $XDG_CONFIG_HOME/systemd/user/pulsed.service (default ~/.config/systemd/user/),
# filling in the pulsed command and one Environment= line for each of PULSE_CONFIG,
# PULSE_DATA_DIR and PULSE_SOCKET that is set when it runs.
# Logs go to journald: journalctl --user -u pulsed.service (or: pulsectl service logs -f)

[Unit]
Description=Pulse AI agent daemon (pulsed)

[Service]
Type=simple
ExecStart=@EXEC_START@
# Provider and channel keys (ANTHROPIC_API_KEY=..., TELEGRAM_BOT_TOKEN=...), one per line;
# keep the file 0600. The leading "-" lets the service start without it.
EnvironmentFile=-%h/.config/pulse/env
@ENVIRONMENT@
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=30
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=default.target
"""
"""The template as shipped, for installs without the repository's systemd/ folder
(a test keeps it equal to the file)."""

SYSTEMCTL_TIMEOUT_S = 60.0


def load_template() -> str:
    """The unit template: the repository's file, else the built-in copy."""
    try:
        return TEMPLATE_FILE.read_text(encoding="utf-8")
    except OSError:
        return FALLBACK_TEMPLATE


def unit_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the user unit goes: ``$XDG_CONFIG_HOME/systemd/user/pulsed.service``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "systemd" / "user" / UNIT_NAME


def exec_command(executable: str | None = None) -> list[str]:
    """The command that runs the daemon: the ``pulsed`` script next to the interpreter,
    else ``<python> -m pulsed``; absolute paths either way."""
    python = os.path.abspath(executable or sys.executable)
    script = os.path.join(os.path.dirname(python), "pulsed")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return [script]
    return [python, "-m", "pulsed"]


def _escape(text: str, *, dollar: bool) -> str:
    """Text safe inside a double-quoted unit-file value."""
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return text.replace("$", "$$") if dollar else text


def quote_exec_arg(arg: str) -> str:
    """One ExecStart argument, quoted when it holds spaces or special characters."""
    if arg and not any(c in arg for c in " \t'\"\\%$;"):
        return arg
    return '"' + _escape(arg, dollar=True) + '"'


def environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The PULSE_* variables set now, with paths made absolute (the service starts
    elsewhere than the current directory)."""
    env = os.environ if environ is None else environ
    return {
        name: os.path.abspath(os.path.expanduser(env[name])) for name in ENV_VARS if env.get(name)
    }


def render_unit(template: str, command: Sequence[str], env: Mapping[str, str]) -> str:
    """The unit text: the template with ExecStart and the Environment lines filled in."""
    exec_start = " ".join(quote_exec_arg(a) for a in command)
    env_lines = [f'Environment="{_escape(f"{k}={v}", dollar=False)}"' for k, v in env.items()]
    lines = []
    for text in template.splitlines():
        if text.strip() == "@ENVIRONMENT@":
            lines.extend(env_lines)
        elif text.startswith("ExecStart="):
            lines.append(text.replace("@EXEC_START@", exec_start))
        else:
            lines.append(text)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Plan:
    """What ``install`` does: write ``unit`` to ``path``, then run ``commands``."""

    path: Path
    unit: str
    command: list[str]
    commands: list[list[str]]


def install_plan(environ: Mapping[str, str] | None = None, executable: str | None = None) -> Plan:
    """The unit to write and the systemctl commands to run, computed from now."""
    command = exec_command(executable)
    return Plan(
        path=unit_path(environ),
        unit=render_unit(load_template(), command, environment(environ)),
        command=command,
        commands=[
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", UNIT_NAME],
        ],
    )


def _by_hand(plan_command: Sequence[str]) -> str:
    return "start the daemon by hand with: " + " ".join(quote_exec_arg(a) for a in plan_command)


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CliError(f"{' '.join(argv)}: {err}") from None


def _systemctl_missing() -> bool:
    return shutil.which("systemctl") is None


def install(plan: Plan, notify: Callable[[str], None]) -> None:
    """Write the unit, reload systemd and enable and start the service.

    Raises:
        CliError: the unit could not be written, systemctl is missing, or it failed (the
            message says the unit was written and how to start the daemon by hand).
    """
    try:
        plan.path.parent.mkdir(parents=True, exist_ok=True)
        plan.path.write_text(plan.unit, encoding="utf-8")
    except OSError as err:
        raise CliError(f"cannot write {plan.path}: {err.strerror or err}") from None
    notify(f"wrote {plan.path}")
    if _systemctl_missing():
        raise CliError(
            f"systemctl not found: wrote {plan.path} but could not enable it",
            _by_hand(plan.command),
        )
    for argv in plan.commands:
        result = _run(argv)
        if result.returncode != 0:
            raise CliError(
                f"{' '.join(argv)} failed: {(result.stderr or result.stdout).strip()}",
                f"the unit is written to {plan.path}; {_by_hand(plan.command)}",
            )
        notify("ran " + " ".join(argv))


def uninstall(notify: Callable[[str], None], environ: Mapping[str, str] | None = None) -> None:
    """Stop and disable the service, remove the unit and reload systemd.

    Raises:
        CliError: the unit could not be removed, or systemd could not be told (the unit
            is removed all the same).
    """
    path = unit_path(environ)
    have_systemctl = not _systemctl_missing()
    failure = ""
    if have_systemctl:
        result = _run(["systemctl", "--user", "disable", "--now", UNIT_NAME])
        if result.returncode != 0 and path.exists():
            failure = (result.stderr or result.stdout).strip()
    if path.exists():
        try:
            path.unlink()
        except OSError as err:
            raise CliError(f"cannot remove {path}: {err.strerror or err}") from None
        notify(f"removed {path}")
    else:
        notify(f"{UNIT_NAME} is not installed (no {path})")
    if have_systemctl:
        _run(["systemctl", "--user", "daemon-reload"])
    hint = "if pulsed is running, stop it yourself"
    if failure:
        raise CliError(f"systemctl --user disable --now {UNIT_NAME} failed: {failure}", hint)
    if not have_systemctl:
        notify(f"systemctl not found: {hint}")


@dataclass(frozen=True)
class Status:
    """The service as systemd sees it."""

    unit_path: Path
    installed: bool
    active: str
    """``systemctl --user is-active``: active, inactive, failed, ..."""
    enabled: str
    """``systemctl --user is-enabled``: enabled, disabled, ... ("" when unknown)."""
    text: str
    """``systemctl --user status`` output."""


def status(environ: Mapping[str, str] | None = None) -> Status:
    """The service's state.

    Raises:
        CliError: systemctl is not installed or cannot reach the user's systemd.
    """
    path = unit_path(environ)
    if _systemctl_missing():
        raise CliError(
            "systemctl not found: cannot ask systemd about pulsed.service",
            f"unit file {'present' if path.exists() else 'absent'}: {path}",
        )

    def ask(*args: str) -> subprocess.CompletedProcess[str]:
        return _run(["systemctl", "--user", *args, UNIT_NAME])

    active = ask("is-active")
    if not active.stdout.strip():
        raise CliError(f"systemctl --user is-active {UNIT_NAME} failed: {active.stderr.strip()}")
    return Status(
        unit_path=path,
        installed=path.exists(),
        active=active.stdout.strip(),
        enabled=ask("is-enabled").stdout.strip(),
        text=ask("status", "--no-pager").stdout,
    )
