"""HTTP plumbing of the Timeplus backend: timeplus-connect clients, errors, streaming reads.

Facts this module is built on (reference/timeplus-notes.md and the timeplus-connect
0.8.17 source):

- Batch inserts and historical queries go to the batch port (8123); unbounded streaming
  queries to the streaming port (3218). timeplus-connect's ``query()`` waits for the end
  of a query and its stream contexts buffer before yielding, so a streaming read uses
  ``raw_stream`` with JSONEachRow and reads the chunked response as it arrives; closing
  the response (``shutdown`` of its socket, from any thread) stops it at once, and a
  ``KILL QUERY`` by ``query_id`` stops it on the server.
- The client is synchronous: every call here blocks and is made from a worker thread.
  Sessions are off, and each query still takes a client of its own from a small pool.
  Constructing a client runs two queries (version and settings), so clients are kept.
- ``ping()`` always returns True in timeplus-connect; health is a real ``SELECT 1``.
- A streaming read has no read timeout (an idle tail stays open); the client computes
  a progress interval from its timeout at construction, so the timeout is replaced after.
- An error after the status line arrives as ``Code: N. DB::Exception: ...`` text in the
  body (ClickHouse heritage); before it, as an error status with that text.

The driver is imported lazily (daemon start-up time).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulsed.errors import ConfigError, StoreError, Unavailable
from pulsed.store.timeplus.sql import kill_query
from pulsed.store.timeplus.sqlparts import Statement

log = logging.getLogger("pulsed.store.timeplus")

FORMAT = "JSONEachRow"
COMPACT = "JSONCompactEachRowWithNamesAndTypes"
"""Rows as JSON arrays after a line of column names and a line of types (``pulsectl sql``)."""
_CODE_RE = re.compile(
    r"Code: (\d+)\. DB::Exception: (.*?)(?: \(([A-Z_]+)\))?(?: \(version [^)]*\))?\.?\s*$", re.S
)
_HTTP_CODE_RE = re.compile(r"error code (\d+)|response code (\d+)")

CONFIG_CODES = {
    81: "the database does not exist (create it, or set [store.timeplus] database)",
    192: "the user does not exist (set [store.timeplus] user)",
    193: "the password is wrong (set [store.timeplus] password)",
    194: "the user needs a password (set [store.timeplus] password)",
    497: "the user lacks a grant (see README: Timeplus, grants)",
    516: "authentication failed (check [store.timeplus] user and password)",
}
"""Server error codes that no retry fixes: the configuration must change."""


class TimeplusUnreachable(Unavailable):
    """Timeplus did not answer: refused, timed out, dropped the connection, or 502-504.

    Attributes:
        maybe_sent: the request may have reached the server (it was sent, then the
            connection timed out or dropped); False when no connection was made or the
            server refused it (502-504).
    """

    def __init__(self, message: str, maybe_sent: bool = True) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


class TimeplusQueryError(StoreError):
    """Timeplus answered with an exception.

    Attributes:
        code: the server's error code (0 when none was given).
    """

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class TimeplusConfigError(ConfigError):
    """Timeplus refused the configured user, password or database."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach one Timeplus server."""

    host: str = "localhost"
    batch_port: int = 8123
    stream_port: int = 3218
    user: str = "default"
    password: str = ""
    database: str = "default"
    secure: bool = False
    verify: bool = True
    connect_timeout_s: float = 5.0
    query_timeout_s: float = 30.0

    @property
    def where(self) -> str:
        """The batch port's URL, for messages: ``http://host:8123``."""
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.host}:{self.batch_port}"


def server_error(text: str) -> tuple[int, str]:
    """The error code and message in a ``Code: N. DB::Exception: ...`` text (0 when none)."""
    m = _CODE_RE.search(text)
    if m:
        message = m.group(2).strip().rstrip(".")
        return int(m.group(1)), message + (f" ({m.group(3)})" if m.group(3) else "")
    return 0, text.strip()


def translate(exc: BaseException, ep: Endpoint, doing: str) -> Exception:
    """The Pulse error a driver or network exception stands for.

    Returns:
        TimeplusUnreachable for network failures and 502-504, TimeplusConfigError for
        authentication, grant and database errors, TimeplusQueryError for other server
        errors, StoreError otherwise.
    """
    from timeplus_connect.driver.exceptions import DatabaseError, OperationalError

    text = str(exc)
    where = ep.where
    if isinstance(exc, TimeplusUnreachable | TimeplusQueryError | TimeplusConfigError):
        return exc
    if isinstance(exc, OperationalError | OSError | TimeoutError):
        reason, sent = _network_reason(text)
        return TimeplusUnreachable(f"timeplus unreachable at {where}: {reason} ({doing})", sent)
    if isinstance(exc, DatabaseError):
        code, message = server_error(text)
        m = _HTTP_CODE_RE.search(text)
        status = int(m.group(2)) if m and m.group(2) else 0
        if not code and m and m.group(1):
            code = int(m.group(1))
        if not code and status in (502, 503, 504):
            return TimeplusUnreachable(
                f"timeplus unreachable at {where}: HTTP {status} ({doing})", maybe_sent=False
            )
        if code in (202, 203) or (status == 503 and code):  # too many queries, no free connection
            return TimeplusUnreachable(
                f"timeplus at {where} is overloaded: {_short(message)} ({doing})", maybe_sent=False
            )
        if code in CONFIG_CODES:
            return TimeplusConfigError(
                f"Timeplus at {where} refused {doing}: {CONFIG_CODES[code]}: {_short(message)}"
            )
        return TimeplusQueryError(f"Timeplus at {where} failed {doing}: {_short(message)}", code)
    return StoreError(f"Timeplus at {where} failed {doing}: {type(exc).__name__}: {_short(text)}")


_NOT_SENT = (
    ("refused", "refused to connect"),
    ("failed to establish", "cannot connect"),
    ("name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("no route to host", "no route to host"),
    ("connect timeout", "no connection in time"),
    ("network is unreachable", "network unreachable"),
)
_MAYBE_SENT = (
    ("read timed out", "no answer in time"),
    ("remotedisconnected", "closed the connection"),
    ("connection reset", "reset the connection"),
    ("connection aborted", "aborted the connection"),
    ("broken pipe", "the connection broke"),
    ("incompleteread", "answer cut short"),
)


def _network_reason(text: str) -> tuple[str, bool]:
    """A short reason for a network failure, and whether the request may have been sent."""
    low = text.lower()
    for needle, reason in _NOT_SENT:
        if needle in low:
            return reason, False
    for needle, reason in _MAYBE_SENT:
        if needle in low:
            return reason, True
    return _short(text, 160), True


def _short(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Http:
    """Clients for one Timeplus server; every method blocks (call it from a thread).

    ``pool`` is how many idle clients per port are kept for reuse.

    Raises (every method that talks to the server, as ``translate`` maps them):
        TimeplusUnreachable: no answer, a dropped connection, HTTP 502-504, overload.
        TimeplusConfigError: the user, password, database or a grant was refused.
        TimeplusQueryError: the server failed the statement.
        StoreError: closed, or another failure of the driver.
    """

    def __init__(self, ep: Endpoint, pool: int = 4) -> None:
        self.ep = ep
        self._pools: dict[str, queue.LifoQueue[Any]] = {
            "batch": queue.LifoQueue(),
            "stream": queue.LifoQueue(),
        }
        self._keep = pool
        self._closed = False
        self._streams: set[RowStream] = set()
        self._lock = threading.Lock()

    # -- clients -----------------------------------------------------------------------

    def _new_client(self, kind: str) -> Any:
        import timeplus_connect
        from urllib3 import Timeout

        # The driver (and urllib3 under it) log a warning per failed request or retry;
        # the store reports outages itself, once, in its health and log.
        logging.getLogger("timeplus_connect").setLevel(logging.ERROR)
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

        port = self.ep.batch_port if kind == "batch" else self.ep.stream_port
        client: Any = timeplus_connect.get_client(
            host=self.ep.host,
            port=port,
            username=self.ep.user,
            password=self.ep.password,
            database=self.ep.database,
            secure=self.ep.secure,
            verify=self.ep.verify,
            connect_timeout=max(1, round(self.ep.connect_timeout_s)),
            send_receive_timeout=max(1, round(self.ep.query_timeout_s)),
            autogenerate_session_id=False,
            compress=False,
            query_retries=0,
        )
        if kind == "stream":
            # No read timeout: an idle tail waits as long as no row comes.
            client.timeout = Timeout(connect=self.ep.connect_timeout_s, read=None)
        return client

    @contextlib.contextmanager
    def _client(self, kind: str, doing: str) -> Iterator[Any]:
        if self._closed:
            raise StoreError("the Timeplus store is closed")
        pool = self._pools[kind]
        try:
            client = pool.get_nowait()
        except queue.Empty:
            try:
                client = self._new_client(kind)
            except Exception as exc:
                raise translate(exc, self.ep, doing) from None
        ok = False
        try:
            yield client
            ok = True
        finally:
            if ok and not self._closed and pool.qsize() < self._keep:
                pool.put(client)
            else:
                with contextlib.suppress(Exception):
                    client.close()

    # -- batch port --------------------------------------------------------------------

    def query(
        self,
        stmt: Statement,
        settings: Mapping[str, Any] | None = None,
        doing: str = "a query",
    ) -> list[dict[str, Any]]:
        """Run a bounded query; its rows as dicts (64-bit integers arrive as text)."""
        with self._client("batch", doing) as client:
            try:
                raw = client.raw_query(
                    stmt.sql,
                    parameters=stmt.params or None,
                    settings=dict(settings or {}),
                    fmt=FORMAT,
                )
            except Exception as exc:
                raise translate(exc, self.ep, doing) from None
        return parse_lines(raw)

    def command(self, sql: str, doing: str = "a command") -> None:
        """Run a statement without parameters or result (DDL)."""
        with self._client("batch", doing) as client:
            try:
                client.raw_query(sql)
            except Exception as exc:
                raise translate(exc, self.ep, doing) from None

    def insert(self, table: str, columns: list[str], body: bytes, doing: str) -> None:
        """Insert a JSONEachRow ``body`` into ``table`` (a quoted, qualified name)."""
        with self._client("batch", doing) as client:
            try:
                client.raw_insert(table, columns, insert_block=body, fmt=FORMAT)
            except Exception as exc:
                raise translate(exc, self.ep, doing) from None

    def ping(self) -> None:
        """``SELECT 1``: raises unless Timeplus answers it."""
        rows = self.query(Statement("SELECT 1 AS ok"), doing="a health check")
        if not rows:
            raise TimeplusUnreachable(f"timeplus at {self.ep.where} answered SELECT 1 with nothing")

    def kill(self, query_id: str) -> None:
        """``KILL QUERY`` for ``query_id`` (best effort: failures are logged)."""
        stmt = kill_query(query_id)
        try:
            with self._client("batch", "KILL QUERY") as client:
                client.raw_query(stmt.sql, parameters=stmt.params)
        except Exception as exc:
            log.debug("KILL QUERY %s failed: %s", query_id, exc)

    # -- streaming port ----------------------------------------------------------------

    def stream(
        self,
        stmt: Statement,
        settings: Mapping[str, Any] | None = None,
        doing: str = "a streaming query",
        fmt: str = FORMAT,
    ) -> RowStream:
        """Start a query on the streaming port and return its rows as they arrive (as
        dicts; as lists with ``COMPACT``). Closing the RowStream cancels it."""
        query_id = f"pulse-{uuid.uuid4()}"
        with self._client("stream", doing) as client:
            try:
                resp = _raw_stream(client, stmt, settings, query_id, fmt)
            except Exception as exc:
                raise translate(exc, self.ep, doing) from None
        rs = RowStream(resp, query_id, self, doing, compact=fmt == COMPACT)
        with self._lock:
            self._streams.add(rs)
        return rs

    def _forget(self, rs: RowStream) -> None:
        with self._lock:
            self._streams.discard(rs)

    def close(self) -> None:
        """Close every client and running stream."""
        self._closed = True
        with self._lock:
            streams = list(self._streams)
        for rs in streams:
            rs.close(kill=False)
        for pool in self._pools.values():
            while True:
                try:
                    client = pool.get_nowait()
                except queue.Empty:
                    break
                with contextlib.suppress(Exception):
                    client.close()


def _raw_stream(
    client: Any, stmt: Statement, settings: Mapping[str, Any] | None, query_id: str, fmt: str
) -> Any:
    """``client.raw_stream`` with our query id (a transport setting) and settings."""
    merged = {"query_id": query_id, **dict(settings or {})}
    return client.raw_stream(stmt.sql, parameters=stmt.params or None, settings=merged, fmt=fmt)


def parse_lines(raw: bytes) -> list[dict[str, Any]]:
    """JSONEachRow text as dicts.

    Raises:
        TimeplusQueryError: the text holds an exception instead of a row.
    """
    out = []
    for line in raw.splitlines():
        if line.strip():
            out.append(parse_line(line))
    return out


def parse_line(line: bytes, compact: bool = False) -> Any:
    """One JSONEachRow line as a dict (a JSON array line as a list with ``compact``).

    Raises:
        TimeplusQueryError: the line is an exception the server wrote into the body.
    """
    try:
        obj = json.loads(line)
    except ValueError:
        text = line.decode("utf-8", "replace")
        code, message = server_error(text)
        if code or "Exception" in text:
            raise TimeplusQueryError(f"Timeplus failed the query: {message}", code) from None
        raise TimeplusQueryError(f"Timeplus sent a line that is not JSON: {_short(text)}") from None
    if compact and isinstance(obj, list):
        return obj
    if not isinstance(obj, dict):
        if isinstance(obj, str) and "Exception" in obj:  # newer servers quote it
            code, message = server_error(obj)
            raise TimeplusQueryError(f"Timeplus failed the query: {message}", code)
        raise TimeplusQueryError(
            f"Timeplus sent a line that is not a JSON object: {_short(str(obj))}"
        )
    if "__exception__" in obj:
        code, message = server_error(str(obj["__exception__"]))
        raise TimeplusQueryError(f"Timeplus failed the query: {message}", code)
    return obj


class RowStream:
    """The rows of one running query, each as soon as its line arrives.

    Iterate it from one thread; ``close()`` from any thread ends it at once: the socket
    is shut down (the blocked read returns), the response closed, and unless told not to
    a ``KILL QUERY`` is sent so the server stops too. After a close, iteration ends
    quietly.

    Iteration raises:
        TimeplusQueryError: the server wrote an exception into the body.
        TimeplusUnreachable: the connection dropped before the response ended.
    """

    def __init__(
        self, resp: Any, query_id: str, http: Http, doing: str, compact: bool = False
    ) -> None:
        self.resp = resp
        self.query_id = query_id
        self.closed = False
        self.compact = compact
        self.columns: list[str] = []
        """With ``compact``: the column names and types (from the first two lines)."""
        self.types: list[str] = []
        self._http = http
        self._doing = doing
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Any]:
        buf = b""
        try:
            while True:
                try:
                    data = self.resp.read1(65536)
                except Exception as exc:
                    if self.closed:
                        return
                    if buf.strip():
                        parse_line(buf, self.compact)  # an exception text raises here
                    where = self._http.ep.where
                    raise TimeplusUnreachable(
                        f"timeplus at {where} dropped {self._doing}: {_short(str(exc))}"
                    ) from None
                if not data:
                    if buf.strip() and not self.closed:
                        row = self._take(parse_line(buf, self.compact))
                        if row is not None:
                            yield row
                    return
                buf += data
                while True:
                    nl = buf.find(b"\n")
                    if nl < 0:
                        break
                    line, buf = buf[:nl], buf[nl + 1 :]
                    if line.strip():
                        row = self._take(parse_line(line, self.compact))
                        if row is not None:
                            yield row
                    if self.closed:
                        return
        finally:
            self.close(kill=False)

    def _take(self, item: Any) -> Any:
        """The row in ``item``, or None for a header line (compact: names, then types)."""
        if not self.compact:
            return item
        if not isinstance(item, list):
            raise TimeplusQueryError("Timeplus sent a row that is not a JSON array")
        if not self.columns:
            self.columns = [str(c) for c in item]
            return None
        if not self.types:
            self.types = [str(t) for t in item]
            return None
        return item

    def close(self, kill: bool = True) -> None:
        """End the read now (safe from any thread, more than once)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
        with contextlib.suppress(Exception):
            self.resp.shutdown()
        with contextlib.suppress(Exception):
            self.resp.close()
        with contextlib.suppress(Exception):
            self.resp.release_conn()
        self._http._forget(self)
        if kill and not self._http._closed:
            threading.Thread(
                target=self._http.kill, args=(self.query_id,), name="pulse-tp-kill", daemon=True
            ).start()
