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

if TYPE_CHECKING:
    from pulse.v1 import store_pb2

STREAMS = ("messages", "llm_logs", "tool_logs", "events", "tasks", "cursors")


def register(commands: Any) -> None:
    """Add ``store`` and ``sql`` to the CLI (``commands`` is cli's ``_Commands``)."""
    group = commands.group(
        "store",
        "show the store, set up Timeplus, copy history into it",
        "pulsectl store status",
    )
    group.add(
        "status",
        "show the store backend, its health, schema version and rows per stream",
        "pulsectl store status\npulsectl store status --json | jq .spooled_rows",
        cmd_status,
    )
    group.add(
        "init",
        "create Pulse's streams in the Timeplus of [store.timeplus] (safe to repeat)",
        "pulsectl store init",
        cmd_init,
        details="Works whichever backend is active, so Timeplus can be prepared (and filled\n"
        "with `pulsectl store copy`) before switching [store] backend to timeplus.",
    )
    group.add(
        "migrate",
        "bring Pulse's streams in Timeplus to this version's schema",
        "pulsectl store migrate",
        cmd_migrate,
    )
    p = group.add(
        "copy",
        "copy the embedded store's history into Timeplus (repeatable: rows already there "
        "are skipped)",
        "pulsectl store copy --from local --to timeplus\n"
        "pulsectl store copy --from local --to timeplus --stream messages --stream llm_logs",
        cmd_copy,
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

    p = commands.add(
        "sql",
        "run read-only SQL over the agent's streams in Timeplus; rows print as they arrive",
        "pulsectl sql \"SELECT * FROM table(llm_logs) WHERE status = 'error' LIMIT 20\"\n"
        "pulsectl sql 'SELECT model, sum(estimated_cost_usd) FROM llm_logs GROUP BY model'\n"
        "pulsectl sql 'SELECT * FROM messages' --json | jq .content",
        cmd_sql,
        details="Only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN run (and the server runs them\n"
        "read-only). `FROM stream` is a streaming query: it prints new rows until Ctrl+C,\n"
        "which cancels it on the server; `FROM table(stream)` reads what is stored and\n"
        'ends. Needs [store] backend = "timeplus". SQL of - is read from stdin.',
    )
    p.add_argument("sql", metavar="SQL", help="the statement; - reads it from stdin")
    p.add_argument(
        "--max-rows", type=int, default=0, metavar="N", help="stop after N rows (default: none)"
    )


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
        text += "\n\n" + output.table(("stream", "rows", "where"), rows, width=width, right=(1,))
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
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


# -- commands --------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as client:
        st = client.store_status()
    if args.json:
        output.json_doc(output.to_dict(st))
    else:
        output.line(render_status(st, output.terminal_width()))
    if st.health and st.health != "ok":
        diagnostics.warn(f"store: {st.health}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.store_init()
    if args.json:
        output.json_doc(output.to_dict(resp))
    else:
        output.line(
            f"Pulse's streams are ready in Timeplus at {resp.location} "
            f"(schema v{resp.schema_version}, {len(resp.statements)} statements run)"
        )
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    with _client(args) as client:
        resp = client.store_migrate()
    if args.json:
        output.json_doc(output.to_dict(resp))
    elif resp.statements or resp.from_version != resp.to_version:
        output.line(
            f"migrated Pulse's streams at {resp.location} from v{resp.from_version} to "
            f"v{resp.to_version} ({len(resp.statements)} statements)"
        )
    else:
        output.line(f"Pulse's streams at {resp.location} are at v{resp.to_version} already")
    return EXIT_OK


def cmd_copy(args: argparse.Namespace) -> int:
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
        output.json_doc(totals)
    else:
        rows = [
            (k, f"{v['copied']:,}", f"{v['skipped']:,}", f"{v['total']:,}")
            for k, v in totals.items()
        ]
        output.line(
            output.table(
                ("stream", "copied", "skipped", "total"),
                rows,
                width=output.terminal_width(),
                right=(1, 2, 3),
            )
        )
    return EXIT_OK


def cmd_sql(args: argparse.Namespace) -> int:
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
                        output.line("  ".join(columns))
                for raw in msg.rows:
                    values = json.loads(raw)
                    count += 1
                    if args.json:
                        output.json_line(dict(zip(columns, values, strict=False)))
                    else:
                        output.line("  ".join(value_text(v) for v in values))
        except KeyboardInterrupt:
            results.cancel()
            output.break_line_for_stderr()
            diagnostics.note(f"cancelled after {count:,} rows")
            return EXIT_OK
    if not args.json:
        diagnostics.note(f"{count:,} rows")
    return EXIT_OK
