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
- ``sendChatAction``;
- inline keyboards: ``reply_markup`` with ``inline_keyboard`` rows of buttons (text, and
  ``callback_data`` of 1-64 bytes or ``url``), else 400 ``BUTTON_DATA_INVALID``; a press
  (``press(...)``) is a ``callback_query`` update carrying the bot's message and the
  button's data; ``answerCallbackQuery`` answers a known query once (text at most 200
  characters), else 400 "query is too old ... or query ID is invalid";
- ``editMessageText`` (HTML checked as for sendMessage; an edit without
  ``reply_markup`` drops the keyboard) and ``editMessageReplyMarkup`` (none or an empty
  one drops it) of the bot's own messages: 400 "message to edit not found" for others,
  "message is not modified" when nothing changes.

Any other method answers 404.

Test controls: ``message(...)`` queues a user's message as an update; ``fail_sends(n)``
answers the next n sendMessage calls with HTTP 502 (``fail_sends(None)`` until
``heal()``); ``stall_polls()`` makes getUpdates hang until ``heal()``;
``refuse(method, description)`` answers the next call of ``method`` with that 400;
``hold_sends()`` makes sendMessage deliver the message and then withhold its answer
until ``heal()`` (the platform took it, the bot never hears back: a crash's window);
``sent`` lists the delivered messages with their visible text (edits change them in
place; ``keyboard`` is a message's current buttons); ``wait_sent(n)`` waits for n of
them, ``wait(predicate)`` for anything; ``answers`` holds the callback queries' answers.
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
    reply_markup: dict[str, Any] | None = None
    """The inline keyboard the message shows now (None: none)."""
    edits: int = 0

    @property
    def keyboard(self) -> list[dict[str, Any]]:
        """Its buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b for row in rows for b in row]


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
        self._refusals: dict[str, list[str]] = {}
        self._queries: dict[str, str] = {}
        """Callback query id → the message id it came from."""
        self.answers: dict[str, str | None] = {}
        """Answered callback query id → the notice text (None: none)."""
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

    def press(self, message_id: int, button: str, user_id: int = 111, username: str = "alice"):
        """``user_id`` presses the button labelled (or with callback_data) ``button`` on
        the bot's message ``message_id``: queues its callback_query; returns the query
        id. The button must be on the message now."""
        with self._cond:
            msg = next((m for m in self.sent if m.message_id == message_id), None)
            assert msg is not None, f"the bot sent no message {message_id}"
            found = [b for b in msg.keyboard if button in (b.get("text"), b.get("callback_data"))]
            assert found, f"message {message_id} has no button {button!r}: {msg.keyboard}"
            qid = str(9_000_000 + self._next_update)
            self._queries[qid] = str(message_id)
            uid = self._next_update
            self._next_update += 1
            self._updates.append(
                {
                    "update_id": uid,
                    "callback_query": {
                        "id": qid,
                        "from": {
                            "id": user_id,
                            "is_bot": False,
                            "first_name": username.title(),
                            "username": username,
                        },
                        "message": self._message_json(msg),
                        "chat_instance": f"ci{msg.chat_id}",
                        "data": found[0]["callback_data"],
                    },
                }
            )
            self._cond.notify_all()
            return qid

    def wait(self, predicate: Any, timeout: float = 20.0, what: str = "the condition") -> Any:
        """Wait until ``predicate()`` is truthy (checked at each call the fake answers);
        returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._cond.wait(min(left, 0.2))
            return value

    def refuse(self, method: str, description: str) -> None:
        """Answer the next call of ``method`` with 400 ``description``."""
        with self._cond:
            self._refusals.setdefault(method, []).append(description)

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
            refusals = self._refusals.get(method)
            if refusals:
                return 400, _err(400, refusals.pop(0))
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
        if method == "answerCallbackQuery":
            return self._answer_callback(params)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(method, params)
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
        try:
            markup = _keyboard(params.get("reply_markup"))
        except ValueError as e:
            return 400, _err(400, f"Bad Request: {e}")
        with self._cond:
            self._next_message += 1
            mid = self._next_message
            chat = str(params.get("chat_id"))
            self.sent.append(Sent(chat, text, mode, visible, mid, tags, markup))
            self._cond.notify_all()
            while self._hold and not self._closing:
                self._cond.wait(0.1)
        return 200, _ok(self._message_json(_find(self, mid) or self.sent[-1]))

    def _message_json(self, msg: Sent) -> dict[str, Any]:
        chat = msg.chat_id
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
            "from": {"id": 4242, "is_bot": True, "first_name": "Pulse"},
            "text": msg.visible,
        }
        if msg.edits:
            out["edit_date"] = int(time.time())
        if msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        return out

    def _answer_callback(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        qid = str(params.get("callback_query_id", ""))
        text = params.get("text")
        with self._cond:
            if qid not in self._queries or qid in self.answers:
                return 400, _err(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID "
                    "is invalid",
                )
            if text is not None and len(str(text)) > 200:
                return 400, _err(400, "Bad Request: MESSAGE_TOO_LONG")
            self.answers[qid] = None if text is None else str(text)
            self._cond.notify_all()
        return 200, _ok(True)

    def _edit(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat = str(params.get("chat_id", ""))
        try:
            mid = int(params.get("message_id") or 0)
            markup = _keyboard(params.get("reply_markup"))
        except ValueError as e:
            return 400, _err(400, f"Bad Request: {e}")
        with self._cond:
            msg = _find(self, mid)
            if msg is None or msg.chat_id != chat:
                return 400, _err(400, "Bad Request: message to edit not found")
            text, mode, visible, tags = msg.text, msg.parse_mode, msg.visible, msg.tags
        if method == "editMessageText":
            text = str(params.get("text", ""))
            mode = str(params.get("parse_mode") or "")
            if mode.upper() == "HTML":
                try:
                    visible, tags = parse_html(text)
                except HTMLError as e:
                    return 400, _err(400, f"Bad Request: can't parse entities: {e}")
            elif mode:
                return 400, _err(400, f"Bad Request: unsupported parse_mode {mode} in this fake")
            else:
                visible, tags = text, []
            if not visible.strip():
                return 400, _err(400, "Bad Request: message text is empty")
            if len(visible.encode("utf-16-le")) // 2 > 4096:
                return 400, _err(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._cond:
            if visible == msg.visible and markup == msg.reply_markup:
                return 400, _err(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            msg.text, msg.parse_mode, msg.visible, msg.tags = text, mode, visible, tags
            msg.reply_markup = markup
            msg.edits += 1
            self._cond.notify_all()
            return 200, _ok(self._message_json(msg))


def _find(fake: FakeTelegram, message_id: int) -> Sent | None:
    return next((m for m in fake.sent if m.message_id == message_id), None)


def _keyboard(value: Any) -> dict[str, Any] | None:
    """A ``reply_markup`` parameter as the inline keyboard it sets (None: none).

    Raises:
        ValueError: not an inline keyboard the Bot API takes.
    """
    if value in (None, ""):
        return None
    markup = json.loads(value) if isinstance(value, str) else value
    if not isinstance(markup, dict):
        raise ValueError("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        if markup:
            raise ValueError("this fake takes only inline keyboards")
        return None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for row in rows:
        for b in row:
            if not isinstance(b, dict) or not str(b.get("text", "")).strip():
                raise ValueError("BUTTON_TEXT_INVALID")
            data = b.get("callback_data")
            if data is None and not b.get("url"):
                raise ValueError("BUTTON_TYPE_INVALID")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ValueError("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows} if any(rows) else None


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
