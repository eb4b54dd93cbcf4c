"""``pulsectl memory add | list | search | show | edit | forget``: the agent's long-term
memory (service Memory). ``register`` adds the group to the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Protocol

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output

if TYPE_CHECKING:
    from collections.abc import Callable

    from pulse.v1 import memory_pb2

TYPES = ("fact", "preference", "summary", "skill_learned", "note")


class _Group(Protocol):
    """What ``pulsectl.args`` hands ``register``: a group of subcommands."""

    def add(
        self,
        name: str,
        summary: str,
        example: str,
        func: Callable[[argparse.Namespace, Output], int] | None = None,
        details: str = "",
    ) -> argparse.ArgumentParser: ...

    def group(self, name: str, summary: str, example: str) -> Any: ...


def importance(text: str) -> float:
    """An importance from the command line: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r} (0 to 1)") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not from 0 to 1")
    return value


def register(cmds: _Group) -> None:
    """``memory`` and its actions."""
    group = cmds.group("memory", "see and fix what the agent remembers", "pulsectl memory list")
    p = group.add(
        "add",
        "keep a new memory; prints its id",
        'pulsectl memory add "My dog is called Rex" --type fact --category family\n'
        'pulsectl memory add "Prefers short answers" --type preference --json | jq -r .id',
        cmd_add,
        details="Values that look like secrets (keys, tokens, passwords) are refused.",
    )
    p.add_argument("text", metavar="TEXT", help="what to remember")
    p.add_argument("--type", dest="memory_type", choices=TYPES, default="note")
    p.add_argument("--category", default="", metavar="C", help="a grouping, e.g. family")
    p.add_argument(
        "--importance", type=importance, default=None, metavar="X", help="0 to 1 (default 0.5)"
    )
    p = group.add(
        "list",
        "list the current memories, newest change first",
        "pulsectl memory list --type preference\npulsectl memory list --json | jq -r '.[].content'",
        cmd_list,
    )
    p.add_argument("--type", dest="memory_type", choices=TYPES, default="")
    p.add_argument("--category", default="", metavar="C")
    p = group.add(
        "search",
        "find memories relevant to a query, with scores and why they matched",
        'pulsectl memory search "dog name"',
        cmd_search,
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument("-k", type=int, default=0, metavar="N", help="most results, 1..50")
    p = group.add(
        "show",
        "show a memory with its versions and the message it came from",
        "pulsectl memory show mem_0123456789ab",
        cmd_show,
    )
    p.add_argument("id", metavar="ID")
    p = group.add(
        "edit",
        "change a memory's text (a new version; the old one stays in its history)",
        'pulsectl memory edit mem_0123456789ab "My dog is called Max"',
        cmd_edit,
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("text", metavar="TEXT", nargs="?", default=None)
    p.add_argument("--type", dest="memory_type", choices=TYPES, default=None)
    p.add_argument("--category", default=None, metavar="C")
    p.add_argument("--importance", type=importance, default=None, metavar="X")
    p = group.add(
        "forget",
        "forget a memory: it is never shown or recalled again",
        "pulsectl memory forget mem_0123456789ab",
        cmd_forget,
    )
    p.add_argument("id", metavar="ID")


def _kind(m: memory_pb2.MemoryItem) -> str:
    return m.memory_type + (f"/{m.category}" if m.category else "")


def render_memories(items: list[memory_pb2.MemoryItem], width: int) -> str:
    """A table of memories: id, date, type/category, importance, text."""
    return output.table(
        ["id", "updated", "type", "imp", "content"],
        [
            [m.id, output.local_time(m.updated_at), _kind(m), f"{m.importance:.2f}", m.content]
            for m in items
        ],
        width=width,
        right={3},
        keep={0, 1},
    )


def cmd_add(args: argparse.Namespace, out: Output) -> int:
    """``memory add``: keep TEXT; prints the new id (``--json``: ``{"id": ...}``)."""
    with _client(args) as client:
        m = client.memory_add(
            args.text,
            memory_type=args.memory_type,
            category=args.category,
            importance=args.importance,
        )
    if args.json:
        out.json_doc({"id": m.id})
    else:
        out.line(m.id)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``memory list``: the current memories."""
    with _client(args) as client:
        items = list(client.memory_list(args.memory_type, args.category).memories)
    if args.json:
        out.json_doc([output.to_dict(m) for m in items])
    elif items:
        out.line(render_memories(items, output.terminal_width()))
    else:
        diagnostics.note('no memories; add one with: pulsectl memory add "TEXT"')
    return EXIT_OK


def cmd_search(args: argparse.Namespace, out: Output) -> int:
    """``memory search``: relevant memories with score and why (keyword, vector)."""
    with _client(args) as client:
        hits = list(client.memory_search(args.query, args.k).hits)
    if args.json:
        out.json_doc([output.to_dict(h) for h in hits])
    elif hits:
        out.line(
            output.table(
                ["score", "why", "id", "type", "content"],
                [
                    [f"{h.score:.3f}", h.why, h.memory.id, _kind(h.memory), h.memory.content]
                    for h in hits
                ],
                width=output.terminal_width(),
                right={0},
                keep={2},
            )
        )
    else:
        diagnostics.note("no memory is relevant to that")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    """``memory show``: the memory, its versions (oldest first), its source message."""
    with _client(args) as client:
        shown = client.memory_show(args.id)
    if args.json:
        out.json_doc(output.to_dict(shown))
        return EXIT_OK
    m = shown.memory
    out.line(
        output.key_values(
            [
                ("id", m.id),
                ("content", m.content),
                ("type", _kind(m)),
                ("importance", f"{m.importance:.2f}"),
                ("updated", output.local_time(m.updated_at)),
                ("session", m.source_session_id or "-"),
                ("message", m.source_message_id or "-"),
            ]
        )
    )
    if shown.source_text:
        out.line(f"\nsource ({shown.source_type}):\n  {output.one_line(shown.source_text)}")
    out.line(f"\nversions ({len(shown.versions)}):")
    for v in shown.versions:
        out.line(f"  {output.local_time(v.timestamp)}  {v.memory_type}  {v.content}")
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, out: Output) -> int:
    """``memory edit``: a new version with TEXT (and/or type, category, importance)."""
    changes = (args.text, args.memory_type, args.category, args.importance)
    if all(c is None for c in changes):
        raise diagnostics.UsageError(
            "nothing to change", 'usage: pulsectl memory edit ID "NEW TEXT" [--type T]'
        )
    with _client(args) as client:
        m = client.memory_update(
            args.id,
            content=args.text,
            memory_type=args.memory_type,
            category=args.category,
            importance=args.importance,
        )
    if args.json:
        out.json_doc(output.to_dict(m))
    else:
        out.line(f"{m.id}: {m.content}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace, out: Output) -> int:
    """``memory forget``: forget ID."""
    with _client(args) as client:
        m = client.memory_forget(args.id)
    if args.json:
        out.json_doc({"id": m.id, "forgotten": True})
    else:
        out.line(f"forgot {m.id}")
    return EXIT_OK
