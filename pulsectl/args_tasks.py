"""The ``tasks`` and ``ingest`` groups of pulsectl's argparse tree (schedules, stream
triggers and what they consume)."""

from __future__ import annotations

import argparse

from pulsectl.argtree import STREAM_HELP, Commands, Lazy
from pulsectl.argtypes import (
    WHERE_FORMS,
    parse_where,
    positive_int,
    timeout_seconds,
    usd_amount,
)

tasks = Lazy("tasks")
ingest = Lazy("ingest")


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


def add_tasks(cmds: Commands) -> None:
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


def add_ingest(cmds: Commands) -> None:
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
