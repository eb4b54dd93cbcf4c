"""``pulsectl doctor``: checks of the config, the machine and a running daemon, each
ok | warn | fail with a one-line fix (the checks: ``pulsectl.doctor_checks``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pulsectl import diagnostics, output
from pulsectl.diagnostics import EXIT_ERROR, EXIT_OK
from pulsectl.doctor_checks import FAIL, WARN, Context, Result
from pulsectl.doctor_live import run_all
from pulsectl.output import Output


def _ask_daemon(ctx: Context, args: argparse.Namespace) -> None:
    """Fill ``ctx.status`` and ``ctx.skills`` from the daemon on the socket, never starting
    one (a daemon that does not answer leaves them None and says why)."""
    from pulsectl.client.sync import PulseClient

    try:
        with PulseClient(args.socket, autostart=False) as client:
            ctx.status = client.status()
            ctx.skills = client.list_skills()
    except diagnostics.ClientError as err:
        ctx.daemon_error = str(err).splitlines()[0] if str(err) else type(err).__name__


def cmd_doctor(args: argparse.Namespace, out: Output) -> int:
    """``doctor``: run every check; exit 1 when one fails (``--json``: a list of
    ``{check, status, detail, fix}``)."""
    ctx = Context.load()
    ctx.network = args.network
    ctx.socket = Path(args.socket).expanduser() if args.socket else None
    _ask_daemon(ctx, args)
    results = run_all(ctx)
    if args.json:
        out.json_doc([r.as_dict() for r in results])
    else:
        out.line(render(results))
    failed = sum(r.status == FAIL for r in results)
    if failed:
        diagnostics.error(
            f"{failed} check{'s' if failed > 1 else ''} failed", "see the fix of each above"
        )
    return EXIT_ERROR if failed else EXIT_OK


def render(results: list[Result]) -> str:
    """One row per check (status, check, detail); a ``fix:`` line under each that is not ok,
    then a summary."""
    lines = []
    name_w = max(len(r.check) for r in results)
    for r in results:
        lines.append(output.one_line(f"{r.status:<4}  {r.check:<{name_w}}  {r.detail}"))
        if r.status != "ok" and r.fix:
            lines.append(f"      {'':<{name_w}}  fix: {r.fix}")
    warns = sum(r.status == WARN for r in results)
    fails = sum(r.status == FAIL for r in results)
    lines += [
        "",
        f"{len(results)} checks: {len(results) - warns - fails} ok, {warns} warn, {fails} fail",
    ]
    return "\n".join(lines)
