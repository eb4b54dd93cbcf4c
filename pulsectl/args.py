"""pulsectl's command line: the argparse tree.

``build_parser`` makes the whole tree; each leaf command's ``func`` default is the
``cmd_*`` function of its group in ``pulsectl.commands`` that runs it (imported when it
runs, ``_Lazy``), called with the parsed arguments and the run's ``Output``. The types of
argument values (``parse_where``, ``parse_time_ms``, ...) are in ``pulsectl.argtypes``;
they raise ``argparse.ArgumentTypeError``, which argparse reports as a usage error
(exit 2). Nothing here imports grpc.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from pulsectl import diagnostics, output
from pulsectl.argtypes import (
    TIME_FORMS,
    WHERE_FORMS,
    parse_start,
    parse_time_ms,
    parse_where,
    positive_int,
    timeout_seconds,
    usd_amount,
)
from pulsectl.commands import init, memory

PROG = "pulsectl"

Command = Callable[[argparse.Namespace, output.Output], int]
"""A leaf command: the parsed arguments and the run's stdout in, the exit code out."""


class _Lazy:
    """A commands module imported only when one of its commands runs: ``_Lazy(name).cmd_x``
    is a Command that imports ``pulsectl.commands.<name>`` on call, so a run of pulsectl
    loads just the module of the command it runs (doctor's checks, backup's SQLite...)."""

    def __init__(self, name: str) -> None:
        self._module = f"pulsectl.commands.{name}"

    def __getattr__(self, attr: str) -> Command:
        module = self._module

        def run(args: argparse.Namespace, out: output.Output) -> int:
            import importlib

            func: Command = getattr(importlib.import_module(module), attr)
            return func(args, out)

        run.__qualname__ = run.__name__ = attr
        run.__module__ = module
        return run


backup = _Lazy("backup")
channels = _Lazy("channels")
chat = _Lazy("chat")
context = _Lazy("context")
costs = _Lazy("costs")
daemonctl = _Lazy("daemonctl")
doctor = _Lazy("doctor")
ingest = _Lazy("ingest")
mcp = _Lazy("mcp")
service = _Lazy("service")
sessions = _Lazy("sessions")
skills = _Lazy("skills")
status = _Lazy("status")
store = _Lazy("store")
streams = _Lazy("streams")
tasks = _Lazy("tasks")


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
        output.Output().line(f"{PROG} {version()}")
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
        func: Command | None = None,
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


STREAMS = ("messages", "llm_logs", "tool_logs", "events", "tasks", "cursors", "ingest", "memory")
STREAM_HELP = (
    "messages, llm_logs, tool_logs, events, tasks, cursors, ingest, memory (see: pulsectl "
    "streams list)"
)


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
    p.add_argument(
        "--budget",
        type=usd_amount,
        default=None,
        metavar="USD",
        help="most one run may spend on LLM calls, e.g. 0.05 (0: no per-run cap; the "
        "daemon's [budget] caps apply anyway)",
    )


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
    for add in (
        _add_status,
        _add_daemonctl,
        _add_chat,
        _add_sessions,
        _add_streams,
        _add_costs,
        _add_context,
        _add_tasks,
        _add_channels,
        _add_skills,
        _add_mcp,
        _add_store,
        _add_ingest,
        _add_service,
        memory.register,
        _add_doctor,
        _add_init,
    ):
        add(cmds)
    return parser


def _add_doctor(cmds: _Commands) -> None:
    """``doctor``."""
    p = cmds.add(
        "doctor",
        "check the config, this machine and the daemon; say how to fix what is wrong",
        "pulsectl doctor\npulsectl doctor --network\n"
        "pulsectl doctor --json | jq '.[] | select(.status != \"ok\")'",
        doctor.cmd_doctor,
        details="Each check is ok, warn or fail, with a one-line fix. With the daemon down\n"
        "only the static checks run (config, keys, permissions, disk, systemd, time zone);\n"
        "doctor never starts a daemon. Exit 1 when a check fails.",
    )
    p.add_argument(
        "--network",
        action="store_true",
        help="also ask the provider's endpoint for its models (no tokens spent) and check "
        "channel tokens (Telegram getMe, Slack auth.test)",
    )


def _add_init(cmds: _Commands) -> None:
    """``init``."""
    p = cmds.add(
        "init",
        "write a first config.toml (and SOUL.md, USER.md templates) by asking a few questions",
        "pulsectl init\npulsectl init --non-interactive --provider anthropic "
        "--key-env ANTHROPIC_API_KEY",
        init.cmd_init,
        details="The key is written as ${VAR} (read from the environment when the daemon\n"
        "starts), never the key itself unless you type it. The file is 0600; an existing\n"
        "one is kept unless --force. SOUL.md and USER.md are never overwritten.",
    )
    p.add_argument("--non-interactive", action="store_true", help="ask nothing; use the flags")
    p.add_argument("--force", action="store_true", help="overwrite an existing config.toml")
    p.add_argument("--config", metavar="PATH", help="where to write (default: $PULSE_CONFIG)")
    p.add_argument("--provider", choices=init.PROVIDERS, help="the LLM provider")
    p.add_argument("--model", default="", help="model id (default: the provider's)")
    p.add_argument("--base-url", default="", metavar="URL", help="endpoint (openai-compatible)")
    p.add_argument("--key-env", default="", metavar="VAR", help="variable holding the API key")
    p.add_argument("--workspace", default="", metavar="DIR", help="the agent's workspace folder")
    p.add_argument(
        "--telegram-token-env", default="", metavar="VAR", help="variable holding a bot token"
    )


def _add_daemonctl(cmds: _Commands) -> None:
    """``stop`` and ``restart``."""
    for name, what, func in (
        ("stop", "stop the daemon gracefully and wait until it is gone", daemonctl.cmd_stop),
        (
            "restart",
            "stop the daemon, start it again and wait until it serves",
            daemonctl.cmd_restart,
        ),
    ):
        p = cmds.add(
            name,
            what,
            f"pulsectl {name}\npulsectl {name} --timeout 60",
            func,
            details="Exit 0 when done, 3 when no daemon was running (stop). A daemon that\n"
            "systemd runs (pulsectl service install) is stopped/restarted through systemctl.",
        )
        p.add_argument(
            "--timeout",
            type=timeout_seconds,
            default=30.0,
            metavar="SECONDS",
            help="how long to wait for it to finish running turns and exit (default 30)",
        )


def _add_status(cmds: _Commands) -> None:
    """``status``."""
    cmds.add(
        "status",
        "show the daemon's version, store, provider, turns and today's spend",
        "pulsectl status\npulsectl status --json | jq .spent_today_usd",
        status.cmd_status,
    )


def _add_chat(cmds: _Commands) -> None:
    """``chat``."""
    p = cmds.add(
        "chat",
        "send a message to the agent and stream its answer",
        'pulsectl chat "summarise notes.md"\n'
        'pulsectl chat -s s-1234 "and now in French"\n'
        "git diff | pulsectl chat -\n"
        "pulsectl chat            # interactive session",
        chat.cmd_chat,
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
    p.add_argument(
        "-m",
        "--model",
        default="",
        metavar="[PROVIDER:]MODEL",
        help="use this model for the session from now on (other sessions keep theirs)",
    )


def _add_sessions(cmds: _Commands) -> None:
    """``sessions list | show | export | rm``."""
    group = cmds.group(
        "sessions", "list conversations and show their history", "pulsectl sessions list"
    )
    p = group.add(
        "list",
        "list sessions, most recent first",
        "pulsectl sessions list --limit 10",
        sessions.cmd_list,
    )
    p.add_argument("--limit", type=positive_int, default=0, help="at most N sessions")
    p.add_argument("--all", action="store_true", help="removed sessions too, marked (removed)")
    p = group.add(
        "show",
        "show a session's messages, tool calls and errors",
        "pulsectl sessions show s-1234 --limit 50",
        sessions.cmd_show,
    )
    p.add_argument("session", metavar="SESSION", help="a session id from `pulsectl sessions list`")
    p.add_argument("--limit", type=positive_int, default=0, help="the most recent N rows")
    p = group.add(
        "export",
        "write a session out as Markdown (tool calls folded) or as its JSONL rows",
        "pulsectl sessions export s-1234 -o chat.md\n"
        "pulsectl sessions export s-1234 --format jsonl | jq .message_type",
        sessions.cmd_export,
    )
    p.add_argument("session", metavar="SESSION", help="a session id from `pulsectl sessions list`")
    p.add_argument("--format", choices=("md", "jsonl"), default="md", help="md (default) | jsonl")
    p.add_argument("-o", "--output", default="", metavar="FILE", help="write here (default stdout)")
    p = group.add(
        "rm",
        "remove a session from the lists; --purge deletes its rows (local store)",
        "pulsectl sessions rm s-1234\npulsectl sessions rm s-1234 --purge --yes --json",
        sessions.cmd_rm,
        details="Without --purge the session is hidden from `sessions list` and the console\n"
        "(stored as a session_removed event; its rows stay, `sessions show` still works)\n"
        "until it is written to again. --purge also deletes its messages, tool log rows\n"
        "and the events naming it, in one transaction, after a confirmation (--yes\n"
        "skips it; without a terminal --yes is required). Memories learnt in it stay;\n"
        "its llm_logs rows stay with their message previews blanked, so costs and the\n"
        "budget caps keep counting the money spent. Refused while a turn of the\n"
        "session runs, and --purge on the Timeplus backend (append-only streams).",
    )
    p.add_argument("session", metavar="SESSION", help="a session id from `pulsectl sessions list`")
    p.add_argument(
        "--purge", action="store_true", help="also delete its rows (local backend; asks first)"
    )
    p.add_argument("-y", "--yes", action="store_true", help="purge without asking")


def _add_streams(cmds: _Commands) -> None:
    """``streams list | tail | query``."""
    group = cmds.group(
        "streams", "list, tail and query the agent's streams", "pulsectl streams list"
    )
    group.add(
        "list",
        "list streams with their row count and last sequence number",
        "pulsectl streams list --json | jq '.[].columns'",
        streams.cmd_list,
    )
    p = group.add(
        "tail",
        "print a stream's rows as they are appended, until Ctrl+C",
        "pulsectl streams tail messages --where message_type=error\n"
        "pulsectl streams tail llm_logs --from earliest --json",
        streams.cmd_tail,
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
    p = group.add(
        "query",
        "print a stream's stored rows, newest first unless --asc",
        "pulsectl streams query tool_logs --where tool=shell --since 7d\n"
        "pulsectl streams query llm_logs --where 'latency_ms>5000' --limit 20 --json",
        streams.cmd_query,
        details="Rows print as a table under the stream's column names, which are the names\n"
        "--where takes (a stream's columns: pulsectl streams list --json). For rows as\n"
        "they arrive: pulsectl streams tail STREAM; for SQL over the streams (Timeplus\n"
        "backend only): pulsectl sql.",
    )
    p.add_argument("stream", metavar="STREAM", help=STREAM_HELP)
    _add_where(p)
    _add_time_flags(p)
    p.add_argument("--limit", type=positive_int, default=0, help="at most N rows (default 100)")
    p.add_argument("--asc", action="store_true", help="oldest first")


def _add_context(cmds: _Commands) -> None:
    """``context``."""
    p = cmds.add(
        "context",
        "show what the next turn's prompt of a session is made of, in tokens and dollars",
        "pulsectl context\npulsectl context -s s-1234 --json | jq '.parts[] | [.name, .tokens]'",
        context.cmd_context,
        details=(
            "Each part of the prompt (system prompt, each tool's schema, MCP servers,\n"
            "identity files, skills index, memories, history, the new message) with its\n"
            "estimated tokens and dollars per turn at the session model's input price, and\n"
            "the model's context window. Without -s: the most recently active session."
        ),
    )
    p.add_argument("-s", "--session", default="", metavar="SESSION", help="the session")
    p.add_argument("--text", default="", help="count this as the next message")


def _add_costs(cmds: _Commands) -> None:
    """``costs``."""
    p = cmds.add(
        "costs",
        "summarise what the agent's LLM calls cost",
        "pulsectl costs --since 7d --by model\npulsectl costs --by day --json | jq .total.cost_usd",
        costs.cmd_costs,
    )
    _add_time_flags(p, since_default="24h")
    p.add_argument(
        "--by",
        choices=("model", "hour", "day", "session", "origin", "provider"),
        default="",
        help="break the total down by this",
    )


def _add_tasks(cmds: _Commands) -> None:
    """``tasks add | list | show | preview | rm | enable | disable | run | history | edit``."""
    group = cmds.group("tasks", "manage scheduled tasks and stream triggers", "pulsectl tasks list")
    p = group.add(
        "add",
        "add a scheduled task or a stream trigger",
        'pulsectl tasks add morning --schedule "0 9 * * *" --prompt "Summarise my inbox"\n'
        'pulsectl tasks add nudge --schedule "in 2h" --prompt "Remind me to stretch"\n'
        "pulsectl tasks add prs --on ingest --where source=webhook:github \\\n"
        '    --where payload.action=opened --batch 30s --prompt "Review these pull requests"\n'
        "pulsectl tasks add --preset heartbeat\n"
        'pulsectl tasks add --preset daily-briefing --schedule "30 7 * * 1-5" --tz Europe/Paris',
        tasks.cmd_add,
        details='SPEC: 5-field cron ("0 9 * * *"), "every 30m", "at 2026-12-01T09:00", "in 2h".\n'
        "Presets (off until added): heartbeat (every 30m, light; HEARTBEAT_OK answers are\n"
        "not delivered), daily-briefing (0 9 * * *), cost-alert (hourly, no LLM call).\n"
        "With --preset, NAME, --schedule and --prompt default to the preset's.\n"
        "A stream trigger (--on) runs once per matching row that arrives, with the row(s)\n"
        "as JSON after the prompt; rows arriving while a run goes on wait for the next.",
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
    _add_trigger_flags(p)
    _add_task_run_flags(p)
    group.add(
        "list",
        "list tasks with their schedule, next run (in the task's zone) and last run",
        "pulsectl tasks list",
        tasks.cmd_list,
    )
    p = group.add(
        "show",
        "show one task in full: schedule, zone, next and last run, options",
        "pulsectl tasks show morning\npulsectl tasks show morning --json | jq -r .next_run",
        tasks.cmd_show,
    )
    p.add_argument("name", metavar="NAME", help="the task's name")
    p = group.add(
        "preview",
        "show the next runs of a schedule without adding a task",
        'pulsectl tasks preview "every 20s" --count 5\n'
        'pulsectl tasks preview "30 7 * * 1-5" --tz Europe/Paris',
        tasks.cmd_preview,
        details='SPEC: 5-field cron ("0 9 * * *"), "every 30m", "at 2026-12-01T09:00", "in 2h",\n'
        '"on STREAM" (then: the newest stored rows of the stream).',
    )
    p.add_argument("spec", metavar="SPEC", help="the schedule")
    p.add_argument("--tz", default="", metavar="TZ", help="IANA zone (default: the daemon's)")
    p.add_argument("--count", type=positive_int, default=3, help="how many runs (default 3)")
    for name, summary, func in (
        ("rm", "remove a task", tasks.cmd_rm),
        ("enable", "switch a task on", tasks.cmd_enable),
        ("disable", "switch a task off", tasks.cmd_disable),
        ("run", "run a task now, outside its schedule", tasks.cmd_run),
    ):
        p = group.add(name, summary, f"pulsectl tasks {name} morning", func)
        p.add_argument("name", metavar="NAME", help="the task's name")
    p = group.add(
        "history", "show a task's past runs", "pulsectl tasks history morning", tasks.cmd_history
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--limit", type=positive_int, default=0, help="the most recent N runs")
    p = group.add(
        "edit",
        "change a task's schedule, prompt, zone, delivery, catch-up, timeout or trigger",
        'pulsectl tasks edit morning --schedule "30 8 * * 1-5"',
        tasks.cmd_edit,
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--schedule", metavar="SPEC")
    p.add_argument("--prompt", metavar="TEXT")
    p.add_argument("--tz", metavar="TZ")
    p.add_argument("--deliver-to", metavar="TARGET")
    _add_trigger_flags(p)
    _add_task_run_flags(p)
    p = group.add(
        "test",
        "tell whether a row would fire a stream trigger, and the prompt its run would get",
        'pulsectl tasks test prs --payload \'{"action": "opened"}\'',
        tasks.cmd_test,
        details="Nothing is stored or run. For a trigger on ingest, JSON is the row's\n"
        "payload (or an object of ingest columns); for other streams, the row's columns.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--payload", required=True, metavar="JSON", help="the row to test")


def _add_trigger_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--on", default="", metavar="STREAM", help=f"a stream trigger on STREAM: {STREAM_HELP}"
    )
    p.add_argument(
        "--sql",
        default="",
        metavar="QUERY",
        help="Timeplus backend: a trigger on a streaming SELECT instead of --on/--where; "
        "every result row fires (e.g. \"SELECT * FROM ingest WHERE source = 'sensor'\"); "
        "a plain SELECT of one stream resumes where it left off, others start from the "
        "latest rows",
    )
    p.add_argument(
        "--where",
        metavar="EXPR",
        type=parse_where,
        action="append",
        default=[],
        help=f"with --on: fire only on rows matching EXPR (repeatable, all must match): "
        f"{WHERE_FORMS}; a column may be a path into a JSON column (payload.action=opened)",
    )
    p.add_argument(
        "--batch",
        type=timeout_seconds,
        default=None,
        metavar="DURATION",
        help="with --on: gather rows arriving within DURATION (30s, 5m) into one run",
    )
    p.add_argument(
        "--max-runs-per-hour",
        type=positive_int,
        default=None,
        metavar="N",
        help="with --on: at most N runs per hour",
    )
    p.add_argument(
        "--overflow",
        choices=("queue", "drop"),
        default=None,
        help="with --on, over the limit: rows wait for the next run (queue, default) or are "
        "dropped with a trigger_dropped event",
    )


def _add_ingest(cmds: _Commands) -> None:
    """``ingest``."""
    p = cmds.add(
        "ingest",
        "append rows to the ingest stream (stream triggers consume them)",
        'pulsectl ingest --source ci --kind build --payload \'{"status": "failed"}\'\n'
        "jq -c '.items[]' export.json | pulsectl ingest --source export",
        ingest.cmd_ingest,
        details="Without --payload, each line of stdin is one JSON value, one row; lines that\n"
        "are not JSON are reported with their number and skipped, the others are stored\n"
        "(exit 1 when a line was bad). Rows are durable when the command returns. A row\n"
        "whose --dedupe-key was seen before is dropped (counted as a duplicate).",
    )
    p.add_argument("--source", required=True, metavar="NAME", help="where the rows come from")
    p.add_argument("--kind", default="", metavar="KIND", help="what the rows are")
    p.add_argument("--payload", default=None, metavar="JSON", help="one row's payload")
    p.add_argument(
        "--dedupe-key", default="", metavar="KEY", help="drop the row if KEY was seen before"
    )
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="a tag (repeatable)")


def _add_service(cmds: _Commands) -> None:
    """``service install | uninstall | status | logs``."""
    group = cmds.group(
        "service", "run pulsed as a systemd user service", "pulsectl service install"
    )
    p = group.add(
        "install",
        "write the systemd user unit, then enable and start it",
        "pulsectl service install --dry-run\npulsectl service install",
        service.cmd_install,
        details="The unit goes to $XDG_CONFIG_HOME/systemd/user/pulsed.service (default\n"
        "~/.config); PULSE_CONFIG, PULSE_DATA_DIR and PULSE_SOCKET are kept if set.",
    )
    p.add_argument("--dry-run", action="store_true", help="print the unit and the commands only")
    group.add(
        "uninstall",
        "stop and disable the service and remove its unit",
        "pulsectl service uninstall",
        service.cmd_uninstall,
    )
    group.add(
        "status",
        "show the service as systemd sees it (exit 3 when not running)",
        "pulsectl service status",
        service.cmd_status,
    )
    p = group.add(
        "logs",
        "show the service's journal (journalctl --user -u pulsed.service)",
        "pulsectl service logs -f\npulsectl service logs -n 200",
        service.cmd_logs,
    )
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("-n", "--lines", type=positive_int, default=50, help="how many lines (50)")


def _add_channels(cmds: _Commands) -> None:
    """``channels list | status | approve``."""
    group = cmds.group(
        "channels",
        "show the Telegram and Slack channels, approve pairings",
        "pulsectl channels list",
    )
    group.add(
        "list",
        "list the channels with their state and outbox",
        "pulsectl channels list\npulsectl channels list --json | jq '.[].state'",
        channels.cmd_list,
    )
    p = group.add(
        "status",
        "show a channel's state, errors and failed deliveries",
        "pulsectl channels status\npulsectl channels status telegram",
        channels.cmd_status,
    )
    p.add_argument("name", metavar="NAME", nargs="?", default="", help="telegram or slack")
    p = group.add(
        "approve",
        "admit the person who received a pairing code",
        "pulsectl channels approve K7QX2M",
        channels.cmd_approve,
        details="With [channels.<name>] pairing = true, a person the bot does not know gets a\n"
        "code; approving it lets them talk to the agent (kept across restarts).",
    )
    p.add_argument("code", metavar="CODE")


def _add_skills(cmds: _Commands) -> None:
    """``skills list | show | check``."""
    group = cmds.group(
        "skills",
        "show the agent's SKILL.md skills: which are in its prompt, which are not and why",
        "pulsectl skills check",
    )
    group.add(
        "list",
        "list every skill found with its state (available, unavailable, invalid, disabled)",
        "pulsectl skills list\npulsectl skills list --json | jq -r '.[] | select(.state == "
        '"available") | .name\'',
        skills.cmd_list,
        details="Skills come from the bundled set, skills/ in the config dir and skills/ in\n"
        "the workspace; a workspace skill replaces a same-named one of the person, which\n"
        "replaces a bundled one. [skills] disabled leaves names out.",
    )
    p = group.add(
        "show",
        "show one skill: its fields, requirements, files and instructions",
        "pulsectl skills show git-github\npulsectl skills show git-github --json | jq .files",
        skills.cmd_show,
    )
    p.add_argument("name", metavar="NAME", help="the skill's name (see: pulsectl skills list)")
    group.add(
        "check",
        "say what is available, what is missing and why; exit 1 if a SKILL.md is invalid",
        "pulsectl skills check\npulsectl skills check --json | jq .unavailable",
        skills.cmd_check,
        details="Unmet requirements (a binary not on PATH, an unset variable, another OS)\n"
        "keep a skill out of the prompt but are not an error; an invalid SKILL.md is.",
    )


def _add_mcp(cmds: _Commands) -> None:
    """``mcp list | probe``."""
    group = cmds.group(
        "mcp",
        "show the MCP servers and their tools, test a connection",
        "pulsectl mcp list",
    )
    group.add(
        "list",
        "list the MCP servers with their state, transport, tools and last error",
        "pulsectl mcp list\npulsectl mcp list --json | jq '.[] | {name, state}'",
        mcp.cmd_list,
        details="States: connecting, ready, failed (it is retried with backoff), disabled\n"
        "(enabled = false). The agent sees a server's tools as <server>__<tool>.",
    )
    p = group.add(
        "probe",
        "connect to one MCP server afresh, list its tools, with timings",
        "pulsectl mcp probe time\npulsectl mcp probe time --json | jq .timings_ms",
        mcp.cmd_probe,
        details="The probe is a connection of its own, beside the daemon's (a disabled\n"
        "server can be probed too). Exit code 1 when it could not connect.",
    )
    p.add_argument("name", metavar="NAME", help="a server of [mcp.servers.NAME]")


def _add_store(cmds: _Commands) -> None:
    """``store status | init | migrate | copy`` and ``sql``."""
    group = cmds.group(
        "store",
        "show the store, set up Timeplus, copy history into it",
        "pulsectl store status",
    )
    group.add(
        "status",
        "show the store backend, its health, schema version and rows per stream",
        "pulsectl store status\npulsectl store status --json | jq .spooled_rows",
        store.cmd_status,
    )
    group.add(
        "init",
        "create Pulse's streams in the Timeplus of [store.timeplus] (safe to repeat)",
        "pulsectl store init",
        store.cmd_init,
        details="Works whichever backend is active, so Timeplus can be prepared (and filled\n"
        "with `pulsectl store copy`) before switching [store] backend to timeplus.",
    )
    group.add(
        "migrate",
        "bring Pulse's streams in Timeplus to this version's schema",
        "pulsectl store migrate",
        store.cmd_migrate,
    )
    p = group.add(
        "copy",
        "copy the embedded store's history into Timeplus (repeatable: rows already there "
        "are skipped)",
        "pulsectl store copy --from local --to timeplus\n"
        "pulsectl store copy --from local --to timeplus --stream messages --stream llm_logs",
        store.cmd_copy,
        details="A progress bar goes to stderr; the totals to stdout. Rows keep their ids,\n"
        "times and sequence numbers.",
    )
    p.add_argument("--from", dest="source", default="local", choices=("local",), help="source")
    p.add_argument("--to", dest="target", default="timeplus", choices=("timeplus",), help="target")
    p.add_argument(
        "--stream",
        dest="streams",
        action="append",
        default=[],
        choices=STREAMS,
        metavar="STREAM",
        help="copy only this stream (repeatable; default: all)",
    )
    p.add_argument("--batch-size", type=int, default=1000, metavar="N", help="rows per insert")
    p = group.add(
        "backup",
        "write a consistent copy of the embedded store while the daemon runs",
        "pulsectl store backup ~/pulse-$(date +%F).db",
        backup.cmd_backup,
        details="SQLite's online backup API copies the store as of one moment while the agent\n"
        "keeps working; the copy is integrity-checked before it gets its name (0600).",
    )
    p.add_argument("file", metavar="FILE", help="where to write the copy")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p = group.add(
        "restore",
        "replace the embedded store with a backup (the daemon must be stopped)",
        "pulsectl stop && pulsectl store restore ~/pulse-2026-12-01.db",
        backup.cmd_restore,
        details="Refuses a file that is not an intact Pulse store, and a store a running\n"
        "daemon holds. The store it replaces is kept as pulse.db.before-restore-<time>.",
    )
    p.add_argument("file", metavar="FILE", help="a file made by `pulsectl store backup`")
    p.add_argument(
        "--data-dir", default="", help="the data dir (default: $PULSE_DATA_DIR or the platform's)"
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    p = cmds.add(
        "sql",
        "run read-only SQL over the agent's streams in Timeplus; rows print as they arrive",
        "pulsectl sql \"SELECT * FROM table(llm_logs) WHERE status = 'error' LIMIT 20\"\n"
        "pulsectl sql 'SELECT model, sum(estimated_cost_usd) FROM llm_logs GROUP BY model'\n"
        "pulsectl sql 'SELECT * FROM messages' --json | jq .content",
        store.cmd_sql,
        details="Only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN run (and the server runs them\n"
        "read-only). `FROM stream` is a streaming query: it prints new rows until Ctrl+C,\n"
        "which cancels it on the server; `FROM table(stream)` reads what is stored and\n"
        'ends. Needs [store] backend = "timeplus". SQL of - is read from stdin.',
    )
    p.add_argument("sql", metavar="SQL", help="the statement; - reads it from stdin")
    p.add_argument(
        "--max-rows", type=int, default=0, metavar="N", help="stop after N rows (default: none)"
    )
