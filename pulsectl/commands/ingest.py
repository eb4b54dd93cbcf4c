"""``pulsectl ingest``: append rows from outside to the ingest stream (service Ingest).

With ``--payload`` one row; without, one row per JSON line of stdin, sent in batches.
Bad lines are reported with their line number and skipped; the good ones are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from pulsectl import diagnostics
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_ERROR, EXIT_OK, UsageError
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import ingest_pb2

BATCH_ROWS = 500
"""Rows per Ingest.Append call."""
MAX_LINE_CHARS = 1024 * 1024
"""Longest line (one payload) read from stdin."""
SHOWN_BAD_LINES = 20
"""Bad lines reported one by one on stderr (all of them with --json)."""


def _lines(stream: Iterable[str]) -> Iterator[tuple[int, str | None, str]]:
    """(line number, payload JSON or None, error) per non-blank line."""
    for number, line in enumerate(stream, 1):
        text = line.strip()
        if not text:
            continue
        if len(text) > MAX_LINE_CHARS:
            yield number, None, f"longer than {MAX_LINE_CHARS} characters"
            continue
        try:
            json.loads(text)
        except ValueError as e:
            yield number, None, f"not JSON: {e}"
            continue
        yield number, text, ""


def cmd_ingest(args: argparse.Namespace, out: Output) -> int:
    """``ingest --source NAME``: store rows durably; prints the counts (stderr, or a
    JSON document with ``--json``). Exit 1 when a line was bad (the others are stored).

    Raises:
        UsageError: ``--payload`` is not JSON.
    """
    from pulsectl.client.ingest import ingest_row

    def row(payload: str) -> ingest_pb2.IngestRow:
        return ingest_row(
            args.source, payload, kind=args.kind, dedupe_key=args.dedupe_key, tags=args.tag
        )

    if args.payload is not None:
        try:
            json.loads(args.payload)
        except ValueError as e:
            raise UsageError(f"--payload is not JSON: {e}", "e.g. --payload '{\"a\": 1}'") from None
    counts = [0, 0]  # appended, duplicates
    bad: list[dict[str, Any]] = []
    with _client(args) as client:

        def send(rows: list[ingest_pb2.IngestRow]) -> None:
            answer = client.ingest(rows)
            counts[0] += answer.appended
            counts[1] += answer.duplicates

        if args.payload is not None:
            send([row(args.payload)])
        else:
            if sys.stdin.isatty():
                diagnostics.note("reading one JSON value per line from stdin (Ctrl+D ends)")
            batch: list[ingest_pb2.IngestRow] = []
            for number, payload, error in _lines(sys.stdin):
                if payload is None:
                    bad.append({"line": number, "error": error})
                    if not args.json and len(bad) <= SHOWN_BAD_LINES:
                        diagnostics.error(f"line {number}: {error}")
                    continue
                batch.append(row(payload))
                if len(batch) >= BATCH_ROWS:
                    send(batch)
                    batch = []
            if batch:
                send(batch)
    appended, duplicates = counts
    if args.json:
        out.json_doc({"appended": appended, "duplicates": duplicates, "bad_lines": bad})
    else:
        parts = [f"ingested {appended} row{'s' if appended != 1 else ''}"]
        if duplicates:
            parts.append(f"{duplicates} duplicate{'s' if duplicates != 1 else ''} dropped")
        if bad:
            parts.append(f"{len(bad)} bad line{'s' if len(bad) != 1 else ''} skipped")
        diagnostics.note(", ".join(parts))
    return EXIT_ERROR if bad else EXIT_OK
