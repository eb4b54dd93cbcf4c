"""``pulsectl service install | uninstall | status``: pulsed as a systemd user service.

The unit itself (template, rendering, systemctl) is ``pulsectl.service``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from pulsectl import diagnostics
from pulsectl.diagnostics import EXIT_OK, CliError
from pulsectl.output import Output


def cmd_install(args: argparse.Namespace, out: Output) -> int:
    """``service install [--dry-run]``: write the unit, then enable and start it.

    Raises:
        CliError: the unit could not be written or systemctl failed.
    """
    from pulsectl import service as systemd

    plan = systemd.install_plan()
    _warn_running_daemon(args)
    if args.dry_run:
        if args.json:
            out.json_doc(
                {"unit_path": str(plan.path), "unit": plan.unit, "commands": plan.commands}
            )
        else:
            out.line(f"# {plan.path}")
            out.write(plan.unit)
            out.line("")
            out.line("# then:")
            for argv in plan.commands:
                out.line(" ".join(argv))
        return EXIT_OK
    systemd.install(plan, diagnostics.note)
    lingering = linger_state()
    if args.json:
        out.json_doc({"unit_path": str(plan.path), "installed": True, "linger": lingering})
    diagnostics.note("pulsed runs as a user service; logs: pulsectl service logs -f")
    diagnostics.note("put provider keys in ~/.config/pulse/env (KEY=value lines, chmod 600)")
    if lingering == "no":
        user = os.environ.get("USER", "$USER")
        diagnostics.warn(
            "user lingering is off: the service stops when your last SSH session ends; "
            f"keep it running with: sudo loginctl enable-linger {user}"
        )
    return EXIT_OK


def linger_state() -> str:
    """``yes`` | ``no`` from ``loginctl show-user``, or ``unknown`` (no loginctl, no
    session manager)."""
    user = os.environ.get("USER") or ""
    if not user or not shutil.which("loginctl"):
        return "unknown"
    try:
        done = subprocess.run(
            ["loginctl", "show-user", user, "--property=Linger", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    value = done.stdout.strip()
    return value if done.returncode == 0 and value in ("yes", "no") else "unknown"


def cmd_logs(args: argparse.Namespace, out: Output) -> int:
    """``service logs [-f] [-n N]``: the service's journal (journalctl --user).

    Raises:
        CliError: journalctl is not there.
    """
    exe = shutil.which("journalctl")
    if not exe:
        raise CliError("journalctl not found: the service logs to the systemd journal")
    argv = [exe, "--user", "-u", "pulsed.service", "-n", str(args.lines), "--no-pager"]
    if args.follow:
        argv.append("-f")
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return EXIT_OK


def _warn_running_daemon(args: argparse.Namespace) -> None:
    """Warn when a daemon already answers on the socket: the service's own pulsed cannot
    start while it runs (unless it is the service itself)."""
    from pulsectl.client.daemon import probe
    from pulsectl.client.errors import ClientError
    from pulsectl.client.sync import PulseClient

    client = PulseClient(args.socket, autostart=False)
    try:
        if not probe(client.socket):
            return
        pid = client.status().pid
    except ClientError:
        return
    finally:
        client.close()
    diagnostics.warn(
        f"pulsed (pid {pid}) already answers on {client.socket}; if systemd did not start "
        f"it, stop it (kill {pid}) so the service's daemon can take over"
    )


def cmd_uninstall(args: argparse.Namespace, out: Output) -> int:
    """``service uninstall``: stop and disable the service, remove the unit.

    Raises:
        CliError: the unit could not be removed or systemd not told.
    """
    from pulsectl import service as systemd

    systemd.uninstall(diagnostics.note)
    if args.json:
        out.json_doc({"unit_path": str(systemd.unit_path()), "installed": False})
    return EXIT_OK


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """``service status``: the unit as systemd sees it; exit 3 when it is not active.

    Raises:
        CliError: systemctl is missing, or the unit is not installed.
    """
    from pulsectl import service as systemd

    st = systemd.status()
    if args.json:
        out.json_doc(
            {
                "unit_path": str(st.unit_path),
                "installed": st.installed,
                "active": st.active,
                "enabled": st.enabled,
            }
        )
    elif st.text:
        out.write(st.text)
        out.finish_line()
    if not st.installed:
        raise CliError(
            f"pulsed.service is not installed (no {st.unit_path})",
            "install it with: pulsectl service install",
        )
    return EXIT_OK if st.active == "active" else diagnostics.EXIT_UNREACHABLE


# -- entry point -----------------------------------------------------------------------
