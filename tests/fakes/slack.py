"""A loopback fake Slack: the Web API and the Socket Mode websocket, for slack-sdk.

``FakeSlack`` runs an aiohttp server on 127.0.0.1 in a background thread (its own event
loop), so a daemon in another process can use it:

- Web API under ``/api/``: ``auth.test`` (bot token checked), ``apps.connections.open``
  (app token checked; returns a ``ws://`` URL to this server), ``chat.postMessage``
  (JSON or form body; returns ``ts``), ``reactions.add``/``reactions.remove``,
  ``conversations.history``/``conversations.replies`` (the posts, newest first, from
  ``oldest``; in a channel only those outside threads); Block Kit ``blocks`` on
  chat.postMessage and ``chat.update`` (checked: at most 50 blocks, section text at most
  3,000 characters, buttons with plain_text labels of at most 75 characters, unique
  ``action_id``s, ``value`` at most 2,000: else ``invalid_blocks``); ``chat.update``
  (``message_not_found`` for a ts it did not post) and ``chat.postEphemeral``. Errors use
  Slack's shape ``{"ok": false, "error": "..."}``.
- Socket Mode at ``/link``: sends ``hello``, then envelopes (``events_api``,
  ``slash_commands``, ``interactive`` with a ``block_actions`` payload) with an
  ``envelope_id``; records the client's acks. Pings are
  answered by aiohttp (autoping), as Slack's servers do.

Test controls: ``dm(...)``, ``mention(...)``, ``slash(...)`` and ``press(...)`` (a
button of a posted message) push envelopes to the connected app; ``fail_posts(n)``
answers the next n chat.postMessage calls with HTTP 502; ``hold_posts()`` makes
chat.postMessage post and withhold its answer until ``heal()``;
``drop_sockets()`` closes every websocket (the app must reconnect); ``posts`` lists what
the app posted (chat.update changes them in place), ``ephemerals`` what it showed one
person; ``wait_posts(n)``, ``wait_connected()`` and ``wait(predicate)`` wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

BOT_TOKEN = "xoxb-test-bot"
APP_TOKEN = "xapp-test-app"
BOT_USER = "UPULSEBOT"


@dataclass
class Post:
    """A chat.postMessage call that succeeded."""

    channel: str
    text: str
    thread_ts: str
    ts: str
    mrkdwn: bool
    blocks: list[dict[str, Any]] | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The buttons of its actions blocks, with the block's id as ``block_id``."""
        return [
            {**e, "block_id": b.get("block_id", "")}
            for b in self.blocks or []
            if b.get("type") == "actions"
            for e in b.get("elements", [])
            if e.get("type") == "button"
        ]

    @property
    def shown(self) -> str:
        """Its block texts (section and context), or its text when it has no blocks."""
        if not self.blocks:
            return self.text
        out = []
        for b in self.blocks:
            if b.get("type") == "section":
                out.append(b["text"]["text"])
            elif b.get("type") == "context":
                out += [e.get("text", "") for e in b.get("elements", [])]
        return "\n".join(out)


class FakeSlack:
    """A fake Slack; see the module docstring. Use as a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.posts: list[Post] = []
        self.ephemerals: list[tuple[str, str, str]] = []
        """(channel, user, text) of chat.postEphemeral calls."""
        self.reactions: list[tuple[str, str, str]] = []
        self.acks: list[str] = []
        self.calls: list[str] = []
        self.connections = 0
        self.failed_posts = 0
        self._fail_posts = 0
        self._hold: asyncio.Event | None = None
        self._ts = itertools.count(1)
        self._sockets: set[web.WebSocketResponse] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="fake-slack")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Slack did not start")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # the SDK reads some methods by GET
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """For ``[channels.slack] api_base_url``."""
        return f"http://127.0.0.1:{self.port}/api/"

    # controls ----------------------------------------------------------------------------
    def dm(self, text: str, user: str = "UALICE", channel: str = "DALICE") -> str:
        """A direct message from ``user``; returns its ts."""
        ts = self._next_ts()
        event = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        }
        self._push_event(event)
        return ts

    def mention(
        self, text: str, user: str = "UALICE", channel: str = "CGENERAL", thread_ts: str = ""
    ) -> str:
        """An app_mention in a channel (``<@bot> text``); returns its ts."""
        ts = self._next_ts()
        event: dict[str, Any] = {
            "type": "app_mention",
            "channel": channel,
            "user": user,
            "text": f"<@{BOT_USER}> {text}",
            "ts": ts,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self._push_event(event)
        return ts

    def slash(self, command: str, text: str = "", user: str = "UALICE", channel: str = "DALICE"):
        """A slash command invocation."""
        payload = {
            "command": command,
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "trigger_id": uuid.uuid4().hex,
        }
        self._push({"type": "slash_commands", "payload": payload})

    def press(self, post: Post, button: str, user: str = "UALICE") -> str:
        """``user`` presses the button labelled (or with action_id) ``button`` on
        ``post``: an ``interactive`` envelope with a ``block_actions`` payload, as Slack
        sends it. Returns the envelope id. The button must be on the message now."""
        with self._lock:
            found = [b for b in post.buttons if button in (b["text"]["text"], b["action_id"])]
            assert found, f"no button {button!r} on {post.ts}: {post.buttons}"
            b = found[0]
            message: dict[str, Any] = {
                "type": "message",
                "user": BOT_USER,
                "bot_id": "BPULSE",
                "text": post.text,
                "ts": post.ts,
                "blocks": post.blocks,
            }
        if post.thread_ts:
            message["thread_ts"] = post.thread_ts
        payload = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": "TTEAM",
            },
            "api_app_id": "AAPP",
            "token": "verification",
            "container": {
                "type": "message",
                "message_ts": post.ts,
                "channel_id": post.channel,
                "is_ephemeral": False,
            },
            "trigger_id": uuid.uuid4().hex,
            "team": {"id": "TTEAM", "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": post.channel, "name": post.channel.lower()},
            "message": message,
            "state": {"values": {}},
            "response_url": f"http://127.0.0.1:{self.port}/actions/{uuid.uuid4().hex}",
            "actions": [
                {
                    "action_id": b["action_id"],
                    "block_id": b["block_id"],
                    "text": b["text"],
                    "value": b.get("value", ""),
                    **({"style": b["style"]} if "style" in b else {}),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self._push({"type": "interactive", "payload": payload})

    def wait(self, predicate: Any, timeout: float = 20.0, what: str = "the condition") -> Any:
        """Wait until ``predicate()`` is truthy (checked at each call the fake answers);
        returns its value."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}")
                self._lock.wait(min(left, 0.2))
            return value

    def fail_posts(self, n: int) -> None:
        """Answer the next ``n`` chat.postMessage calls with HTTP 502."""
        with self._lock:
            self._fail_posts = n

    def hold_posts(self) -> None:
        """Post each chat.postMessage but withhold its answer until ``heal()``."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(lambda: setattr(self, "_hold", asyncio.Event()))

    def heal(self) -> None:
        """Answer held posts and stop holding."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release)

    def _release(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.set()

    def drop_sockets(self) -> None:
        """Close every Socket Mode connection from the server side."""
        assert self._loop is not None

        async def close() -> None:
            for ws in list(self._sockets):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)

    def wait_posts(self, n: int, timeout: float = 20.0) -> list[Post]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.posts) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} posts, got {len(self.posts)}: {self.posts}")
                self._lock.wait(left)
            return list(self.posts)

    def wait_connected(self, connections: int = 1, timeout: float = 20.0) -> None:
        """Wait until ``connections`` websockets were opened in all and one is open."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.connections < connections or not self._sockets:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.connections} socket connections, not {connections}"
                    )
                self._lock.wait(left)

    # internals ---------------------------------------------------------------------------
    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _push_event(self, event: dict[str, Any]) -> None:
        payload = {
            "token": "verification",
            "team_id": "TTEAM",
            "api_app_id": "AAPP",
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
        }
        self._push({"type": "events_api", "payload": payload, "retry_attempt": 0})

    def _push(self, envelope: dict[str, Any]) -> str:
        assert self._loop is not None
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "accepts_response_payload": False,
            **envelope,
        }

        async def send() -> None:
            if not self._sockets:
                raise AssertionError("no Socket Mode connection to send to")
            ws = next(iter(self._sockets))
            await ws.send_str(json.dumps(envelope))

        # As Slack does, an envelope waits for the app's socket while it reconnects
        # (the SDK reconnects when a busy machine delays its pongs).
        with self._lock:
            self._lock.wait_for(lambda: bool(self._sockets), timeout=10)
        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)
        return str(envelope["envelope_id"])

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._lock:
            self._sockets.add(ws)
            self.connections += 1
            self._lock.notify_all()
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "AAPP"},
                    "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                }
            )
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        with self._lock:
                            self.acks.append(data["envelope_id"])
                            self._lock.notify_all()
        finally:
            with self._lock:
                self._sockets.discard(ws)
        return ws

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        with self._lock:
            self.calls.append(method)
        auth = request.headers.get("Authorization", "")
        params: dict[str, Any] = dict(request.query)
        body = await request.read()
        if body:
            if request.content_type == "application/json":
                params.update(json.loads(body))
            else:
                params.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()})
        token = auth.removeprefix("Bearer ").strip() or str(params.get("token", ""))
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return _json({"ok": False, "error": "invalid_auth"})
            return _json({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=t"})
        if token != BOT_TOKEN:
            return _json({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return _json(
                {
                    "ok": True,
                    "url": "https://fake.slack.com/",
                    "team": "Fake",
                    "user": "pulse",
                    "team_id": "TTEAM",
                    "user_id": BOT_USER,
                    "bot_id": "BPULSE",
                }
            )
        if method == "chat.postMessage":
            with self._lock:
                if self._fail_posts > 0:
                    self._fail_posts -= 1
                    self.failed_posts += 1
                    return web.Response(
                        status=502, text="<html>502 Bad Gateway</html>", content_type="text/html"
                    )
            text = str(params.get("text", ""))
            channel = str(params.get("channel", ""))
            if not channel:
                return _json({"ok": False, "error": "channel_not_found"})
            try:
                blocks = _blocks(params.get("blocks"))
            except ValueError as e:
                return _json({"ok": False, "error": "invalid_blocks", "detail": str(e)})
            if not text.strip() and not blocks:
                return _json({"ok": False, "error": "no_text"})
            ts = self._next_ts()
            mrkdwn = params.get("mrkdwn", True)
            post = Post(
                channel,
                text,
                str(params.get("thread_ts") or ""),
                ts,
                mrkdwn not in (False, "false", "0"),
                blocks,
            )
            with self._lock:
                self.posts.append(post)
                self._lock.notify_all()
            if self._hold is not None:
                await self._hold.wait()
            return _json({"ok": True, "channel": channel, "ts": ts, "message": {"text": text}})
        if method == "chat.update":
            channel = str(params.get("channel", ""))
            ts = str(params.get("ts", ""))
            try:
                blocks = _blocks(params.get("blocks"))
            except ValueError as e:
                return _json({"ok": False, "error": "invalid_blocks", "detail": str(e)})
            with self._lock:
                post = next((p for p in self.posts if p.channel == channel and p.ts == ts), None)
                if post is None:
                    return _json({"ok": False, "error": "message_not_found"})
                if "text" in params:
                    post.text = str(params["text"])
                if "blocks" in params:
                    post.blocks = blocks
                post.edits += 1
                self._lock.notify_all()
                return _json(
                    {"ok": True, "channel": channel, "ts": ts, "text": post.text, "message": {}}
                )
        if method == "chat.postEphemeral":
            channel = str(params.get("channel", ""))
            user = str(params.get("user", ""))
            text = str(params.get("text", ""))
            if not channel or not user:
                return _json(
                    {
                        "ok": False,
                        "error": "channel_not_found" if not channel else "user_not_in_channel",
                    }
                )
            with self._lock:
                self.ephemerals.append((channel, user, text))
                self._lock.notify_all()
            return _json({"ok": True, "message_ts": self._next_ts()})
        if method in ("conversations.history", "conversations.replies"):
            channel = str(params.get("channel", ""))
            oldest = float(params.get("oldest") or 0)
            thread = str(params.get("ts", "")) if method == "conversations.replies" else ""
            with self._lock:
                found = [
                    {
                        "type": "message",
                        "user": BOT_USER,
                        "bot_id": "BPULSE",
                        "text": p.text,
                        "ts": p.ts,
                        **({"thread_ts": p.thread_ts} if p.thread_ts else {}),
                    }
                    for p in reversed(self.posts)
                    if p.channel == channel and p.thread_ts == thread and float(p.ts) >= oldest
                ]
            return _json({"ok": True, "messages": found, "has_more": False})
        if method in ("reactions.add", "reactions.remove"):
            with self._lock:
                self.reactions.append(
                    (method, str(params.get("timestamp", "")), str(params.get("name", "")))
                )
            return _json({"ok": True})
        return _json({"ok": False, "error": "unknown_method"})


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    """A ``blocks`` parameter (a list, or its JSON text) checked as Slack checks it.

    Raises:
        ValueError: Slack would answer ``invalid_blocks``.
    """
    if value in (None, ""):
        return None
    blocks = json.loads(value) if isinstance(value, str) else value
    if not isinstance(blocks, list) or len(blocks) > 50:
        raise ValueError("blocks must be an array of at most 50 blocks")
    action_ids: set[str] = set()
    for b in blocks:
        kind = b.get("type") if isinstance(b, dict) else None
        if kind == "section":
            text = b.get("text") or {}
            if text.get("type") not in ("mrkdwn", "plain_text"):
                raise ValueError("section text must be a text object")
            if not 1 <= len(str(text.get("text", ""))) <= 3000:
                raise ValueError("section text must be 1 to 3000 characters")
        elif kind == "context":
            if not 1 <= len(b.get("elements") or []) <= 10:
                raise ValueError("context needs 1 to 10 elements")
        elif kind == "actions":
            elements = b.get("elements") or []
            if not 1 <= len(elements) <= 25:
                raise ValueError("actions needs 1 to 25 elements")
            for e in elements:
                if e.get("type") != "button":
                    raise ValueError("this fake knows only buttons")
                label = e.get("text") or {}
                if label.get("type") != "plain_text" or not 1 <= len(label.get("text", "")) <= 75:
                    raise ValueError("a button's text is plain_text of 1 to 75 characters")
                aid = str(e.get("action_id", ""))
                if not aid or len(aid) > 255 or aid in action_ids:
                    raise ValueError("action_id must be unique and at most 255 characters")
                action_ids.add(aid)
                if len(str(e.get("value", ""))) > 2000:
                    raise ValueError("a button's value is at most 2000 characters")
                if e.get("style") not in (None, "primary", "danger"):
                    raise ValueError("a button's style is primary or danger")
        elif kind not in ("divider", "header"):
            raise ValueError(f"unknown block type {kind!r}")
    return blocks


def _json(data: dict[str, Any]) -> web.Response:
    return web.json_response(data)
