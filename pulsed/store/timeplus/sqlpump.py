"""Read-only SQL on the Timeplus backend (``pulsectl sql``): the statement check and
the pump that streams a query's rows from its reading thread to the event loop.

``read_only`` refuses anything but one read-only statement before it is sent (the
server also runs it with ``readonly=2``); ``pump`` yields the rows of a running
``RowStream`` in batches as they arrive, the first batch as soon as the column names
are known. Closing the pump's generator closes the stream, which cancels the query.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncGenerator
from typing import Any

from pulsed.errors import InvalidArgument, PulseError, StoreError
from pulsed.store.timeplus.http import RowStream

READ_ONLY_FIRST = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")
_TOKEN_RE = re.compile(
    r"""
    (?P<skip>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<quoted>'(?:[^'\\]|\\.|'')*'|`(?:[^`\\]|\\.|``)*`|"(?:[^"\\]|\\.|"")*")
  | (?P<semi>;)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_FORBIDDEN_WORDS = {"INTO", "OUTFILE", "FORMAT"}


def tokens(sql: str) -> list[tuple[str, str]]:
    """``sql`` as (kind, text) tokens: kinds skip (space, comments), quoted (strings and
    quoted identifiers), semi, word and other (one character each); the texts joined give
    ``sql`` back. An unterminated string or comment comes out as ``other`` characters."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(sql):
        m = _TOKEN_RE.match(sql, pos)
        assert m is not None  # "other" matches any character
        out.append((str(m.lastgroup), m.group()))
        pos = m.end()
    return out


def read_only(sql: str) -> str:
    """``sql`` if it is one read-only statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN),
    with trailing semicolons removed.

    The server also runs it with ``readonly=2``, so a statement that slips through
    cannot write; this check gives the clear message first.

    Raises:
        InvalidArgument: empty, more than one statement, an unterminated string or
            comment, another kind of statement, or ``INTO OUTFILE``/``FORMAT`` (results
            come back as rows).
    """
    words: list[str] = []
    ended = False
    pos = 0
    while pos < len(sql):
        m = _TOKEN_RE.match(sql, pos)
        assert m is not None  # "other" matches any character
        kind, text = m.lastgroup, m.group()
        pos = m.end()
        if kind == "skip":
            continue
        if kind == "semi":
            ended = True
            continue
        if ended:
            raise InvalidArgument("send one statement at a time (there is SQL after a semicolon)")
        if kind == "other" and (text in "'`\"" or sql.startswith("/*", pos - 1)):
            raise InvalidArgument("the SQL has an unterminated string, identifier or comment")
        if kind == "word":
            words.append(text.upper())
    if not words:
        raise InvalidArgument("no SQL given: pass a SELECT, e.g. 'SELECT count() FROM messages'")
    if words[0] not in READ_ONLY_FIRST:
        raise InvalidArgument(
            f"only read-only SQL runs here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN), not {words[0]}"
        )
    bad = _FORBIDDEN_WORDS.intersection(words)
    if bad:
        raise InvalidArgument(
            f"{' and '.join(sorted(bad))} is not allowed here: results come back as rows "
            "(use --json for JSON)"
        )
    return sql.rstrip().rstrip(";").rstrip()


_END = object()


async def pump(
    loop: asyncio.AbstractEventLoop, rs: RowStream, max_rows: int, batch: int = 500
) -> AsyncGenerator[list[Any], None]:
    """Read ``rs`` in a thread; yield its rows in batches of what has arrived (at most
    ``batch`` rows each). The first batch is yielded as soon as the column names are
    known, even without rows. With ``max_rows`` (0 = no limit) reading stops after that
    many rows and the query is killed on the server. Closing the generator closes ``rs``.

    Raises:
        PulseError: what iterating ``rs`` raised (TimeplusQueryError,
            TimeplusUnreachable). StoreError: anything else it raised.
    """
    items: asyncio.Queue[Any] = asyncio.Queue(maxsize=batch * 4)

    def put(item: Any) -> bool:
        fut = asyncio.run_coroutine_threadsafe(items.put(item), loop)
        while not rs.closed:
            try:
                fut.result(0.2)
                return True
            except TimeoutError:
                continue
        fut.cancel()
        return False

    def run() -> None:
        n = 0
        try:
            for row in rs:
                if not put(row):
                    return
                n += 1
                if max_rows and n >= max_rows:
                    break
            put(_END)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            rs.close(kill=bool(max_rows) and n >= max_rows)

    thread = threading.Thread(target=run, name="pulse-tp-sql", daemon=True)
    thread.start()
    sent_header = False
    try:
        while True:
            if not sent_header:
                try:
                    first = await asyncio.wait_for(items.get(), 0.05)
                except TimeoutError:
                    if rs.columns:
                        sent_header = True
                        yield []
                    continue
            else:
                first = await items.get()
            out: list[Any] = []
            item = first
            while True:
                if item is _END:
                    if out or not sent_header:
                        yield out
                    return
                if isinstance(item, BaseException):
                    if isinstance(item, PulseError):
                        raise item
                    raise StoreError(f"reading the SQL results failed: {item}")
                out.append(item)
                if len(out) >= batch:
                    break
                try:
                    item = items.get_nowait()
                except asyncio.QueueEmpty:
                    break
            sent_header = True
            yield out
    finally:
        rs.close()
