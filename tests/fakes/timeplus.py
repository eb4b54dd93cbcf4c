"""A loopback server speaking Timeplus' HTTP protocol, for tests of the Timeplus backend.

It answers what timeplus-connect and ``pulsed.store.timeplus.http`` send, at the wire level:

- ``GET /`` answers ``Ok.`` (Proton's health answer); ``GET /proton/ping`` answers
  ``{"status":"UP"}``.
- A query is the body of a POST (or the ``query`` URL argument); values for
  ``{name:Type}`` placeholders arrive as ``param_<name>`` URL arguments, settings and
  ``database``/``query_id`` as further URL arguments, the user as Basic auth.
- The client's start-up queries are answered as Proton does: ``SELECT version(),
  timezone()`` in TabSeparated, the ``system.settings`` query in the Native format.
- ``INSERT INTO s (cols) FORMAT JSONEachRow`` bodies are parsed and kept per stream, each
  insert getting the next ``_tp_sn`` (Timeplus numbers insert batches, not rows).
- Everything else goes to ``handler(request)``, which a test sets; it returns a reply:
  ``Rows`` (a JSONEachRow body, one chunk per row), ``Fail`` (an error status with the
  exception text and code header, as Proton sends before any row), ``Text`` or a
  ``Live`` feed (an unbounded streaming query: rows, an error written mid-stream the way
  ClickHouse-derived servers do it, or the end, pushed by the test while the response
  stays open). With no handler, or when it returns None: DDL and other commands answer
  an empty 200, ``SELECT 1`` answers ``1``, other SELECTs no rows.

With ``engine=True`` the fake also runs the row SELECTs a store sends (``tests/fakes``'
``RowEngine``): columns or ``*`` (every column but ``_tp_sn``), a WHERE of ANDed
comparisons, ``position(...) > 0`` and ``IN`` over the inserted rows, ORDER BY one column,
LIMIT, and the store's latest-version query (``arg_max(c, seq)``, ``max(seq)``, GROUP BY
one column); ``table(s)`` reads what is stored, a plain ``FROM s`` on the streaming port
streams the stored rows its WHERE selects when it seeks with ``_tp_sn > N`` (without it,
as Timeplus does, only new rows) and then every matching row inserted later. Anything
else (other aggregates, subqueries) still answers no rows. That is enough to run the
store contract suite through the whole Timeplus code path, though not Timeplus' own
semantics.

Two listeners (batch and streaming port) share the state. ``stop()`` closes the
listeners and every open connection, like a server going down; ``start()`` brings it
back on the same ports.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import queue
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

VERSION = "1.6.16"
"""What the fake reports as ``version()`` (a Proton 1.6 release number)."""

SETTINGS = {
    "readonly": "0",
    "max_execution_time": "0",
    "date_time_input_format": "basic",
    "send_progress_in_http_headers": "0",
    "http_headers_progress_interval_ms": "100",
    "enable_http_compression": "0",
    "output_format_json_quote_64bit_integers": "1",
    "seek_to": "",
    "query_mode": "",
    "max_result_rows": "0",
}
"""Settings the fake lists in ``system.settings`` (a real server lists hundreds)."""

_INSERT_RE = re.compile(
    r"\s*INSERT\s+INTO\s+([`\w.]+)\s*\(([^)]*)\)\s*FORMAT\s+JSONEachRow\s*", re.IGNORECASE
)
_SETTINGS_QUERY = "FROM system.settings"


# -- replies -------------------------------------------------------------------------------


@dataclass
class Rows:
    """A complete JSONEachRow answer, one chunk per row."""

    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Text:
    """A complete plain-text answer (TabSeparated results, ``Ok.``)."""

    text: str


@dataclass
class Native:
    """A complete answer in the Native format (what the client asks for itself)."""

    data: bytes


@dataclass
class Fail:
    """An error answered before any row: HTTP ``status``, the exception code header and
    ``Code: N. DB::Exception: message (NAME)`` as the body."""

    code: int
    message: str
    name: str = "UNKNOWN"
    status: int = 500

    def body(self) -> str:
        return (
            f"Code: {self.code}. DB::Exception: {self.message}. ({self.name}) (version {VERSION})\n"
        )


class Live:
    """An unbounded streaming answer: what the test pushes is written as it comes.

    ``put(row)`` sends one JSONEachRow line in its own chunk; ``fail(code, message)``
    writes the exception text into the body (the status was 200 already) and closes;
    ``end()`` finishes the response. ``cancelled`` is set when the client goes away or
    the query is killed.
    """

    END = object()

    def __init__(self) -> None:
        self.items: queue.Queue[object] = queue.Queue()
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.request: Request | None = None

    def put(self, *rows: dict[str, Any]) -> None:
        for row in rows:
            self.items.put(row)

    def fail(self, code: int, message: str, name: str = "UNKNOWN") -> None:
        self.items.put(Fail(code, message, name))

    def end(self) -> None:
        self.items.put(self.END)


Reply = Rows | Text | Native | Fail | Live


@dataclass
class Request:
    """One request as the server saw it."""

    port: str
    """``batch`` or ``stream``."""
    method: str
    path: str
    sql: str
    params: dict[str, str]
    """``{name:Type}`` values, by name (the ``param_`` prefix removed)."""
    args: dict[str, str]
    """Every URL argument as sent (settings, database, query_id, param_*)."""
    user: str
    data: bytes = b""
    """For INSERTs: the rows after the query text."""
    time: float = field(default_factory=time.monotonic)

    @property
    def query_id(self) -> str:
        return self.args.get("query_id", "")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


def unescape(text: str) -> str:
    """A ``param_`` value as the server reads it (TabSeparated escaping: ``\\x``)."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


# -- Native format (for the client's system.settings query) -------------------------------


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _native_str(s: str) -> bytes:
    raw = s.encode()
    return _leb128(len(raw)) + raw


def native_settings_block(settings: dict[str, str]) -> bytes:
    """One Native block with columns name string, value string, readonly uint8."""
    names = list(settings)
    out = _leb128(3) + _leb128(len(names))
    out += _native_str("name") + _native_str("string")
    out += b"".join(_native_str(n) for n in names)
    out += _native_str("value") + _native_str("string")
    out += b"".join(_native_str(settings[n]) for n in names)
    out += _native_str("readonly") + _native_str("uint8")
    out += bytes(len(names))
    return out


# -- the server ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeTimeplus, port_kind: str) -> None:
        self.fake = fake
        self.port_kind = port_kind
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/" and not dict(parse_qsl(url.query)).get("query"):
            self._send_text(200, "Ok.\n")
            return
        if url.path == "/proton/ping":
            self._send_text(200, '{"status":"UP"}')
            return
        self._query(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not length and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        self._query(body)

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    # -- dispatch ------------------------------------------------------------------------

    def _query(self, body: bytes) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        sql = args.get("query", "")
        data = b""
        if body:
            if sql:
                data = body
            else:
                text = body.decode("utf-8", "replace")
                match = _INSERT_RE.match(text)
                if match:
                    sql = text[: match.end()].strip()
                    data = body[len(text[: match.end()].encode()) :]
                else:
                    sql = text
        user = ""
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user = base64.b64decode(auth[6:]).decode().split(":", 1)[0]
        params = {
            k[len("param_") :]: unescape(v) for k, v in args.items() if k.startswith("param_")
        }
        req = Request(self.server.port_kind, self.command, url.path, sql, params, args, user, data)
        fake._record(req)
        try:
            reply = fake._answer(req)
        except Exception as exc:  # a broken test handler: say so in the answer
            reply = Fail(1001, f"fake handler failed: {exc!r}", "STD_EXCEPTION")
        self._send(req, reply)

    def _send(self, req: Request, reply: Reply) -> None:
        if isinstance(reply, Text):
            self._send_text(200, reply.text, req)
        elif isinstance(reply, Native):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(reply.data)))
            self._headers(req)
            self.end_headers()
            self.wfile.write(reply.data)
            self.wfile.flush()
        elif isinstance(reply, Fail):
            self._send_text(
                reply.status, reply.body(), req, {"X-Timeplus-Exception-Code": str(reply.code)}
            )
        elif isinstance(reply, Rows):
            self._start_chunked(req)
            for row in reply.rows:
                self._chunk(json.dumps(row).encode() + b"\n")
            self._chunk(b"")
        elif isinstance(reply, Live):
            self._live(req, reply)
        else:  # pragma: no cover - a test returned something else
            raise TypeError(f"unknown reply {reply!r}")

    def _headers(self, req: Request | None) -> None:
        self.send_header("X-Timeplus-Query-Id", req.query_id if req else "")
        self.send_header("X-Timeplus-Timezone", "UTC")
        self.send_header("X-Timeplus-Summary", '{"read_rows":"0"}')

    def _send_text(
        self,
        status: int,
        text: str,
        req: Request | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        raw = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        self._headers(req)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()

    def _start_chunked(self, req: Request) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self._headers(req)
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _client_gone(self) -> bool:
        try:
            ready, _, _ = select.select([self.connection], [], [], 0)
            if ready:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
        return False

    def _live(self, req: Request, live: Live) -> None:
        fake = self.server.fake
        live.request = req
        self._start_chunked(req)
        live.started.set()
        try:
            while True:
                if fake._stopping.is_set() or req.query_id in fake.killed or self._client_gone():
                    live.cancelled.set()
                    self.close_connection = True
                    return
                try:
                    item = live.items.get(timeout=0.01)
                except queue.Empty:
                    continue
                if item is Live.END:
                    self._chunk(b"")
                    return
                if isinstance(item, Fail):
                    # What ClickHouse-derived servers do once the status line is out: the
                    # exception text goes into the body, then the connection closes.
                    self._chunk(item.body().encode())
                    self.close_connection = True
                    return
                self._chunk(json.dumps(item).encode() + b"\n")
        except OSError:
            live.cancelled.set()
            self.close_connection = True


class FakeTimeplus:
    """A fake Timeplus server on loopback: ``with FakeTimeplus() as tp: ...``.

    Attributes:
        handler: ``(Request) -> Reply | None``; None falls back to the defaults.
        requests: every request, in arrival order.
        streams: rows inserted per stream (backticks and database removed), each with
            ``_tp_sn`` (the insert's sequence number).
        killed: query ids named by ``KILL QUERY``.
        users: user → password accepted (empty: anyone).
    """

    def __init__(
        self, handler: Callable[[Request], Reply | None] | None = None, engine: bool = False
    ) -> None:
        self.handler = handler
        self.engine = RowEngine(self) if engine else None
        self._followers: list[tuple[str, Callable[[dict[str, Any]], bool], Any]] = []
        self.requests: list[Request] = []
        self.streams: dict[str, list[dict[str, Any]]] = {}
        self.killed: set[str] = set()
        self.insert_failures = 0
        """How many coming INSERTs answer 503 (as an overloaded server does)."""
        self._sn = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self.batch_port = 0
        self.stream_port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeTimeplus:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.batch_port}"

    def start(self) -> FakeTimeplus:
        """Listen (again, on the same ports after a stop)."""
        self._stopping.clear()
        batch = _Server(("127.0.0.1", self.batch_port), self, "batch")
        stream = _Server(("127.0.0.1", self.stream_port), self, "stream")
        self.batch_port = batch.server_address[1]
        self.stream_port = stream.server_address[1]
        self._servers = [batch, stream]
        self._threads = []
        for srv in self._servers:
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
            t.daemon = True
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection, as a crashing server does."""
        self._stopping.set()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join(5)
        self._servers = []

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # -- requests ----------------------------------------------------------------------

    def _record(self, req: Request) -> None:
        with self._cond:
            self.requests.append(req)
            self._cond.notify_all()

    def wait_request(
        self, predicate: Callable[[Request], bool], timeout: float = 10.0, after: int = 0
    ) -> Request:
        """The first request (from index ``after`` on) matching ``predicate``.

        Raises:
            TimeoutError: none arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for req in self.requests[after:]:
                    if predicate(req):
                        return req
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching request reached the fake Timeplus")
                self._cond.wait(left)

    def queries(self, contains: str = "") -> list[Request]:
        """Requests whose SQL contains ``contains``."""
        with self._lock:
            return [r for r in self.requests if contains in r.sql]

    def rows(self, stream: str) -> list[dict[str, Any]]:
        """Rows inserted into ``stream`` so far (with ``_tp_sn``)."""
        with self._lock:
            return list(self.streams.get(stream, []))

    def wait_rows(self, stream: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``stream`` holds at least ``n`` rows.

        Raises:
            TimeoutError: it did not within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.streams.get(stream, [])) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    have = len(self.streams.get(stream, []))
                    raise TimeoutError(f"{stream} holds {have} rows, not {n}")
                self._cond.wait(left)
            return list(self.streams[stream])

    # -- answers -----------------------------------------------------------------------

    def _answer(self, req: Request) -> Reply:
        sql = req.sql.strip()
        if sql.startswith("SELECT version(), timezone()"):
            return Text(f"{VERSION}\tUTC\n")
        if _SETTINGS_QUERY in sql:
            return Native(native_settings_block(SETTINGS))
        upper = sql.upper()
        if upper.startswith("KILL QUERY"):
            qid = req.params.get("qid") or next(iter(req.params.values()), "")
            with self._lock:
                self.killed.add(qid)
            return Text("")
        if self.handler is not None:
            reply = self.handler(req)
            if reply is not None:
                return reply
        match = _INSERT_RE.match(sql + " ")
        if match:
            return self._insert(match.group(1), req.data)
        ping = re.fullmatch(r"SELECT\s+1(?:\s+AS\s+(\w+))?(\s+FORMAT\s+\w+)?", sql, re.I)
        if ping:
            return Rows([{ping.group(1) or "1": 1}]) if "FORMAT JSON" in upper else Text("1\n")
        known = self._known(sql, req)
        if known is not None:
            return known
        if self.engine is not None and upper.startswith("SELECT"):
            answer = self.engine.answer(req)
            if answer is not None:
                return answer
        if upper.startswith(("SELECT", "WITH")):
            return Rows([])
        return Text("")

    def _known(self, sql: str, req: Request) -> Reply | None:
        """Answers to the few bookkeeping queries whose result follows from the inserted
        rows alone: which ids a stream holds, and how far its historical store reaches."""
        m = re.search(r"FROM table\(([`\w.]+)\)", sql)
        if not m:
            return None
        name = m.group(1).replace("`", "").split(".")[-1]
        rows = self.rows(name)
        if sql.startswith("SELECT DISTINCT `id` AS id") and "IN {p0:array(string)}" in sql:
            wanted = set(ast.literal_eval(req.params["p0"]))
            return Rows([{"id": i} for i in dict.fromkeys(r["id"] for r in rows) if i in wanted])
        if sql.startswith("SELECT count() AS n, max(_tp_sn) AS sn"):
            top = max((r["_tp_sn"] for r in rows), default=0)
            return Rows([{"n": str(len(rows)), "sn": str(top)}])
        return None

    def _insert(self, table: str, data: bytes) -> Reply:
        if self.insert_failures > 0:
            self.insert_failures -= 1
            return Fail(202, "Too many simultaneous queries", "TOO_MANY_SIMULTANEOUS_QUERIES", 503)
        name = table.replace("`", "").split(".")[-1]
        rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        with self._cond:
            sn = self._sn
            self._sn += 1
            added = [{**r, "_tp_sn": sn} for r in rows]
            self.streams.setdefault(name, []).extend(added)
            self._cond.notify_all()
            self._followers = [f for f in self._followers if not f[2].cancelled.is_set()]
            followers = [(p, live) for n, p, live in self._followers if n == name]
        for predicate, live in followers:
            if not live.cancelled.is_set():
                live.put(*(r for r in added if predicate(r)))
        return Text("")


class Unsupported(Exception):
    """The engine does not run this query (the fake then answers no rows)."""


class RowEngine:
    """Runs the row SELECTs of the Timeplus store over the fake's inserted rows."""

    def __init__(self, fake: FakeTimeplus) -> None:
        self.fake = fake

    def answer(self, req: Request) -> Reply | None:
        import sqlglot
        from sqlglot import exp

        sql = re.sub(r"\s+FORMAT\s+\w+\s*$", "", req.sql)
        try:
            tree = sqlglot.parse_one(sql, read="timeplus")
        except Exception:
            return None
        if not isinstance(tree, exp.Select) or tree.args.get("distinct"):
            return None
        source = tree.args["from"].this
        historical = isinstance(source, exp.Table) and isinstance(source.this, exp.Anonymous)
        if historical:
            source = source.this.expressions[0]
        name = source.name
        where = tree.args.get("where")
        try:
            predicate = self._predicate(where.this if where else None, req.params)
        except Unsupported:
            return None
        if tree.args.get("group"):
            return self._latest(tree, name, predicate)
        names: list[str] = []
        for e in tree.expressions:
            if isinstance(e, exp.Star):
                names.append("*")
            elif isinstance(e, exp.Column):
                names.append(e.name)
            else:
                return None  # aggregates and expressions: not this engine's job
        if not historical and req.port == "stream":
            # Stored rows the WHERE selects (only when it seeks by _tp_sn), then each
            # matching row as it is inserted: taken and registered under the lock, so no
            # insert falls in between.
            seeks = where is not None and any(
                c.name == "_tp_sn" for c in where.find_all(exp.Column)
            )
            live = Live()
            with self.fake._lock:
                stored = [r for r in self.fake.streams.get(name, []) if predicate(r)]
                live.put(*(_project(r, names) for r in (stored if seeks else [])))
                self.fake._followers.append((name, predicate, _Projecting(live, names)))
            return live
        rows = [r for r in self.fake.rows(name) if predicate(r)]
        order = tree.args.get("order")
        if order is not None:
            [key] = order.expressions
            rows.sort(key=lambda r: r.get(key.this.name), reverse=bool(key.args.get("desc")))
        limit = tree.args.get("limit")
        if limit is not None:
            rows = rows[: int(limit.expression.this)]
        return Rows([_project(r, names) for r in rows])

    def _latest(self, tree: Any, name: str, predicate: Callable[[dict[str, Any]], bool]) -> Reply:
        """The store's latest-version query: per value of the GROUP BY column, the row
        with the highest seq (``arg_max(c, seq)``, ``max(seq)``, the key itself)."""
        from sqlglot import exp

        [key] = tree.args["group"].expressions
        best: dict[Any, dict[str, Any]] = {}
        for r in self.fake.rows(name):
            if predicate(r):
                k = r.get(key.name)
                if k not in best or r["seq"] > best[k]["seq"]:
                    best[k] = r
        out = []
        for k in sorted(best, key=str):
            row: dict[str, Any] = {}
            for e in tree.expressions:
                inner = e.this if isinstance(e, exp.Alias) else e
                if isinstance(inner, exp.ArgMax | exp.Max | exp.Column):
                    col = inner.this if not isinstance(inner, exp.Column) else inner
                    row[e.alias_or_name] = _quoted(best[k].get(col.name))
                else:
                    return Rows([])
            out.append(row)
        return Rows(out)

    def _predicate(self, node: Any, params: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
        if node is None:
            return lambda r: True
        self._value(node, params, {})  # raises Unsupported early for unknown shapes
        return lambda r: bool(self._value(node, params, r))

    def _value(self, node: Any, params: dict[str, str], row: dict[str, Any]) -> Any:
        from sqlglot import exp

        if isinstance(node, exp.Paren):
            return self._value(node.this, params, row)
        if isinstance(node, exp.And):
            return self._value(node.this, params, row) and self._value(node.expression, params, row)
        compare = {
            exp.EQ: lambda a, b: a == b,
            exp.NEQ: lambda a, b: a != b,
            exp.GT: lambda a, b: a > b,
            exp.GTE: lambda a, b: a >= b,
            exp.LT: lambda a, b: a < b,
            exp.LTE: lambda a, b: a <= b,
        }
        for kind, fn in compare.items():
            if type(node) is kind:
                left = self._value(node.this, params, row)
                right = self._value(node.expression, params, row)
                if not row:
                    return True
                return fn(left, right)
        if isinstance(node, exp.In):
            value = self._value(node.this, params, row)
            [values] = [self._value(e, params, row) for e in node.expressions] or [None]
            if node.args.get("query") is not None or values is None:
                raise Unsupported
            return value in values
        if isinstance(node, exp.StrPosition):
            hay = self._value(node.this, params, row)
            needle = self._value(node.args["substr"], params, row)
            return (str(hay).find(str(needle)) + 1) if row else 1
        if isinstance(node, exp.Anonymous) and node.name.lower() == "to_string":
            value = self._value(node.expressions[0], params, row)
            return _to_string(value)
        if isinstance(node, exp.Column):
            return row.get(node.name) if row else None
        if isinstance(node, exp.Placeholder):
            return _param(params[str(node.this)], node.args.get("kind"))
        if isinstance(node, exp.Literal):
            return node.this if node.is_string else int(node.this)
        if isinstance(node, exp.Neg):
            return -self._value(node.this, params, row)
        raise Unsupported(type(node).__name__)


class _Projecting:
    """A Live that keeps only some columns of the rows put into it."""

    def __init__(self, live: Live, names: list[str]) -> None:
        self.live = live
        self.names = names
        self.cancelled = live.cancelled

    def put(self, *rows: dict[str, Any]) -> None:
        self.live.put(*(_project(r, self.names) for r in rows))


def _project(row: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The columns ``names`` of a stored row (``*``: every column but ``_tp_sn``), as
    Timeplus writes them."""
    out: dict[str, Any] = {}
    for n in names:
        if n == "*":
            out.update({k: _quoted(v) for k, v in row.items() if k != "_tp_sn"})
        else:
            out[n] = _quoted(row.get(n))
    return out


def _quoted(value: Any) -> Any:
    """64-bit integers as Timeplus writes them in JSON (quoted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _param(text: str, kind: Any) -> Any:
    """A ``param_`` value as the server reads it for the placeholder's type."""
    t = kind.sql(dialect="timeplus").lower() if kind is not None else "string"
    if t.startswith(("int", "uint", "bigint")):
        return int(text)
    if t.startswith(("float", "double")):
        return float(text)
    if t in ("bool", "boolean"):
        return text.lower() in ("true", "1")
    if t.startswith("array"):
        return ast.literal_eval(text)
    return text


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return (
            "[" + ",".join(f"'{v}'" if isinstance(v, str) else _to_string(v) for v in value) + "]"
        )
    return str(value)


def jsonl(rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as a JSONEachRow body."""
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)
