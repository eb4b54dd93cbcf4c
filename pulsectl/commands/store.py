"""``pulsectl store status | init | migrate | copy`` and ``pulsectl sql``: the store behind
the streams, and read-only SQL on the Timeplus backend (service ``pulse.v1.Store``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from pulsectl import diagnostics, output
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, UsageError
from pulsectl.output import Output

if TYPE_CHECKING:
    from pulse.v1 import store_pb2

# -- rendering -------------------------------------------------------------------------


def render_status(st: store_pb2.StoreStatusResponse, width: int) -> str:
    """The store's status: key/value lines, then rows per stream."""
    version = f"v{st.schema_version}" if st.schema_version else "none recorded"
    if st.expected_schema_version and st.schema_version != st.expected_schema_version:
        version += f" (this Pulse writes v{st.expected_schema_version})"
    pairs = [
        ("backend", st.backend or "-"),
        ("location", st.location or "-"),
        ("health", st.health or "-"),
        ("schema", version),
    ]
    if st.backend == "timeplus":
        pairs.append(("spooled rows", str(st.spooled_rows)))
    text = output.key_values(pairs)
    if st.streams:
        rows = [(s.name, f"{s.rows:,}", s.location) for s in st.streams]
        text += "\n\n" + output.table(
            ("stream", "rows", "where"), rows, width=width, right=(1,), keep={0}
        )
    elif st.counts_problem:
        text += f"\n\nrow counts unavailable: {st.counts_problem}"
    return text


def value_text(value: Any) -> str:
    """One SQL result value as plain text (strings as they are, the rest as JSON)."""
    if isinstance(value, str):
        return output.one_line(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Progress:
    """A one-line progress bar on stderr while a copy runs (notes when not a terminal)."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = False

    def update(self, p: store_pb2.StoreCopyProgress) -> None:
        """Show ``p``: redraw the bar, or a note when a stream is finished."""
        if p.finished:
            self.clear()
            diagnostics.note(
                f"{p.stream}: {p.copied:,} copied, {p.skipped:,} already there "
                f"({p.done:,} of {p.total:,})"
            )
            return
        if not self.live:
            return
        total = max(p.total, p.done, 1)
        filled = int(24 * p.done / total)
        bar = "#" * filled + "." * (24 - filled)
        sys.stderr.write(f"\r[{bar}] {100 * p.done // total:3d}%  {p.stream} {p.done:,}/{total:,}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the bar (before other stderr output and at the end)."""
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


# -- commands --------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """``store status``: backend, health, schema version and rows per stream."""
    with _client(args) as client:
        st = client.store_status()
    if args.json:
        out.json_doc(output.to_dict(st))
    else:
        out.line(render_status(st, output.terminal_width()))
    if st.health and st.health != "ok":
        diagnostics.warn(f"store: {st.health}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace, out: Output) -> int:
    """``store init``: create Pulse's streams in Timeplus."""
    with _client(args) as client:
        resp = client.store_init()
    if args.json:
        out.json_doc(output.to_dict(resp))
    else:
        out.line(
            f"Pulse's streams are ready in Timeplus at {resp.location} "
            f"(schema v{resp.schema_version}, {len(resp.statements)} statements run)"
        )
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace, out: Output) -> int:
    """``store migrate``: bring the streams in Timeplus to this version's schema."""
    with _client(args) as client:
        resp = client.store_migrate()
    if args.json:
        out.json_doc(output.to_dict(resp))
    elif resp.statements or resp.from_version != resp.to_version:
        out.line(
            f"migrated Pulse's streams at {resp.location} from v{resp.from_version} to "
            f"v{resp.to_version} ({len(resp.statements)} statements)"
        )
    else:
        out.line(f"Pulse's streams at {resp.location} are at v{resp.to_version} already")
    return EXIT_OK


def cmd_copy(args: argparse.Namespace, out: Output) -> int:
    """``store copy``: copy history into Timeplus; a progress bar on stderr, totals per
    stream on stdout. Ctrl+C stops it (exit 130; copied rows are skipped next time).

    Raises:
        UsageError: ``--batch-size`` outside 1-10000.
    """
    if not 1 <= args.batch_size <= 10_000:
        raise UsageError(f"--batch-size must be between 1 and 10000, not {args.batch_size}")
    bar = Progress()
    totals: dict[str, dict[str, int]] = {}
    with _client(args) as client:
        progress = client.store_copy(args.source, args.target, args.streams, args.batch_size)
        try:
            for p in progress:
                bar.update(p)
                if p.finished:
                    totals[p.stream] = {
                        "total": p.total,
                        "copied": p.copied,
                        "skipped": p.skipped,
                    }
        except KeyboardInterrupt:
            progress.cancel()
            bar.clear()
            diagnostics.warn("copy interrupted; run it again to finish (copied rows are skipped)")
            return diagnostics.EXIT_INTERRUPTED
        finally:
            bar.clear()
    if args.json:
        out.json_doc(totals)
    else:
        rows = [
            (k, f"{v['copied']:,}", f"{v['skipped']:,}", f"{v['total']:,}")
            for k, v in totals.items()
        ]
        out.line(
            output.table(
                ("stream", "copied", "skipped", "total"),
                rows,
                width=output.terminal_width(),
                right=(1, 2, 3),
                keep={0},
            )
        )
    return EXIT_OK


def cmd_sql(args: argparse.Namespace, out: Output) -> int:
    """``sql SQL``: rows as they arrive (``--json``: one object per row); Ctrl+C cancels a
    streaming query on the server.

    Raises:
        UsageError: no SQL, or a negative ``--max-rows``.
    """
    text = sys.stdin.read() if args.sql == "-" else args.sql
    if not text.strip():
        raise UsageError("no SQL given: pass a statement, e.g. pulsectl sql 'SELECT 1'")
    if args.max_rows < 0:
        raise UsageError("--max-rows must be 0 (no limit) or more")
    columns: list[str] = []
    count = 0
    with _client(args) as client:
        results = client.sql(text, args.max_rows)
        try:
            for msg in results:
                if msg.columns and not columns:
                    columns = list(msg.columns)
                    if not args.json:
                        out.line("  ".join(columns))
                for raw in msg.rows:
                    values = json.loads(raw)
                    count += 1
                    if args.json:
                        out.json_line(dict(zip(columns, values, strict=False)))
                    else:
                        out.line("  ".join(value_text(v) for v in values))
        except KeyboardInterrupt:
            results.cancel()
            out.break_line_for_stderr()
            diagnostics.note(f"cancelled after {count:,} rows")
            return EXIT_OK
    if not args.json:
        diagnostics.note(f"{count:,} rows")
    return EXIT_OK
