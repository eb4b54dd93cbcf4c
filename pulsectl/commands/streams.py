"""``pulsectl streams list | tail | query``: the agent's streams (service Streams)."""

from __future__ import annotations

import argparse

from pulsectl import diagnostics, output, render_streams
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK
from pulsectl.output import Output


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    """``streams list``: streams with row count and last sequence number."""
    with _client(args) as client:
        streams = client.list_streams().streams
    if args.json:
        out.json_doc([output.to_dict(s) for s in streams])
    else:
        out.line(render_streams.render_streams(streams, output.terminal_width()))
    return EXIT_OK


def cmd_tail(args: argparse.Namespace, out: Output) -> int:
    """``streams tail STREAM``: rows as they are appended (``--json``: one object per line)
    until Ctrl+C (exit 0) or the daemon ends the tail."""
    width = output.stream_width()
    with _client(args) as client:
        stream = client.tail(args.stream, args.where, start=args.start)
        try:
            for batch in stream:
                for row in batch.rows:
                    _print_row(args, out, output.row_dict(row), width)
        except KeyboardInterrupt:
            stream.cancel()
            return EXIT_OK
    diagnostics.note("the daemon ended the tail")
    return EXIT_OK


def _print_row(
    args: argparse.Namespace, out: Output, row: dict[str, object], width: int | None
) -> None:
    if args.json:
        out.json_line(row)
    else:
        out.line(render_streams.render_row(args.stream, row, width))


def cmd_query(args: argparse.Namespace, out: Output) -> int:
    """``streams query STREAM``: stored rows as a table under their column names,
    newest first unless ``--asc`` (``--json``: a list of the rows as they are)."""
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
        out.json_doc([output.row_dict(r) for r in rows])
        return EXIT_OK
    if rows:
        found = [output.row_dict(r) for r in rows]
        out.line(render_streams.render_rows(args.stream, found, output.terminal_width()))
    else:
        diagnostics.note("no rows match")
    return EXIT_OK
