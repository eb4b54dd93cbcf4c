"""pulsectl's command line: the argparse tree.

``build_parser`` makes the whole tree; each leaf command's ``func`` default is the
``cmd_*`` function of its group in ``pulsectl.commands`` that runs it (imported when it
runs, ``Lazy``), called with the parsed arguments and the run's ``Output``. The types of
argument values (``parse_where``, ``parse_time_ms``, ...) are in ``pulsectl.argtypes``;
they raise ``argparse.ArgumentTypeError``, which argparse reports as a usage error
(exit 2). Nothing here imports grpc.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from pulsectl import diagnostics
from pulsectl.args_tasks import add_ingest, add_tasks
from pulsectl.argtree import (
    PROG,
    STREAM_HELP,
    STREAMS,
    Commands,
    Lazy,
    VersionAction,
    add_global_flags,
    add_time_flags,
    add_where,
)
from pulsectl.argtypes import (
    parse_start,
    positive_int,
    timeout_seconds,
)
from pulsectl.commands import init, memory

backup = Lazy("backup")
channels = Lazy("channels")
chat = Lazy("chat")
context = Lazy("context")
costs = Lazy("costs")
daemonctl = Lazy("daemonctl")
doctor = Lazy("doctor")
mcp = Lazy("mcp")
service = Lazy("service")
sessions = Lazy("sessions")
skills = Lazy("skills")
status = Lazy("status")
store = Lazy("store")
streams = Lazy("streams")


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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command`` (a top-level command name, see
    ``command_of``), the top parser with only that command's subtree, which is all a run
    of it parses (building the ~60 other parsers cost pulsectl ~50 ms a start). An
    unknown ``command`` builds everything, so argparse's error lists every choice."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_flags(parser, top=True)
    parser.add_argument("--version", action=VersionAction)
    cmds = Commands(parser.add_subparsers(dest="command", metavar="COMMAND", title="commands"))
    adders = _adders()
    only = [add for names, add in adders if command in names]
    for add in only or [add for _, add in adders]:
        add(cmds)
    return parser


def _adders() -> tuple[tuple[tuple[str, ...], Callable[[Commands], None]], ...]:
    """Each function adding top-level commands, with the names it adds, in the order
    ``--help`` lists them (a test checks the names against what each one adds)."""
    return (
        (("status",), _add_status),
        (("stop", "restart"), _add_daemonctl),
        (("chat",), _add_chat),
        (("sessions",), _add_sessions),
        (("streams",), _add_streams),
        (("costs",), _add_costs),
        (("context",), _add_context),
        (("tasks",), add_tasks),
        (("channels",), _add_channels),
        (("skills",), _add_skills),
        (("mcp",), _add_mcp),
        (("store", "sql"), _add_store),
        (("ingest",), add_ingest),
        (("service",), _add_service),
        (("memory",), memory.register),
        (("doctor",), _add_doctor),
        (("init",), _add_init),
    )


def command_of(argv: Sequence[str]) -> str | None:
    """The top-level command ``argv`` names: its first word that is neither a global
    flag nor ``--socket``'s value; None when there is none, or when ``-h``, ``--help`` or
    ``--version`` comes first (those need the whole tree)."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help", "--version", "--"):
            return None
        if word == "--socket":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _add_doctor(cmds: Commands) -> None:
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


def _add_init(cmds: Commands) -> None:
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


def _add_daemonctl(cmds: Commands) -> None:
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


def _add_status(cmds: Commands) -> None:
    """``status``."""
    cmds.add(
        "status",
        "show the daemon's version, store, provider, turns and today's spend",
        "pulsectl status\npulsectl status --json | jq .spent_today_usd",
        status.cmd_status,
    )


def _add_chat(cmds: Commands) -> None:
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


def _add_sessions(cmds: Commands) -> None:
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


def _add_streams(cmds: Commands) -> None:
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
    add_where(p)
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
    add_where(p)
    add_time_flags(p)
    p.add_argument("--limit", type=positive_int, default=0, help="at most N rows (default 100)")
    p.add_argument("--asc", action="store_true", help="oldest first")


def _add_context(cmds: Commands) -> None:
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


def _add_costs(cmds: Commands) -> None:
    """``costs``."""
    p = cmds.add(
        "costs",
        "summarise what the agent's LLM calls cost",
        "pulsectl costs --since 7d --by model\npulsectl costs --by day --json | jq .total.cost_usd",
        costs.cmd_costs,
    )
    add_time_flags(p, since_default="24h")
    p.add_argument(
        "--by",
        choices=("model", "hour", "day", "session", "origin", "provider"),
        default="",
        help="break the total down by this",
    )


def _add_service(cmds: Commands) -> None:
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


def _add_channels(cmds: Commands) -> None:
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


def _add_skills(cmds: Commands) -> None:
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


def _add_mcp(cmds: Commands) -> None:
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


def _add_store(cmds: Commands) -> None:
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
