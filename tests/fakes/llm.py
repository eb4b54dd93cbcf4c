"""A loopback fake LLM server speaking the Anthropic and OpenAI wire protocols.

``FakeLLM`` runs a real HTTP/1.1 server on 127.0.0.1 (a random port unless told) in a
background thread, so it serves an asyncio test in the same process as well as a daemon
running in another process. It speaks:

- Anthropic ``POST /v1/messages``: SSE ``message_start``, ``content_block_start`` /
  ``content_block_delta`` (``text_delta``, ``input_json_delta``) / ``content_block_stop``,
  ``message_delta`` (usage, stop_reason), ``message_stop``; or one JSON ``Message`` when the
  request does not ask for a stream.
- OpenAI ``POST /v1/chat/completions``: SSE ``data:`` chunks with ``delta.content`` and
  ``delta.tool_calls`` (arguments split across chunks), a final ``finish_reason`` chunk, a
  usage chunk when ``stream_options.include_usage`` is set, then ``data: [DONE]``; or one
  JSON ``ChatCompletion`` without ``stream``.

Routing is by path suffix (``.../messages``, ``.../chat/completions``), so either base URL
works for either SDK. ``GET /v1/models`` lists one model. ``POST .../embeddings`` (OpenAI)
answers deterministic vectors, a hashed bag of words (``embed_text``), outside the script.

Scripting: ``fake.script(...)`` queues behaviours, consumed one per request, in order::

    fake.script(
        Fail(status=429),                       # answered with 429 + retry-after-ms: 1
        Reply(text="Hello there", chunk_size=3),
        Reply(tool_calls=[("list_dir", {"path": "."})]),
        Drop(after_chunks=2),                   # connection closed mid-stream
        Hang(0.5),                              # a slow server: the answer comes after 0.5 s
    )

With an empty queue a request gets ``Reply(text="echo: <last user text>")`` (a compaction
request: a short "summary of N exchanges" instead) (zero latency
unless ``default_delay_s`` is set). ``fake.requests`` lists what was received.

Standalone: ``python -m tests.fakes.llm [--port N] [--delay-s X]`` prints its OpenAI base
URL (``http://127.0.0.1:PORT/v1``) on stdout and serves until interrupted; the Anthropic
base URL is the same without ``/v1``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeLLM", "Reply", "Fail", "Drop", "Hang", "Received"]

ToolCallSpec = tuple[str, Any] | tuple[str, Any, str]
"""``(name, arguments)`` or ``(name, arguments, id)``; ``arguments`` is a dict (sent as
JSON) or a str (sent verbatim, e.g. to test invalid JSON)."""


@dataclass
class Reply:
    """A successful answer.

    Attributes:
        text: the assistant's text, streamed in ``chunk_size``-character pieces.
        tool_calls: tool calls after the text; their JSON arguments are streamed in
            ``chunk_size``-character pieces too (so they always split across chunks).
        chunk_size: characters per streamed piece.
        delay_s: pause before each streamed piece (text or arguments).
        usage: token counts in Pulse's convention: ``input_tokens`` (uncached),
            ``output_tokens``, ``cache_read_tokens``, ``cache_write_tokens``. Missing keys
            are estimated (about 4 characters a token). For OpenAI, ``prompt_tokens`` is
            input + cache read + cache write and ``cached_tokens`` is the cache read.
        stop_reason: overrides the stop reason (Anthropic: end_turn / tool_use; OpenAI:
            stop / tool_calls by default).
        model: the model reported back (default: the requested one).
        status: HTTP status of the answer (200).
    """

    text: str = ""
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    chunk_size: int = 8
    delay_s: float = 0.0
    usage: dict[str, int] | None = None
    stop_reason: str = ""
    model: str = ""
    status: int = 200


@dataclass
class Fail:
    """An HTTP error answer, ``times`` requests in a row.

    The body has the protocol's error shape; ``retry_after_ms`` (default 1) is sent as the
    ``retry-after-ms`` header so the SDKs' retries are immediate (None: no header).
    """

    status: int = 500
    times: int = 1
    message: str = ""
    retry_after_ms: int | None = 1
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Drop:
    """A stream that breaks: ``after_chunks`` text pieces of ``text`` are sent, then the
    connection is closed without ending the chunked body (the client sees a protocol
    error). With ``clean=True`` the HTTP body ends properly but the protocol's final events
    (``message_delta``/``message_stop``; ``finish_reason``/usage/``[DONE]``) never come."""

    after_chunks: int = 2
    text: str = "This answer is cut off before it ends."
    chunk_size: int = 4
    clean: bool = False
    error: str = ""
    """If set, the stream ends with an in-stream error instead: Anthropic's ``event: error``
    with this error type (e.g. "overloaded_error"), or an OpenRouter-style
    ``data: {"error": {"message": ..., "code": 502}}`` chunk."""


@dataclass
class Hang:
    """A slow server: no answer for ``seconds``, then the answer goes on as if nothing
    happened (``reply``, or the default echo reply). A client whose timeout is shorter sees
    a timeout; stopping the server ends the hang by closing the connection.

    With ``after_chunks`` set, the response starts and that many pieces of ``reply`` (or
    of ``text``) are sent before the pause: a stall mid-stream rather than before the
    headers."""

    seconds: float = 30.0
    after_chunks: int | None = None
    reply: Reply | None = None
    text: str = "This answer stalls mid-way."
    chunk_size: int = 4
    until: threading.Event | None = None
    """If set, the hang (before the headers) ends as soon as this is set (at the latest
    after ``seconds``), so a test can hold an answer until it has done something."""
    started: threading.Event | None = None
    """If set, set when the request arrives and the hang begins."""


@dataclass
class Received:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names lower-cased."""
    body: dict[str, Any]
    protocol: str
    """anthropic | openai | other."""

    def __getitem__(self, key: str) -> Any:
        """``received["model"]`` reads the JSON body."""
        return self.body[key]


Script = Reply | Fail | Drop | Hang


class _Done(Exception):
    """Raised inside the handler to stop writing (dropped or hung connection)."""


class FakeLLM:
    """A scripted fake LLM server on 127.0.0.1; see the module docstring.

    Usable as a context manager (``with FakeLLM() as fake:``) or with ``start()``/``stop()``.
    Thread-safe: scripts and the request log may be used from any thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default_delay_s: float = 0.0,
        default_chunk_size: int = 8,
        prefix_cache: bool = False,
    ) -> None:
        self.host = host
        self._port = port
        self.default_delay_s = default_delay_s
        self.default_chunk_size = default_chunk_size
        self._lock = threading.Lock()
        self._queue: deque[Script] = deque()
        self._requests: list[Received] = []
        self.embedding_requests: list[dict[str, Any]] = []
        """Bodies of ``/v1/embeddings`` requests (answered by ``embeddings_answer``, never
        from the script, and not in ``requests``)."""
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.prefix_cache = prefix_cache
        """Emulate provider prompt caching: the longest run of leading prompt pieces
        (system, tools, then each message, byte-identical) shared with an earlier request
        is reported as cache reads, the rest as input."""
        self._prefixes: list[list[str]] = []

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeLLM:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self._port), _Handler)
        server.fake = self
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"fake-llm-{self._port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """Base URL for the OpenAI SDK: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self.host}:{self._port}/v1"

    @property
    def anthropic_url(self) -> str:
        """Base URL for the Anthropic SDK: ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self._port}"

    # scripting -------------------------------------------------------------------------
    def script(self, *items: Script | str) -> None:
        """Queue behaviours, consumed one per request; a str is ``Reply(text=...)``."""
        with self._lock:
            for item in items:
                if isinstance(item, str):
                    item = Reply(text=item)
                if isinstance(item, Fail):
                    for _ in range(max(1, item.times)):
                        self._queue.append(item)
                elif isinstance(item, Reply | Drop | Hang):
                    self._queue.append(item)
                else:
                    raise TypeError(f"cannot script {item!r}")

    @property
    def pending(self) -> int:
        """How many scripted behaviours are still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Received]:
        """The requests received so far (a copy), oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the script and the request log."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    # internals ---------------------------------------------------------------------------
    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _take(self, received: Received) -> Script | None:
        with self._lock:
            self._requests.append(received)
            return self._queue.popleft() if self._queue else None

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (a timeout, a cancelled call, a closed pool) is routine here.
        if isinstance(sys.exc_info()[1], ConnectionError | OSError):
            return
        super().handle_error(request, client_address)


# --- request content helpers ------------------------------------------------------------


EMBEDDING_DIM = 256
"""Length of the fake's embedding vectors unless a request asks for ``dimensions``."""


def embed_text(text: str, dim: int = EMBEDDING_DIM) -> list[float]:
    """A deterministic embedding: a hashed bag of lower-case words (a trailing ``s``
    dropped), L2-normalised, so texts sharing words are close in cosine distance."""
    import hashlib
    import math

    vec = [0.0] * dim
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) > 3 and word.endswith("s"):
            word = word[:-1]
        h = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
        vec[h % dim] += 1.0 if (h >> 32) & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def embeddings_answer(body: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``/v1/embeddings`` answer for a request: one ``embed_text`` vector per
    input, with usage at about 4 characters a token."""
    raw = body.get("input", "")
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
    dim = int(body.get("dimensions") or EMBEDDING_DIM)
    tokens = sum(_estimate_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": embed_text(t, dim)}
            for i, t in enumerate(texts)
        ],
        "model": str(body.get("model", "fake-embedding")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _text_of(content: Any, *, skip_tool_results: bool = True) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return ""


_CONTEXT_BLOCK = re.compile(r"\A<context>\n.*?\n</context>\n\n", re.DOTALL)


def strip_context(text: str) -> str:
    """A user message without the ``<context>`` block the daemon puts before the text of
    each turn's new message (pulsed.agent.prompts.volatile_block)."""
    return _CONTEXT_BLOCK.sub("", text, count=1)


def context_block(text: str) -> str:
    """The ``<context>`` block of a user message, or '' when it has none."""
    m = _CONTEXT_BLOCK.match(text)
    return m.group(0) if m else ""


def _last_user_text(body: dict[str, Any]) -> str:
    """What the person typed last (without the daemon's <context> block)."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            text = strip_context(_text_of(msg.get("content")))
            if text:
                return text
    return ""


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _tool_calls(reply: Reply, prefix: str, fake: FakeLLM) -> list[tuple[str, str, str]]:
    """(id, name, arguments JSON text) for each scripted tool call."""
    calls = []
    for spec in reply.tool_calls:
        name, args = spec[0], spec[1]
        call_id = spec[2] if len(spec) > 2 else f"{prefix}{fake._next_id():04d}"  # type: ignore[misc]
        raw = args if isinstance(args, str) else json.dumps(args)
        calls.append((call_id, name, raw))
    return calls


def _prompt_chars(body: dict[str, Any]) -> int:
    """Characters a tokenizer would read from a request's prompt: the system text, each
    message's text and tool-call arguments, and each tool's name, description and JSON
    Schema (both wire formats)."""
    chars = 0
    system = body.get("system")
    chars += len(_text_of(system)) if system else 0
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        chars += len(_text_of(msg.get("content"), skip_tool_results=False))
        for call in msg.get("tool_calls") or []:
            fn = call.get("function") or {}
            chars += len(str(fn.get("name", ""))) + len(str(fn.get("arguments", "")))
        if isinstance(msg.get("content"), list):
            for block in msg["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    chars += len(str(block.get("name", ""))) + len(json.dumps(block.get("input")))
    for tool in body.get("tools") or []:
        spec = tool.get("function", tool)
        schema = spec.get("parameters", spec.get("input_schema", {}))
        chars += len(spec.get("name", "")) + len(spec.get("description", ""))
        chars += len(json.dumps(schema))
    return chars


def _pieces_of(body: dict[str, Any]) -> list[str]:
    """A request's prompt as canonical pieces: system, tools, then each message."""
    pieces = [json.dumps(body.get("system"), sort_keys=True)]
    pieces.append(json.dumps(body.get("tools"), sort_keys=True))
    for m in body.get("messages") or []:
        if isinstance(m, dict):  # breakpoints are markers, not content
            clean = json.loads(
                json.dumps(m).replace(', "cache_control": {"type": "ephemeral"}', "")
            )
            pieces.append(json.dumps(clean, sort_keys=True))
    return pieces


def _cached_share(fake: FakeLLM, body: dict[str, Any]) -> float:
    """The share of this prompt's pieces (by characters) that an earlier request began
    with, piece for piece; remembers this prompt for later ones."""
    pieces = _pieces_of(body)
    best = 0
    with fake._lock:
        for earlier in fake._prefixes:
            n = 0
            for a, b in zip(pieces, earlier, strict=False):
                if a != b:
                    break
                n += len(a)
            best = max(best, n)
        fake._prefixes.append(pieces)
    total = sum(len(p) for p in pieces)
    return best / total if total else 0.0


def _usage(
    reply: Reply, body: dict[str, Any], out_text: str, fake: FakeLLM | None = None
) -> dict[str, int]:
    """The usage the fake reports: ``reply.usage`` where it says, else the prompt's
    characters / 4 (see ``_prompt_chars``) and the answer's; with ``prefix_cache``, the
    part an earlier request shared is reported as cache reads."""
    given = reply.usage or {}
    if fake is not None and fake.prefix_cache and not given:
        prompt = max(1, _prompt_chars(body) // 4)
        cached = int(prompt * _cached_share(fake, body))
        return {
            "input_tokens": prompt - cached,
            "output_tokens": _estimate_tokens(out_text),
            "cache_read_tokens": cached,
            "cache_write_tokens": 0,
        }
    return {
        "input_tokens": given.get("input_tokens", max(1, _prompt_chars(body) // 4)),
        "output_tokens": given.get("output_tokens", _estimate_tokens(out_text)),
        "cache_read_tokens": given.get("cache_read_tokens", 0),
        "cache_write_tokens": given.get("cache_write_tokens", 0),
    }


# --- protocol event builders: lists of (event name | None, data, is_content_piece) ---------

Event = tuple[str | None, Any, bool]


def _anthropic_events(reply: Reply, body: dict[str, Any], fake: FakeLLM) -> list[Event]:
    model = reply.model or body.get("model", "claude-fake")
    calls = _tool_calls(reply, "toolu_fake_", fake)
    usage = _usage(reply, body, reply.text + "".join(c[2] for c in calls), fake)
    stop = reply.stop_reason or ("tool_use" if calls else "end_turn")
    events: list[Event] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": f"msg_fake_{fake._next_id():06d}",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": usage["input_tokens"],
                        "cache_creation_input_tokens": usage["cache_write_tokens"],
                        "cache_read_input_tokens": usage["cache_read_tokens"],
                        "output_tokens": 1,
                    },
                },
            },
            False,
        ),
        ("ping", {"type": "ping"}, False),
    ]
    index = 0
    if reply.text:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
                False,
            )
        )
        for piece in _pieces(reply.text, reply.chunk_size):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                    True,
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, False))
        index += 1
    for call_id, name, raw in calls:
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
                },
                False,
            )
        )
        for piece in _pieces(raw, reply.chunk_size):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                    True,
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}, False))
        index += 1
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
            False,
        )
    )
    events.append(("message_stop", {"type": "message_stop"}, False))
    return events


def _anthropic_message(reply: Reply, body: dict[str, Any], fake: FakeLLM) -> dict[str, Any]:
    calls = _tool_calls(reply, "toolu_fake_", fake)
    usage = _usage(reply, body, reply.text + "".join(c[2] for c in calls), fake)
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call_id, name, raw in calls:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {}
        content.append({"type": "tool_use", "id": call_id, "name": name, "input": parsed})
    return {
        "id": f"msg_fake_{fake._next_id():06d}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or body.get("model", "claude-fake"),
        "content": content,
        "stop_reason": reply.stop_reason or ("tool_use" if calls else "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["input_tokens"],
            "cache_creation_input_tokens": usage["cache_write_tokens"],
            "cache_read_input_tokens": usage["cache_read_tokens"],
            "output_tokens": usage["output_tokens"],
        },
    }


def _openai_usage(usage: dict[str, int]) -> dict[str, Any]:
    prompt = usage["input_tokens"] + usage["cache_read_tokens"] + usage["cache_write_tokens"]
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage["output_tokens"],
        "total_tokens": prompt + usage["output_tokens"],
        "prompt_tokens_details": {"cached_tokens": usage["cache_read_tokens"]},
    }


def _openai_events(reply: Reply, body: dict[str, Any], fake: FakeLLM) -> list[Event]:
    model = reply.model or body.get("model", "gpt-fake")
    calls = _tool_calls(reply, "call_fake_", fake)
    usage = _usage(reply, body, reply.text + "".join(c[2] for c in calls), fake)
    stop = reply.stop_reason or ("tool_calls" if calls else "stop")
    base = {
        "id": f"chatcmpl-fake{fake._next_id():06d}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    events: list[Event] = [(None, chunk({"role": "assistant", "content": ""}), False)]
    for piece in _pieces(reply.text, reply.chunk_size):
        events.append((None, chunk({"content": piece}), True))
    for i, (call_id, name, raw) in enumerate(calls):
        events.append(
            (
                None,
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                ),
                False,
            )
        )
        for piece in _pieces(raw, reply.chunk_size):
            events.append(
                (
                    None,
                    chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                    True,
                )
            )
    events.append((None, chunk({}, stop), False))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append((None, {**base, "choices": [], "usage": _openai_usage(usage)}, False))
    events.append((None, "[DONE]", False))
    return events


def _openai_completion(reply: Reply, body: dict[str, Any], fake: FakeLLM) -> dict[str, Any]:
    calls = _tool_calls(reply, "call_fake_", fake)
    usage = _usage(reply, body, reply.text + "".join(c[2] for c in calls), fake)
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": raw}}
            for cid, name, raw in calls
        ]
    return {
        "id": f"chatcmpl-fake{fake._next_id():06d}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or body.get("model", "gpt-fake"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.stop_reason or ("tool_calls" if calls else "stop"),
            }
        ],
        "usage": _openai_usage(usage),
    }


_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def _error_body(protocol: str, status: int, message: str) -> dict[str, Any]:
    message = message or f"fake error {status}"
    if protocol == "anthropic":
        kind = _ANTHROPIC_ERROR_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _is_final(name: str | None, data: Any) -> bool:
    """Whether an event is one of the protocol's closing events."""
    if name is not None:
        return name in ("message_delta", "message_stop")
    if isinstance(data, str):
        return True  # [DONE]
    choices = data.get("choices") or []
    return not choices or any(c.get("finish_reason") for c in choices)


# --- the handler --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return None

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once: Nagle's algorithm against the client's
        # delayed ACK would add ~40 ms to every other piece.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, False)
        with contextlib.suppress(OSError):
            super().finish()

    # plumbing
    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", f"req_fake_{self.server.fake._next_id():06d}")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", f"req_fake_{self.server.fake._next_id():06d}")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        """Close the connection abruptly, mid-body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        raise _Done

    def _wait(self, seconds: float) -> None:
        self.server.fake._stopping.wait(seconds)

    # dispatch
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/models"):
            self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}
                    ],
                },
            )
        elif path in ("", "/health", "/v1"):
            self._json(200, {"status": "ok"})
        else:
            self._json(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/embeddings"):
            with fake._lock:
                fake.embedding_requests.append(body if isinstance(body, dict) else {})
            self._json(200, embeddings_answer(body if isinstance(body, dict) else {}))
            return
        if path.endswith("/messages"):
            protocol = "anthropic"
        elif path.endswith("/chat/completions"):
            protocol = "openai"
        else:
            protocol = "other"
        received = Received(
            method="POST",
            path=path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body if isinstance(body, dict) else {"_value": body},
            protocol=protocol,
        )
        if protocol == "other":
            fake._take(received)  # recorded, but scripts are for LLM calls
            self._json(404, {"error": {"message": f"no route {path}"}})
            return
        item = fake._take(received) or self._echo(received.body)
        try:
            self._serve(protocol, received.body, item)
        except (_Done, BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _echo(self, body: dict[str, Any]) -> Reply:
        """The reply to a request nothing was scripted for."""
        fake = self.server.fake
        system = body.get("system") or next(
            (m.get("content") for m in body.get("messages") or [] if m.get("role") == "system"),
            "",
        )
        if _text_of(system).startswith("You compact a conversation"):
            # a summariser's answer is short: name the first and last lines it read
            lines = [ln for ln in _last_user_text(body).splitlines() if ln.startswith("USER:")]
            text = f"summary of {len(lines)} exchanges: {lines[0][:60] if lines else ''} …"
            return Reply(text=text, chunk_size=fake.default_chunk_size)
        return Reply(
            text=f"echo: {_last_user_text(body)}",
            chunk_size=fake.default_chunk_size,
            delay_s=fake.default_delay_s,
        )

    def _hang(self, seconds: float) -> None:
        self._wait(seconds)
        if self.server.fake._stopping.is_set():
            self._abort()

    def _break(self, protocol: str, drop: Drop) -> None:
        """End a stream the way ``drop`` says, and stop serving it."""
        if drop.error:
            if protocol == "anthropic":
                error = {"type": "error", "error": {"type": drop.error, "message": drop.error}}
                frame = f"event: error\ndata: {json.dumps(error)}\n\n"
            else:
                error = {"error": {"message": drop.error, "code": 502}}
                frame = f"data: {json.dumps(error)}\n\n"
            self._chunk(frame.encode())
            self._end_stream()
            raise _Done
        if drop.clean:
            self._end_stream()
            raise _Done
        self._abort()

    def _serve(self, protocol: str, body: dict[str, Any], item: Script) -> None:
        fake = self.server.fake
        if isinstance(item, Fail):
            headers = dict(item.headers)
            if item.retry_after_ms is not None:
                headers.setdefault("retry-after-ms", str(item.retry_after_ms))
            self._json(item.status, _error_body(protocol, item.status, item.message), headers)
            return
        if isinstance(item, Hang) and item.after_chunks is None:
            if item.started is not None:
                item.started.set()
            if item.until is not None:
                item.until.wait(item.seconds)
            else:
                self._hang(item.seconds)
            item = item.reply or self._echo(body)
        if isinstance(item, Drop):
            reply = Reply(text=item.text, chunk_size=item.chunk_size)
        elif isinstance(item, Hang):
            reply = item.reply or Reply(text=item.text, chunk_size=item.chunk_size)
        else:
            reply = item
        streaming = bool(body.get("stream"))
        if not streaming:
            if reply.delay_s:
                self._wait(reply.delay_s)
            build = _anthropic_message if protocol == "anthropic" else _openai_completion
            self._json(reply.status, build(reply, body, fake))
            return
        events = (_anthropic_events if protocol == "anthropic" else _openai_events)(
            reply, body, fake
        )
        self._start_stream()
        sent = 0
        pause_at = item.after_chunks if isinstance(item, Hang) else None
        pause_at_s = item.seconds if isinstance(item, Hang) else 0.0
        paused = False
        for name, data, is_piece in events:
            if is_piece:
                if isinstance(item, Drop) and sent >= item.after_chunks:
                    self._break(protocol, item)
                if pause_at is not None and not paused and sent >= pause_at:
                    paused = True
                    self._hang(pause_at_s)
                if reply.delay_s:
                    self._wait(reply.delay_s)
            elif _is_final(name, data):
                if isinstance(item, Drop):  # fewer pieces than after_chunks: still no end
                    self._break(protocol, item)
                if pause_at is not None and not paused:  # fewer pieces than after_chunks
                    paused = True
                    self._hang(pause_at_s)
            payload = data if isinstance(data, str) else json.dumps(data)
            frame = (f"event: {name}\n" if name else "") + f"data: {payload}\n\n"
            self._chunk(frame.encode())
            if is_piece:
                sent += 1
        self._end_stream()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.llm",
        description="Run the fake LLM server (Anthropic and OpenAI protocols) until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--delay-s", type=float, default=0.0, help="pause before each streamed piece"
    )
    parser.add_argument("--chunk-size", type=int, default=8, help="characters per streamed piece")
    args = parser.parse_args(argv)
    fake = FakeLLM(
        args.host, args.port, default_delay_s=args.delay_s, default_chunk_size=args.chunk_size
    )
    fake.start()
    print(fake.url, flush=True)
    print(
        f"OpenAI base_url {fake.url}  Anthropic base_url {fake.anthropic_url}  (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
