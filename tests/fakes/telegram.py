"""A loopback fake Telegram Bot API server, for python-telegram-bot pointed at it.

``FakeTelegram`` serves ``POST /bot<TOKEN>/<method>`` on 127.0.0.1 in a background
thread (so a daemon in another process can use it), with form-encoded or JSON
parameters as the Bot API accepts them, answering ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": ...}``:

- ``getMe``; ``getUpdates`` with long polling (``timeout``) and offset semantics: an
  update is confirmed, and never returned again, once getUpdates is called with a higher
  offset;
- ``sendMessage`` with ``parse_mode`` HTML checked the way Telegram does (only its tags,
  balanced; every <, > and & escaped; at most 4096 characters after entity parsing,
  counted in UTF-16), answering 400 "can't parse entities" or "message is too long";
- ``sendChatAction``. Any other method answers 404.

Test controls: ``message(...)`` queues a user's message as an update; ``fail_sends(n)``
answers the next n sendMessage calls with HTTP 502 (``fail_sends(None)`` until
``heal()``); ``stall_polls()`` makes getUpdates hang until ``heal()``;
``hold_sends()`` makes sendMessage deliver the message and then withhold its answer
until ``heal()`` (the platform took it, the bot never hears back: a crash's window);
``sent`` lists the delivered messages with their visible text; ``wait_sent(n)`` waits
for n of them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:TEST-token"
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "code",
    "pre",
    "a",
    "blockquote",
    "span",
    "tg-spoiler",
    "tg-emoji",
}
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class Sent:
    """One message the bot sent."""

    chat_id: str
    text: str
    """As sent (HTML when parse_mode is HTML)."""
    parse_mode: str
    visible: str
    """What the person sees: the text after entity parsing."""
    message_id: int
    tags: list[str] = field(default_factory=list)


class HTMLError(ValueError):
    """Telegram's "can't parse entities"."""


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.out: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise HTMLError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise HTMLError("a tag without href")
        self.stack.append(tag)
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise HTMLError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data or "&" in data:
            raise HTMLError("Unexpected end of name token or unescaped character")
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ENTITIES:
            raise HTMLError(f"Unsupported entity &{name};")
        self.out.append(ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        code = int(name[1:], 16) if name.lower().startswith("x") else int(name)
        self.out.append(chr(code))


def parse_html(text: str) -> tuple[str, list[str]]:
    """(visible text, tags used) of Telegram HTML.

    Raises:
        HTMLError: Telegram would refuse it.
    """
    p = _TelegramHTML()
    p.feed(text)
    p.close()
    if p.stack:
        raise HTMLError(f'Can\'t find end tag corresponding to start tag "{p.stack[-1]}"')
    if p.rawdata:
        raise HTMLError("Unexpected end of input")
    return "".join(p.out), p.tags


class FakeTelegram:
    """A fake Bot API; see the module docstring. Use as a context manager."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1000
        self._confirmed = 0
        self.sent: list[Sent] = []
        self.actions: list[tuple[str, str]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._fail_sends: int | None = 0
        self.failed_sends = 0
        self._stall = False
        self._hold = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.heal()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    _closing = False

    @property
    def base_url(self) -> str:
        """For ``[channels.telegram] api_base_url`` (the token is appended)."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    # controls ----------------------------------------------------------------------------
    def message(
        self,
        text: str,
        user_id: int = 111,
        chat_id: int | None = None,
        username: str = "alice",
    ) -> int:
        """Queue a private-chat message from ``user_id``; returns its update id."""
        with self._cond:
            uid = self._next_update
            self._next_update += 1
            self._next_message += 1
            chat = chat_id if chat_id is not None else user_id
            self._updates.append(
                {
                    "update_id": uid,
                    "message": {
                        "message_id": self._next_message,
                        "date": int(time.time()),
                        "chat": {"id": chat, "type": "private", "first_name": username},
                        "from": {
                            "id": user_id,
                            "is_bot": False,
                            "first_name": username.title(),
                            "username": username,
                        },
                        "text": text,
                    },
                }
            )
            self._cond.notify_all()
            return uid

    def fail_sends(self, n: int | None = 1) -> None:
        """Answer the next ``n`` sendMessage calls with 502 (None: until ``heal()``)."""
        with self._cond:
            self._fail_sends = n

    def stall_polls(self) -> None:
        """Make getUpdates hang (no answer) until ``heal()``."""
        with self._cond:
            self._stall = True

    def hold_sends(self) -> None:
        """Deliver each sendMessage but withhold its answer until ``heal()``."""
        with self._cond:
            self._hold = True

    def heal(self) -> None:
        """Stop failing sends, stalling polls and holding answers."""
        with self._cond:
            self._fail_sends = 0
            self._stall = False
            self._hold = False
            self._cond.notify_all()

    @property
    def confirmed(self) -> int:
        """Highest update id confirmed by a getUpdates offset."""
        with self._cond:
            return self._confirmed

    def polls(self) -> int:
        return sum(1 for m, _ in list(self.calls) if m == "getUpdates")

    def wait_sent(self, n: int, timeout: float = 20.0) -> list[Sent]:
        """Wait until at least ``n`` messages were sent; returns them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.sent) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {n} sent messages, got {len(self.sent)}: {self.sent}"
                    )
                self._cond.wait(left)
            return list(self.sent)

    def sent_to(self, chat_id: int | str) -> list[Sent]:
        with self._cond:
            return [s for s in self.sent if s.chat_id == str(chat_id)]

    # API ---------------------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self.calls.append((method, params))
        if method == "getMe":
            return 200, _ok(
                {
                    "id": 4242,
                    "is_bot": True,
                    "first_name": "Pulse",
                    "username": "pulse_test_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                }
            )
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "sendMessage":
            return self._send_message(params)
        if method == "sendChatAction":
            with self._cond:
                self.actions.append((str(params.get("chat_id")), str(params.get("action"))))
            return 200, _ok(True)
        return 404, _err(404, "Not Found: method not found")

    def _get_updates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._stall and not self._closing:
                self._cond.wait(0.1)
            if offset:
                self._confirmed = max(self._confirmed, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return 200, _ok(self._updates[:limit])

    def _send_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            if self._fail_sends is None or self._fail_sends > 0:
                if self._fail_sends:
                    self._fail_sends -= 1
                self.failed_sends += 1
                return 502, {"_raw": "<html><body>502 Bad Gateway</body></html>"}
        text = str(params.get("text", ""))
        mode = str(params.get("parse_mode") or "")
        tags: list[str] = []
        if mode.upper() == "HTML":
            try:
                visible, tags = parse_html(text)
            except HTMLError as e:
                return 400, _err(400, f"Bad Request: can't parse entities: {e}")
        elif mode:
            return 400, _err(400, f"Bad Request: unsupported parse_mode {mode} in this fake")
        else:
            visible = text
        if not visible.strip():
            return 400, _err(400, "Bad Request: message text is empty")
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            return 400, _err(400, "Bad Request: message is too long")
        with self._cond:
            self._next_message += 1
            mid = self._next_message
            chat = str(params.get("chat_id"))
            self.sent.append(Sent(chat, text, mode, visible, mid, tags))
            self._cond.notify_all()
            while self._hold and not self._closing:
                self._cond.wait(0.1)
        return 200, _ok(
            {
                "message_id": mid,
                "date": int(time.time()),
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
                "from": {"id": 4242, "is_bot": True, "first_name": "Pulse"},
                "text": visible,
            }
        )


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _err(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        fake: FakeTelegram = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("content-type", "")
        params: dict[str, Any] = {}
        if "json" in ctype and body:
            params = json.loads(body)
        elif body:
            params = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] != "bot" + fake.token:
            self._answer(401, _err(401, "Unauthorized"))
            return
        try:
            status, payload = fake.call(parts[1], params)
        except Exception as e:  # a bug in the fake: make it visible
            status, payload = 500, _err(500, f"fake error: {e!r}")
        self._answer(status, payload)

    do_GET = do_POST

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        if "_raw" in payload:
            data = str(payload["_raw"]).encode()
            ctype = "text/html"
        else:
            data = json.dumps(payload).encode()
            ctype = "application/json"
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
