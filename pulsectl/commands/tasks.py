"""``pulsectl tasks add | list | show | preview | rm | enable | disable | run | history |
edit | test``: scheduled tasks and stream triggers (service Tasks)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pulsectl import diagnostics, output, render_tasks
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, CliError, UsageError
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import tasks_pb2

    from pulsectl.client.sync import PulseClient


def _print_task(args: argparse.Namespace, out: Output, task: tasks_pb2.Task) -> None:
    if args.json:
        out.json_doc(output.to_dict(task))
    else:
        out.line(render_tasks.render_task(task))


def cmd_add(args: argparse.Namespace, out: Output) -> int:
    """``tasks add``: add a task (or one from ``--preset``) and print it as stored.

    Raises:
        UsageError: NAME, --schedule or --prompt missing without --preset.
    """
    _check_sql_flags(args)
    if (args.on or args.sql) and args.schedule:
        flag = "--sql" if args.sql else "--on"
        raise UsageError(
            f"give --schedule or {flag}, not both", "--on STREAM or --sql QUERY makes a trigger"
        )
    if not (args.on or args.sql) and (args.batch or args.max_runs_per_hour or args.overflow):
        raise UsageError(
            "--batch, --max-runs-per-hour and --overflow need --on STREAM or --sql QUERY",
            "e.g. pulsectl tasks add prs --on ingest --where payload.action=opened --prompt ...",
        )
    if not args.on and args.where:
        raise UsageError(
            "--where needs --on STREAM",
            "e.g. pulsectl tasks add prs --on ingest --where payload.action=opened --prompt ...",
        )
    if not args.preset:
        missing = [
            flag
            for flag, value in (
                ("NAME", args.name),
                ("--schedule", args.schedule or args.on or args.sql),
                ("--prompt", args.prompt),
            )
            if not value
        ]
        if missing:
            raise UsageError(
                f"{', '.join(missing)} required (or --on STREAM for a stream trigger, or start "
                "from a preset with --preset)",
                "usage: pulsectl tasks add NAME --schedule SPEC --prompt TEXT [options], "
                "pulsectl tasks add NAME --on STREAM [--where COL=VALUE ...] --prompt TEXT, "
                "or: pulsectl tasks add --preset heartbeat|daily-briefing|cost-alert",
            )
    from pulsectl.client.core import new_task
    from pulsectl.client.ingest import trigger_spec

    trigger = None
    if args.on or args.sql:
        trigger = trigger_spec(
            args.on,
            args.where,
            batch_s=args.batch or 0.0,
            max_runs_per_hour=args.max_runs_per_hour or 0,
            overflow=args.overflow or "",
        )
        trigger.sql = args.sql

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
        trigger=trigger,
        budget_usd=args.budget or 0.0,
    )
    with _client(args) as client:
        task = client.add_task(task)
    _print_task(args, out, task)
    return EXIT_OK


def _check_sql_flags(args: argparse.Namespace) -> None:
    """Refuse ``--sql`` with the flags of a stream trigger.

    Raises:
        UsageError: ``--sql`` with ``--on`` or ``--where``.
    """
    if args.sql and (args.on or args.where):
        raise UsageError(
            "give --on STREAM [--where ...] or --sql QUERY, not both",
            "a SQL trigger filters in its query: --sql \"SELECT * FROM ingest WHERE kind = 'x'\"",
        )


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``tasks list``: tasks with schedule, next run (in the task's zone) and last run."""
    with _client(args) as client:
        tasks = client.list_tasks().tasks
    if args.json:
        out.json_doc([output.to_dict(t) for t in tasks])
    elif tasks:
        out.line(render_tasks.render_tasks(tasks, output.terminal_width()))
    else:
        diagnostics.note(
            "no tasks; add one with: pulsectl tasks add NAME --schedule ... --prompt ..."
        )
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``tasks show NAME``: one task in full, its next run in its zone.

    Raises:
        CliError: no task has that name (exit 1).
    """
    with _client(args) as client:
        found = [t for t in client.list_tasks().tasks if t.name == args.name]
    if not found:
        raise CliError(f"NOT_FOUND: no task named {args.name}", "see: pulsectl tasks list")
    _print_task(args, out, found[0])
    return EXIT_OK


def cmd_preview(args: argparse.Namespace, out: Output) -> int:
    """``tasks preview SPEC``: the next runs of a schedule in a zone, as the daemon
    computes them (for ``on STREAM``: the newest rows it would have fired on); nothing
    is stored.

    Raises:
        CliError: the daemon finds the schedule or zone invalid (exit 1; the message
            says what is wrong).
    """
    with _client(args) as client:
        answer = client.preview_schedule(args.spec, args.tz, args.count or 3)
    if answer.problem:
        raise CliError(answer.problem)
    if args.json:
        out.json_doc(output.to_dict(answer))
    elif answer.matching_rows:
        from pulsectl import render_streams

        rows = [output.row_dict(r) for r in answer.matching_rows]
        stream = answer.matching_rows[0].stream
        out.line(render_streams.render_rows(stream, rows, output.terminal_width()))
    elif answer.next_runs:
        out.line(render_tasks.render_preview(args.spec, args.tz, answer.next_runs))
    elif args.spec.split()[:1] == ["on"]:
        diagnostics.note("no stored row of the stream yet")
    else:
        diagnostics.note("no run left: its time has passed")
    return EXIT_OK


def cmd_rm(args: argparse.Namespace, out: Output) -> int:
    """``tasks rm NAME``: remove a task."""
    with _client(args) as client:
        client.remove_task(args.name)
    if args.json:
        out.json_doc({"removed": args.name})
    else:
        diagnostics.note(f"removed task {args.name}")
    return EXIT_OK


def _set_enabled(args: argparse.Namespace, out: Output, enabled: bool) -> int:
    with _client(args) as client:
        task = client.set_task_enabled(args.name, enabled)
    if args.json:
        out.json_doc(output.to_dict(task))
    else:
        state = "enabled" if task.enabled else "disabled"
        nxt = f", next run {render_tasks.next_run(task)}" if task.enabled and task.next_run else ""
        out.line(f"{task.name}: {state}{nxt}")
    return EXIT_OK


def cmd_enable(args: argparse.Namespace, out: Output) -> int:
    """``tasks enable NAME``: switch a task on; prints its next run."""
    return _set_enabled(args, out, True)


def cmd_disable(args: argparse.Namespace, out: Output) -> int:
    """``tasks disable NAME``: switch a task off."""
    return _set_enabled(args, out, False)


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    """``tasks run NAME``: run a task now; prints the message id it started."""
    with _client(args) as client:
        started = client.run_task(args.name)
    if args.json:
        out.json_doc(output.to_dict(started))
    else:
        out.line(f"{args.name}: started, message {started.message_id}")
        if started.session_id:
            diagnostics.note(f"follow it with: pulsectl sessions show {started.session_id}")
    return EXIT_OK


def cmd_history(args: argparse.Namespace, out: Output) -> int:
    """``tasks history NAME``: a task's past runs, newest first."""
    with _client(args) as client:
        runs = client.task_history(args.name, args.limit).runs
    if args.json:
        out.json_doc([output.to_dict(r) for r in runs])
    elif runs:
        out.line(render_tasks.render_task_runs(runs, output.terminal_width()))
    else:
        diagnostics.note(f"task {args.name} has not run yet")
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, out: Output) -> int:
    """``tasks edit NAME``: change only the fields given.

    Raises:
        UsageError: no field to change.
    """
    changes = {
        "schedule": args.schedule,
        "prompt": args.prompt,
        "timezone": args.tz,
        "deliver_to": args.deliver_to,
        "catch_up": args.catch_up,
        "timeout_s": args.timeout,
        "budget_usd": args.budget,
    }
    _check_sql_flags(args)
    retrigger = bool(
        args.on
        or args.sql
        or args.where
        or args.batch is not None
        or args.max_runs_per_hour
        or args.overflow
    )
    if all(v is None for v in changes.values()) and not retrigger:
        raise UsageError(
            "nothing to change: give --schedule, --prompt, --tz, --deliver-to, "
            "--catch-up/--no-catch-up, --timeout, or a trigger's --on, --where, --sql, --batch, "
            "--max-runs-per-hour, --overflow",
            f'example: pulsectl tasks edit {args.name} --schedule "0 9 * * *"',
        )
    with _client(args) as client:
        trigger = _edited_trigger(args, client) if retrigger else None
        task = client.update_task(args.name, **changes, trigger=trigger)
    _print_task(args, out, task)
    return EXIT_OK


def cmd_test(args: argparse.Namespace, out: Output) -> int:
    """``tasks test NAME --payload JSON``: would this row fire the trigger, and with
    what prompt; nothing is stored or run. Exit 0 either way (1: the daemon refused)."""
    import json

    try:
        json.loads(args.payload)
    except ValueError as e:
        raise UsageError(
            f"--payload is not JSON: {e}", 'e.g. --payload \'{"action": "opened"}\''
        ) from None
    with _client(args) as client:
        answer = client.test_trigger(args.name, args.payload)
    if args.json:
        out.json_doc(output.to_dict(answer))
    elif answer.matched:
        diagnostics.note(f"{args.name}: the row matches; a run would get this prompt:")
        out.line(answer.prompt)
    else:
        out.line(f"{args.name}: no match ({answer.reason})")
    return EXIT_OK


def _edited_trigger(args: argparse.Namespace, client: PulseClient) -> tasks_pb2.TriggerSpec:
    """The task's trigger with the flags given applied (``--where`` replaces every filter).

    Raises:
        UsageError: the task is not a stream trigger and ``--on`` is missing.
    """
    from pulsectl.client.filters import Filter
    from pulsectl.client.ingest import trigger_spec

    found = [t for t in client.list_tasks().tasks if t.name == args.name]
    base = found[0].trigger if found and found[0].HasField("trigger") else None
    if base is None and not (args.on or args.sql):
        raise UsageError(
            f"task {args.name} runs on a schedule; give --on STREAM (or --sql QUERY) to make "
            "it a trigger"
        )
    stream_given = bool(args.on or args.where)
    where = args.where or (
        [Filter(f.column, f.op or "eq", f.value) for f in base.where]
        if base and not args.sql
        else []
    )
    spec = trigger_spec(
        args.on or (base.on if base and not args.sql else ""),
        where,
        batch_s=args.batch if args.batch is not None else (base.batch_s if base else 0.0),
        max_runs_per_hour=args.max_runs_per_hour or (base.max_runs_per_hour if base else 0),
        overflow=args.overflow or (base.overflow if base else ""),
    )
    spec.sql = args.sql or (base.sql if base and not stream_given else "")
    return spec
