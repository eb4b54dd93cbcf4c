"""pulsectl: the scriptable CLI of Pulse.

Each command turns its flags into calls on ``PulseClient`` and hands the results to
``pulsectl.output`` (stdout, data only); notes, prompts and errors go through
``pulsectl.diagnostics`` (stderr), which also owns the exit codes. gRPC is imported only
when a command talks to the daemon, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pulsectl import channels_cmds, diagnostics, output, store_cmds
from pulsectl.client import filters
from pulsectl.client.errors import ClientError, ServerError
from pulsectl.client.filters import FORMS, Filter
from pulsectl.commands import client as _client
from pulsectl.diagnostics import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    TurnFailed,
    UsageError,
)

if TYPE_CHECKING:
    from pulse.v1 import chat_pb2, tasks_pb2

    from pulsectl.client.sync import PulseClient

PROG = "pulsectl"

# -- argument values -------------------------------------------------------------------


WHERE_FORMS = FORMS


def parse_where(text: str) -> Filter:
    """A ``--where`` value, ``col<op>value``, as a Filter (``col == value`` with spaces
    works too; the grammar is the client library's).

    Raises:
        argparse.ArgumentTypeError: not one of the accepted forms.
    """
    try:
        return filters.parse_where(text)
    except filters.FilterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
TIME_FORMS = "a duration back from now such as 90s, 15m, 24h, 7d, 2w, or an ISO 8601 time"
TIME_EXAMPLE = "e.g. --since 24h or --since 2026-11-21T09:00"


def parse_duration(text: str) -> float:
    """``90s``, ``15m``, ``24h``, ``7d``, ``2w`` in seconds.

    Raises:
        ValueError: not such a duration.
    """
    match = _DURATION_RE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def parse_time_ms(text: str, now: float | None = None) -> int:
    """A ``--since``/``--until`` value as unix milliseconds: a duration back from ``now``
    (default: the current time), ``now``, or an ISO 8601 date or time (local when it has
    no offset).

    Raises:
        argparse.ArgumentTypeError: neither form (the message gives an example).
    """
    current = time.time() if now is None else now
    text = text.strip()
    if text.lower() == "now":
        return int(current * 1000)
    try:
        return int((current - parse_duration(text)) * 1000)
    except ValueError:
        pass
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {text!r}: use {TIME_FORMS} ({TIME_EXAMPLE})"
        ) from None
    return int(moment.timestamp() * 1000)  # naive datetimes are local time


def parse_start(text: str) -> str | int:
    """A ``--from`` value: "earliest", "latest" or a sequence number.

    Raises:
        argparse.ArgumentTypeError: none of those.
    """
    value = text.strip().lower()
    if value in ("earliest", "latest"):
        return value
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(
        f"invalid start {text!r}: use earliest, latest or a sequence number such as 1200"
    )


def positive_int(text: str) -> int:
    """A whole number above zero.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def version() -> str:
    """The installed pulse-agent version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pulse-agent")
    except PackageNotFoundError:
        return "unknown"


# -- parser ----------------------------------------------------------------------------

DESCRIPTION = """\
Control and query pulsed, the Pulse agent daemon, from scripts and the shell.
stdout carries data only (--json for JSON); notes and errors go to stderr.
A daemon is started on demand when none answers on the socket (unless --no-start)."""

EPILOG = f"""\
examples:
  pulsectl status
  pulsectl chat "what is in my workspace?"
  pulsectl streams tail llm_logs --json | jq .estimated_cost_usd
  pulsectl costs --since 7d --by model

{diagnostics.EXIT_CODES_HELP}

environment:
  PULSE_SOCKET    the daemon's socket (else [server] socket in the config file,
                  else $XDG_RUNTIME_DIR/pulse/pulsed.sock)
  PULSE_CONFIG    the config file, read for [server] socket and data_dir
  PULSE_DATA_DIR  where a daemon started by pulsectl logs (pulsed.log)"""


class _VersionAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="print pulsectl's version and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        output.line(f"{PROG} {version()}")
        parser.exit()


def _add_global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--socket, --no-start and --json: on the top parser with defaults, and on every
    subcommand without (so a flag given after the subcommand wins, and one given before
    is not reset)."""
    default = (lambda value: value) if top else (lambda _value: argparse.SUPPRESS)
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--socket", metavar="PATH", default=default(None), help="the daemon's Unix socket"
    )
    group.add_argument(
        "--no-start",
        action="store_true",
        default=default(False),
        help="fail (exit 3) instead of starting a daemon when none answers",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print JSON (a document, or one object per line for streams)",
    )


class _Commands:
    """Adds subcommands with shared flags, a description and an example each."""

    def __init__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self.subparsers = subparsers
        self.common = argparse.ArgumentParser(add_help=False)
        _add_global_flags(self.common, top=False)

    def add(
        self,
        name: str,
        summary: str,
        example: str,
        func: Callable[[argparse.Namespace], int] | None = None,
        details: str = "",
    ) -> argparse.ArgumentParser:
        description = summary[0].upper() + summary[1:] + "." + (f"\n\n{details}" if details else "")
        parser = self.subparsers.add_parser(
            name,
            help=summary,
            description=description,
            epilog="example:\n" + "\n".join(f"  {e}" for e in example.splitlines()),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[self.common],
        )
        if func is not None:
            parser.set_defaults(func=func)
        return parser

    def group(self, name: str, summary: str, example: str) -> _Commands:
        parser = self.add(name, summary, example)
        return _Commands(parser.add_subparsers(dest="action", metavar="ACTION", required=True))


def _add_time_flags(parser: argparse.ArgumentParser, since_default: str | None = None) -> None:
    default = f" (default {since_default})" if since_default else ""
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=parse_time_ms,
        default=since_default,
        help=f"from this time: {TIME_FORMS}{default}",
    )
    parser.add_argument(
        "--until",
        metavar="WHEN",
        type=parse_time_ms,
        default=None,
        help="up to this time, same forms",
    )


def _add_where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--where",
        metavar="EXPR",
        type=parse_where,
        action="append",
        default=[],
        help=f"keep rows matching EXPR (repeatable, all must match): {WHERE_FORMS}",
    )


STREAM_HELP = "messages, llm_logs, tool_logs, events, tasks, cursors (see: pulsectl streams list)"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_flags(parser, top=True)
    parser.add_argument("--version", action=_VersionAction)
    cmds = _Commands(parser.add_subparsers(dest="command", metavar="COMMAND", title="commands"))

    cmds.add(
        "status",
        "show the daemon's version, store, provider, turns and today's spend",
        "pulsectl status\npulsectl status --json | jq .spent_today_usd",
        cmd_status,
    )

    p = cmds.add(
        "chat",
        "send a message to the agent and stream its answer",
        'pulsectl chat "summarise notes.md"\n'
        'pulsectl chat -s s-1234 "and now in French"\n'
        "git diff | pulsectl chat -\n"
        "pulsectl chat            # interactive session",
        cmd_chat,
        details=(
            "The answer streams to stdout; tool calls, approvals and the session id go to\n"
            "stderr. Without MESSAGE on a terminal it opens a prompt: /new starts a new\n"
            "session, /exit or Ctrl+D quits, Ctrl+C cancels the running turn. Tools whose\n"
            "policy is 'ask' are put to you on a terminal, approved with --yes, and\n"
            "denied otherwise."
        ),
    )
    p.add_argument("message", nargs="?", metavar="MESSAGE", help="the message; - reads stdin")
    p.add_argument("-s", "--session", default="", metavar="SESSION", help="continue this session")
    p.add_argument("-y", "--yes", action="store_true", help="approve every tool request")

    sessions = cmds.group(
        "sessions", "list conversations and show their history", "pulsectl sessions list"
    )
    p = sessions.add(
        "list",
        "list sessions, most recent first",
        "pulsectl sessions list --limit 10",
        cmd_sessions_list,
    )
    p.add_argument("--limit", type=positive_int, default=0, help="at most N sessions")
    p = sessions.add(
        "show",
        "show a session's messages, tool calls and errors",
        "pulsectl sessions show s-1234 --limit 50",
        cmd_sessions_show,
    )
    p.add_argument("session", metavar="SESSION", help="a session id from `pulsectl sessions list`")
    p.add_argument("--limit", type=positive_int, default=0, help="the most recent N rows")

    streams = cmds.group(
        "streams", "list, tail and query the agent's streams", "pulsectl streams list"
    )
    streams.add(
        "list",
        "list streams with their row count and last sequence number",
        "pulsectl streams list --json | jq '.[].columns'",
        cmd_streams_list,
    )
    p = streams.add(
        "tail",
        "print a stream's rows as they are appended, until Ctrl+C",
        "pulsectl streams tail messages --where message_type=error\n"
        "pulsectl streams tail llm_logs --from earliest --json",
        cmd_streams_tail,
    )
    p.add_argument("stream", metavar="STREAM", help=STREAM_HELP)
    _add_where(p)
    p.add_argument(
        "--from",
        dest="start",
        metavar="START",
        type=parse_start,
        default="latest",
        help="earliest (all stored rows), latest (only new rows; default) or SEQ (rows after it)",
    )
    p = streams.add(
        "query",
        "print a stream's stored rows, newest first unless --asc",
        "pulsectl streams query tool_logs --where tool=shell --since 7d\n"
        "pulsectl streams query llm_logs --where 'latency_ms>5000' --limit 20 --json",
        cmd_streams_query,
    )
    p.add_argument("stream", metavar="STREAM", help=STREAM_HELP)
    _add_where(p)
    _add_time_flags(p)
    p.add_argument("--limit", type=positive_int, default=0, help="at most N rows (default 100)")
    p.add_argument("--asc", action="store_true", help="oldest first")

    p = cmds.add(
        "costs",
        "summarise what the agent's LLM calls cost",
        "pulsectl costs --since 7d --by model\npulsectl costs --by day --json | jq .total.cost_usd",
        cmd_costs,
    )
    _add_time_flags(p, since_default="24h")
    p.add_argument(
        "--by",
        choices=("model", "hour", "day", "session", "origin", "provider"),
        default="",
        help="break the total down by this",
    )

    tasks = cmds.group("tasks", "manage scheduled tasks", "pulsectl tasks list")
    p = tasks.add(
        "add",
        "add a scheduled task",
        'pulsectl tasks add morning --schedule "0 9 * * *" --prompt "Summarise my inbox"\n'
        'pulsectl tasks add nudge --schedule "in 2h" --prompt "Remind me to stretch"\n'
        "pulsectl tasks add --preset heartbeat\n"
        'pulsectl tasks add --preset daily-briefing --schedule "30 7 * * 1-5" --tz Europe/Paris',
        cmd_tasks_add,
        details='SPEC: 5-field cron ("0 9 * * *"), "every 30m", "at 2026-12-01T09:00", "in 2h".\n'
        "Presets (off until added): heartbeat (every 30m, light; HEARTBEAT_OK answers are\n"
        "not delivered), daily-briefing (0 9 * * *), cost-alert (hourly, no LLM call).\n"
        "With --preset, NAME, --schedule and --prompt default to the preset's.",
    )
    p.add_argument("name", metavar="NAME", nargs="?", default="")
    p.add_argument("--schedule", default="", metavar="SPEC", help="when it runs")
    p.add_argument("--prompt", default="", metavar="TEXT", help="what the agent is asked")
    p.add_argument("--tz", default="", metavar="TZ", help="IANA zone (default: the daemon's)")
    p.add_argument(
        "--deliver-to", default="", metavar="TARGET", help="none | tui | <channel>:<target>"
    )
    p.add_argument("--disabled", action="store_true", help="add it switched off")
    p.add_argument(
        "--preset",
        choices=("heartbeat", "daily-briefing", "cost-alert"),
        default="",
        help="start from a preset; other flags override it",
    )
    _add_task_run_flags(p)
    tasks.add(
        "list",
        "list tasks with their schedule, next run (in the task's zone) and last run",
        "pulsectl tasks list",
        cmd_tasks_list,
    )
    for name, summary, func in (
        ("rm", "remove a task", cmd_tasks_rm),
        ("enable", "switch a task on", cmd_tasks_enable),
        ("disable", "switch a task off", cmd_tasks_disable),
        ("run", "run a task now, outside its schedule", cmd_tasks_run),
    ):
        p = tasks.add(name, summary, f"pulsectl tasks {name} morning", func)
        p.add_argument("name", metavar="NAME", help="the task's name")
    p = tasks.add(
        "history", "show a task's past runs", "pulsectl tasks history morning", cmd_tasks_history
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--limit", type=positive_int, default=0, help="the most recent N runs")
    p = tasks.add(
        "edit",
        "change a task's schedule, prompt, zone, delivery, catch-up or timeout",
        'pulsectl tasks edit morning --schedule "30 8 * * 1-5"',
        cmd_tasks_edit,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--schedule", metavar="SPEC")
    p.add_argument("--prompt", metavar="TEXT")
    p.add_argument("--tz", metavar="TZ")
    p.add_argument("--deliver-to", metavar="TARGET")
    _add_task_run_flags(p)

    channels_cmds.register(cmds)
    store_cmds.register(cmds)

    service = cmds.group(
        "service", "run pulsed as a systemd user service", "pulsectl service install"
    )
    p = service.add(
        "install",
        "write the systemd user unit, then enable and start it",
        "pulsectl service install --dry-run\npulsectl service install",
        cmd_service_install,
        details="The unit goes to $XDG_CONFIG_HOME/systemd/user/pulsed.service (default\n"
        "~/.config); PULSE_CONFIG, PULSE_DATA_DIR and PULSE_SOCKET are kept if set.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the unit and the commands only")
    service.add(
        "uninstall",
        "stop and disable the service and remove its unit",
        "pulsectl service uninstall",
        cmd_service_uninstall,
    )
    service.add(
        "status",
        "show the service as systemd sees it (exit 3 when not running)",
        "pulsectl service status",
        cmd_service_status,
    )
    return parser


# -- commands --------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        st = client.status()
    if args.json:
        output.json_doc(output.to_dict(st))
    else:
        output.line(output.render_status(st))
    for warning in output.status_warnings(st):
        diagnostics.warn(warning)
    return EXIT_OK


# chat


class Turn:
    """What a chat turn told us (a plain class: dataclasses would slow start-up)."""

    def __init__(self, session_id: str = "") -> None:
        self.session_id = session_id
        self.turn_id = ""
        self.streamed = False
        """Deltas were printed, so the final text need not be."""
        self.cancelling = False
        self.error: TurnFailed | None = None


class TurnRunner:
    """Runs chat turns: prints the answer, notes tool activity, answers approvals.

    Args:
        interactive: the person can answer approval requests on stdin.
        auto_yes: approve every request without asking.
        drain: on Ctrl+C, cancel the turn and keep reading until it ends (a second Ctrl+C
            abandons it); otherwise cancel it and re-raise at once.
    """

    def __init__(
        self,
        client: PulseClient,
        *,
        json_mode: bool,
        interactive: bool,
        auto_yes: bool,
        drain: bool,
    ) -> None:
        self.client = client
        self.json_mode = json_mode
        self.interactive = interactive
        self.auto_yes = auto_yes
        self.drain = drain

    def run(self, text: str, session_id: str = "") -> Turn:
        """Send ``text`` and follow the turn to its end."""
        turn = Turn(session_id=session_id)
        stream = self.client.send(
            text, session_id=session_id, interactive=self.interactive or self.auto_yes
        )
        while True:
            try:
                event = next(stream, None)
                if event is None:
                    break
                self._handle(event, turn, announce=not session_id)
            except KeyboardInterrupt:
                output.break_line_for_stderr()
                if self.drain and turn.turn_id and not turn.cancelling:
                    self._cancel(turn)
                    diagnostics.note("cancelling the turn… (Ctrl+C again to stop waiting)")
                    continue
                if turn.turn_id and not turn.cancelling:
                    self._cancel(turn)
                stream.cancel()
                raise
        if not self.json_mode:
            output.finish_line()
        return turn

    def _cancel(self, turn: Turn) -> None:
        turn.cancelling = True
        try:
            self.client.cancel(turn.turn_id)
        except ClientError as err:
            diagnostics.warn(f"could not cancel the turn: {err.message}")

    def _note(self, text: str) -> None:
        output.break_line_for_stderr()
        diagnostics.note(text)

    def _handle(self, event: chat_pb2.TurnEvent, turn: Turn, *, announce: bool) -> None:
        if self.json_mode:
            output.json_line(output.to_dict(event))
        if event.session_id and event.session_id != turn.session_id:
            turn.session_id = event.session_id
            if announce:
                self._note(f"session: {event.session_id}")
        turn.turn_id = event.turn_id or turn.turn_id
        kind = event.WhichOneof("event")
        if kind == "accepted" and event.accepted.queued_behind:
            self._note(f"queued behind {event.accepted.queued_behind} turn(s)")
        elif kind == "delta":
            if not self.json_mode:
                output.write(event.delta.text)
            turn.streamed = True
        elif kind == "tool_call":
            call = event.tool_call
            self._note(output.tool_call_note(call.name, call.arguments_json, _note_width()))
        elif kind == "tool_result":
            res = event.tool_result
            self._note(
                output.tool_result_note(res.status, res.duration_ms, res.preview, _note_width())
            )
        elif kind == "approval_request":
            self._approve(event.approval_request)
        elif kind == "final":
            if not self.json_mode and not turn.streamed:
                output.write(event.final.text)
            usage = event.final.usage
            if usage.llm_calls:
                self._note(
                    f"· {output.tokens(usage.input_tokens)} in, "
                    f"{output.tokens(usage.output_tokens)} out, {output.money(usage.cost_usd)}"
                )
        elif kind == "error":
            turn.error = TurnFailed(event.error.code, event.error.message)

    def _approve(self, req: chat_pb2.ApprovalRequest) -> None:
        args = output.truncate(output.one_line(req.arguments_json), 200)
        if self.auto_yes:
            approved = True
            self._note(f"approved {req.tool} (--yes)")
        elif self.interactive:
            output.break_line_for_stderr()
            wait = f" ({req.timeout_s:.0f}s to answer)" if req.timeout_s else ""
            approved = diagnostics.confirm(f"allow {req.tool} {args}?{wait}")
        else:
            approved = False
        try:
            self.client.approve(req.request_id, approved)
        except ClientError as err:
            diagnostics.warn(f"the answer was not taken: {err.message}")


def _note_width() -> int:
    return max(40, output.terminal_width() - 1)


def _read_stdin_message() -> str:
    text = sys.stdin.read().strip()
    if not text:
        raise UsageError("empty message on stdin", "example: echo 'hello' | pulsectl chat -")
    return text


def cmd_chat(args: argparse.Namespace) -> int:
    message: str | None = args.message
    stdin_tty = sys.stdin.isatty()
    if message == "-" or (message is None and not stdin_tty):
        message = _read_stdin_message()
    elif message is not None and not message.strip():
        raise UsageError("empty message", 'example: pulsectl chat "hello"')
    with _client(args) as client:
        runner = TurnRunner(
            client,
            json_mode=args.json,
            interactive=stdin_tty,
            auto_yes=args.yes,
            drain=message is None,
        )
        if message is None:
            return _chat_loop(runner, args.session)
        turn = runner.run(message, args.session)
    if turn.error is not None:
        raise turn.error
    return EXIT_OK


CHAT_HELP = "/new starts a new session, /exit or Ctrl+D quits, Ctrl+C cancels a turn"


def _chat_loop(runner: TurnRunner, session_id: str) -> int:
    """The interactive prompt: one session until /new, history kept across runs."""
    history = _load_history()
    diagnostics.note(
        f"chatting with pulsed{f' in session {session_id}' if session_id else ''}; {CHAT_HELP}"
    )
    try:
        while True:
            try:
                text = diagnostics.read_line("> ").strip()
            except EOFError:
                diagnostics.end_line()
                return EXIT_OK
            except KeyboardInterrupt:
                diagnostics.end_line()
                continue
            if not text:
                continue
            if text in ("/exit", "/quit"):
                return EXIT_OK
            if text == "/new":
                session_id = ""
                diagnostics.note("the next message starts a new session")
                continue
            if text == "/help":
                diagnostics.note(CHAT_HELP)
                continue
            if re.fullmatch(r"/\w+", text):
                diagnostics.note(f"unknown command {text}; {CHAT_HELP}")
                continue
            try:
                turn = runner.run(text, session_id)
            except KeyboardInterrupt:
                diagnostics.note("stopped waiting for the turn")
                continue
            except ServerError as err:
                diagnostics.report(err)
                continue
            session_id = turn.session_id or session_id
            if turn.error is not None:
                if turn.cancelling and turn.error.code == "cancelled":
                    diagnostics.note("cancelled")
                else:
                    diagnostics.report(turn.error)
    finally:
        _save_history(history)


def _load_history() -> Path | None:
    try:
        import readline
    except ImportError:
        return None
    from pulse.paths import client_data_dir

    path = Path(client_data_dir()) / "chat_history"
    readline.set_history_length(1000)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    try:
        readline.write_history_file(path)
        os.chmod(path, 0o600)
    except OSError:
        pass


# sessions


def cmd_sessions_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        sessions = client.list_sessions(args.limit).sessions
    if args.json:
        output.json_doc([output.to_dict(s) for s in sessions])
    elif sessions:
        output.line(output.render_sessions(sessions, output.terminal_width()))
    else:
        diagnostics.note('no sessions yet; start one with: pulsectl chat "hello"')
    return EXIT_OK


def cmd_sessions_show(args: argparse.Namespace) -> int:
    with _client(args) as client:
        rows = client.history(args.session, args.limit).rows
    if args.json:
        output.json_doc([output.row_dict(r) for r in rows])
    elif rows:
        output.line(output.render_history(rows, output.terminal_width()))
    else:
        diagnostics.note(f"no messages in session {args.session}")
    return EXIT_OK


# streams


def cmd_streams_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        streams = client.list_streams().streams
    if args.json:
        output.json_doc([output.to_dict(s) for s in streams])
    else:
        output.line(output.render_streams(streams, output.terminal_width()))
    return EXIT_OK


def cmd_streams_tail(args: argparse.Namespace) -> int:
    width = output.stream_width()
    with _client(args) as client:
        stream = client.tail(args.stream, args.where, start=args.start)
        try:
            for batch in stream:
                for row in batch.rows:
                    _print_row(args, output.row_dict(row), width)
        except KeyboardInterrupt:
            stream.cancel()
            return EXIT_OK
    diagnostics.note("the daemon ended the tail")
    return EXIT_OK


def _print_row(args: argparse.Namespace, row: dict[str, object], width: int | None) -> None:
    if args.json:
        output.json_line(row)
    else:
        output.line(output.render_row(args.stream, row, width))


def cmd_streams_query(args: argparse.Namespace) -> int:
    with _client(args) as client:
        rows = client.query(
            args.stream,
            args.where,
            since_ms=args.since or 0,
            until_ms=args.until or 0,
            order="asc" if args.asc else "desc",
            limit=args.limit,
        ).rows
    if args.json:
        output.json_doc([output.row_dict(r) for r in rows])
        return EXIT_OK
    width = output.stream_width()
    for row in rows:
        output.line(output.render_row(args.stream, output.row_dict(row), width))
    if not rows:
        diagnostics.note("no rows match")
    return EXIT_OK


# costs


def cmd_costs(args: argparse.Namespace) -> int:
    with _client(args) as client:
        summary = client.cost_summary(
            since_ms=args.since or 0, until_ms=args.until or 0, by=args.by
        )
    if args.json:
        output.json_doc(output.to_dict(summary))
    else:
        output.line(output.render_costs(summary, args.by, output.terminal_width()))
    return EXIT_OK


# tasks


def _print_task(args: argparse.Namespace, task: tasks_pb2.Task) -> None:
    if args.json:
        output.json_doc(output.to_dict(task))
    else:
        output.line(output.render_task(task))


def timeout_seconds(text: str) -> float:
    """A run timeout: seconds (``90``) or a duration (``90s``, ``15m``, ``2h``); 0 means
    the daemon's default.

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        value = float(text)
    except ValueError:
        try:
            value = parse_duration(text)
        except ValueError:
            value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected seconds or a duration such as 90s, 15m or 2h, got {text!r}"
        )
    return value


def _add_task_run_flags(p: argparse.ArgumentParser) -> None:
    catch_up = p.add_mutually_exclusive_group()
    catch_up.add_argument(
        "--catch-up",
        dest="catch_up",
        action="store_const",
        const=True,
        default=None,
        help="run once at start-up if its time passed while the daemon was down (default)",
    )
    catch_up.add_argument(
        "--no-catch-up",
        dest="catch_up",
        action="store_const",
        const=False,
        help="skip times missed while the daemon was down",
    )
    p.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=None,
        metavar="SECONDS",
        help="stop a run after this long (e.g. 300, 5m; 0: the daemon's [scheduler] default)",
    )


def cmd_tasks_add(args: argparse.Namespace) -> int:
    if not args.preset:
        missing = [
            flag
            for flag, value in (
                ("NAME", args.name),
                ("--schedule", args.schedule),
                ("--prompt", args.prompt),
            )
            if not value
        ]
        if missing:
            raise UsageError(
                f"{', '.join(missing)} required (or start from a preset with --preset)",
                "usage: pulsectl tasks add NAME --schedule SPEC --prompt TEXT [options], "
                "or: pulsectl tasks add --preset heartbeat|daily-briefing|cost-alert",
            )
    from pulsectl.client.core import new_task

    task = new_task(
        args.name,
        schedule=args.schedule,
        prompt=args.prompt,
        timezone=args.tz,
        deliver_to=args.deliver_to,
        enabled=not args.disabled,
        catch_up=args.catch_up,
        timeout_s=args.timeout or 0.0,
        preset=args.preset,
    )
    with _client(args) as client:
        task = client.add_task(task)
    _print_task(args, task)
    return EXIT_OK


def cmd_tasks_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        tasks = client.list_tasks().tasks
    if args.json:
        output.json_doc([output.to_dict(t) for t in tasks])
    elif tasks:
        output.line(output.render_tasks(tasks, output.terminal_width()))
    else:
        diagnostics.note(
            "no tasks; add one with: pulsectl tasks add NAME --schedule ... --prompt ..."
        )
    return EXIT_OK


def cmd_tasks_rm(args: argparse.Namespace) -> int:
    with _client(args) as client:
        client.remove_task(args.name)
    if args.json:
        output.json_doc({"removed": args.name})
    else:
        diagnostics.note(f"removed task {args.name}")
    return EXIT_OK


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    with _client(args) as client:
        task = client.set_task_enabled(args.name, enabled)
    if args.json:
        output.json_doc(output.to_dict(task))
    else:
        state = "enabled" if task.enabled else "disabled"
        nxt = (
            f", next run {output.task_time(task.next_run, task.timezone)}"
            if task.enabled and task.next_run
            else ""
        )
        output.line(f"{task.name}: {state}{nxt}")
    return EXIT_OK


def cmd_tasks_enable(args: argparse.Namespace) -> int:
    return _set_enabled(args, True)


def cmd_tasks_disable(args: argparse.Namespace) -> int:
    return _set_enabled(args, False)


def cmd_tasks_run(args: argparse.Namespace) -> int:
    with _client(args) as client:
        started = client.run_task(args.name)
    if args.json:
        output.json_doc(output.to_dict(started))
    else:
        output.line(f"{args.name}: started, message {started.message_id}")
        if started.session_id:
            diagnostics.note(f"follow it with: pulsectl sessions show {started.session_id}")
    return EXIT_OK


def cmd_tasks_history(args: argparse.Namespace) -> int:
    with _client(args) as client:
        runs = client.task_history(args.name, args.limit).runs
    if args.json:
        output.json_doc([output.to_dict(r) for r in runs])
    elif runs:
        output.line(output.render_task_runs(runs, output.terminal_width()))
    else:
        diagnostics.note(f"task {args.name} has not run yet")
    return EXIT_OK


def cmd_tasks_edit(args: argparse.Namespace) -> int:
    changes = {
        "schedule": args.schedule,
        "prompt": args.prompt,
        "timezone": args.tz,
        "deliver_to": args.deliver_to,
        "catch_up": args.catch_up,
        "timeout_s": args.timeout,
    }
    if all(v is None for v in changes.values()):
        raise UsageError(
            "nothing to change: give --schedule, --prompt, --tz, --deliver-to, "
            "--catch-up/--no-catch-up or --timeout",
            f'example: pulsectl tasks edit {args.name} --schedule "0 9 * * *"',
        )
    with _client(args) as client:
        task = client.update_task(args.name, **changes)
    _print_task(args, task)
    return EXIT_OK


# service


def cmd_service_install(args: argparse.Namespace) -> int:
    from pulsectl import service

    plan = service.install_plan()
    _warn_running_daemon(args)
    if args.dry_run:
        if args.json:
            output.json_doc(
                {"unit_path": str(plan.path), "unit": plan.unit, "commands": plan.commands}
            )
        else:
            output.line(f"# {plan.path}")
            output.write(plan.unit)
            output.line("")
            output.line("# then:")
            for argv in plan.commands:
                output.line(" ".join(argv))
        return EXIT_OK
    service.install(plan, diagnostics.note)
    if args.json:
        output.json_doc({"unit_path": str(plan.path), "installed": True})
    diagnostics.note("pulsed runs as a user service; logs: journalctl --user -u pulsed.service")
    return EXIT_OK


def _warn_running_daemon(args: argparse.Namespace) -> None:
    """Warn when a daemon already answers on the socket: the service's own pulsed cannot
    start while it runs (unless it is the service itself)."""
    from pulsectl.client.daemon import probe
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


def cmd_service_uninstall(args: argparse.Namespace) -> int:
    from pulsectl import service

    service.uninstall(diagnostics.note)
    if args.json:
        output.json_doc({"unit_path": str(service.unit_path()), "installed": False})
    return EXIT_OK


def cmd_service_status(args: argparse.Namespace) -> int:
    from pulsectl import service

    st = service.status()
    if args.json:
        output.json_doc(
            {
                "unit_path": str(st.unit_path),
                "installed": st.installed,
                "active": st.active,
                "enabled": st.enabled,
            }
        )
    elif st.text:
        output.write(st.text)
        output.finish_line()
    if not st.installed:
        raise CliError(
            f"pulsed.service is not installed (no {st.unit_path})",
            "install it with: pulsectl service install",
        )
    return EXIT_OK if st.active == "active" else diagnostics.EXIT_UNREACHABLE


# -- entry point -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run pulsectl and return its exit code."""
    # Without XDG_RUNTIME_DIR, platformdirs picks /tmp/runtime-$UID for the socket (as the
    # daemon does) and warns about it in a traceback-like format; errors name the socket.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # "…" and "→" on a non-UTF-8 terminal
            stream.reconfigure(errors="replace")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        diagnostics.usage(parser.format_help())
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        output.break_line_for_stderr()
        return diagnostics.EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush
        # from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except ClientError as err:
        return diagnostics.report(err)


if __name__ == "__main__":
    sys.exit(main())
