"""The machinery of pulsectl's argparse tree, shared by the modules that build it
(``args``, ``args_tasks``): the global flags every command takes, ``Commands`` (a group
of subcommands with their summary, example and ``func``), ``Lazy`` command modules,
the flags several groups share (times, ``--where``) and the stream names. Nothing here
imports grpc."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from pulsectl import output
from pulsectl.argtypes import (
    TIME_FORMS,
    WHERE_FORMS,
    parse_time_ms,
    parse_where,
)

PROG = "pulsectl"


Command = Callable[[argparse.Namespace, output.Output], int]
"""A leaf command: the parsed arguments and the run's stdout in, the exit code out."""


class Lazy:
    """A commands module imported only when one of its commands runs: ``Lazy(name).cmd_x``
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


def version() -> str:
    """The installed pulse-agent version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("pulse-agent")
    except PackageNotFoundError:
        return "unknown"


class VersionAction(argparse.Action):
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


def add_global_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
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


class Commands:
    """Adds subcommands with shared flags, a description and an example each."""

    def __init__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self.subparsers = subparsers
        self.common = argparse.ArgumentParser(add_help=False)
        add_global_flags(self.common, top=False)

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

    def group(self, name: str, summary: str, example: str) -> Commands:
        parser = self.add(name, summary, example)
        return Commands(parser.add_subparsers(dest="action", metavar="ACTION", required=True))


def add_time_flags(parser: argparse.ArgumentParser, since_default: str | None = None) -> None:
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


def add_where(parser: argparse.ArgumentParser) -> None:
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
