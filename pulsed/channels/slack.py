"""The agent as a Slack app, through slack-sdk: Socket Mode (aiohttp) to receive, the
async Web API client to send.

A message event is acknowledged to Slack only after it is stored, so an event the
daemon never stored is delivered again by Slack; redeliveries are dropped by the
message's channel and ts. The SDK pings the socket and reconnects on its own; the
watchdog replaces the whole client when it stays disconnected past ``stall_s``.

Reference: Slack "Using Socket Mode" (api.slack.com/apis/socket-mode): apps.connections.open
returns a wss URL; each envelope must be acknowledged with its envelope_id within 3 s
or it is retried; a "disconnect" message asks for a new connection. chat.postMessage,
auth.test, reactions.add/remove, conversations.history/replies (bot token with the
``*:history`` scope of the conversation; ``oldest`` bounds the time range) from the Web
API reference (docs.slack.dev/reference/methods). Approval buttons: Block Kit ``section``
and ``actions`` blocks (button ``action_id``, ``value``; section text at most 3,000
characters); a press arrives as an ``interactive`` envelope whose payload is
``block_actions`` (``user.id``, ``container.channel_id``/``message_ts``, ``actions[]``);
chat.update edits the message, chat.postEphemeral answers one person only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pulsed.channels.format import Part, render_slack, slack_escape
from pulsed.channels.transport import (
    ApprovalPrompt,
    ConnectError,
    Inbound,
    Inbox,
    Press,
    SendError,
    Transport,
    TypingPhase,
)
from pulsed.config import SlackConfig

log = logging.getLogger("pulsed.channels.slack")

RETRYABLE_ERRORS = (
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
)
"""Web API error codes worth another try (the rest, e.g. channel_not_found, are final)."""

FIND_SLACK_S = 10.0
"""How far before the start of an interrupted send the history is read: room for the
difference between this host's clock and Slack's message timestamps."""

_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")

ACTION_PREFIX = "pulse_approval_"
"""Approval buttons' ``action_id``: the prefix and once | session | deny."""

SECTION_LIMIT = 3000
"""Most characters of a section block's text (Block Kit reference)."""


class SlackTransport(Transport):
    """Slack's Web API and Socket Mode, configured by ``[channels.slack]``."""

    name = "slack"
    platform = "Slack"
    approvals = True

    def __init__(self, scfg: SlackConfig) -> None:
        super().__init__(scfg)
        self.scfg = scfg
        self._inbox: Inbox | None = None
        self.web: Any = None
        self.socket: Any = None
        self.bot_user_id = ""
        self._reacting: set[str] = set()

    @property
    def inbox(self) -> Inbox:
        """Where received events go (set by ``open``)."""
        if self._inbox is None:
            raise RuntimeError("the Slack transport is not open")
        return self._inbox

    async def open(self, inbox: Inbox) -> None:
        from slack_sdk.web.async_client import AsyncWebClient

        self._inbox = inbox

        # The SDK logs every envelope (message text included) at debug level.
        logging.getLogger("pulsed.channels.slack.sdk").setLevel(logging.INFO)
        base = self.scfg.api_base_url
        self.web = AsyncWebClient(
            token=self.scfg.bot_token, base_url=base if base.endswith("/") else base + "/"
        )

    async def connect(self) -> str:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.socket_mode.aiohttp import SocketModeClient

        try:
            auth = await self.web.auth_test()
        except SlackApiError as e:
            error = _error_code(e)
            if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
                raise ConnectError(
                    f"Slack rejected the bot token ({error}); check [channels.slack] bot_token "
                    "or SLACK_BOT_TOKEN",
                    permanent=True,
                ) from None
            raise ConnectError(f"auth.test failed: {error or e}") from None
        except Exception as e:
            raise ConnectError(f"auth.test failed: {type(e).__name__}: {e}") from None
        self.bot_user_id = str(auth.get("user_id", ""))
        client = SocketModeClient(
            app_token=self.scfg.app_token,
            web_client=self.web,
            ping_interval=self.scfg.ping_interval_s,
            auto_reconnect_enabled=True,
            logger=logging.getLogger("pulsed.channels.slack.sdk"),
        )
        client.socket_mode_request_listeners.append(self._on_request)
        self.socket = client
        try:
            await asyncio.wait_for(self._connect_once(client), timeout=30)
        except SlackApiError as e:
            error = _error_code(e)
            raise ConnectError(
                f"apps.connections.open failed ({error}); check [channels.slack] app_token "
                "or SLACK_APP_TOKEN (an xapp- token with connections:write)",
                permanent=error in ("invalid_auth", "not_authed", "not_allowed_token_type"),
            ) from None
        return f"@{auth.get('user', '') or self.bot_user_id}"

    @staticmethod
    async def _connect_once(client: Any) -> None:
        """The SDK's ``connect`` retries forever; ask for the URL here so a bad app token
        fails instead, then let it connect."""
        client.wss_uri = await client.issue_new_wss_url()
        await client.connect()

    async def receive(self) -> None:
        """Watch the SDK's socket (it receives and reconnects on its own): alive while
        connected, and the channel's state follows it."""
        inbox = self.inbox
        tick = max(0.05, min(self.scfg.ping_interval_s, 2.0))
        while True:
            if await self.socket.is_connected():
                inbox.alive()
                await inbox.link(True)
            else:
                await inbox.link(False, "the Socket Mode connection dropped")
            await asyncio.sleep(tick)

    async def disconnect(self) -> None:
        client, self.socket = self.socket, None
        if client is not None:
            await client.close()

    async def _on_request(self, client: Any, req: Any) -> None:
        from slack_sdk.socket_mode.response import SocketModeResponse

        self.inbox.alive()
        if req.type == "interactive":
            # Acknowledged first: a press Slack delivered again would find its request
            # answered already.
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            await self._press(req.payload or {})
            return
        try:
            inbound = self._inbound(req)
            if inbound is not None:
                await self.inbox.deliver(inbound)  # durable before the ack
        except Exception:
            log.exception("slack: cannot handle envelope %s; not acknowledged", req.envelope_id)
            return  # Slack delivers it again
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    async def _press(self, payload: dict[str, Any]) -> None:
        """A ``block_actions`` payload: each approval button pressed goes to the inbox;
        a press that changed nothing is answered to the presser only (ephemeral)."""
        if payload.get("type") != "block_actions":
            return
        user = str((payload.get("user") or {}).get("id", ""))
        container = payload.get("container") or {}
        channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id", ""))
        ts = str(container.get("message_ts", ""))
        message = payload.get("message") or {}
        thread = str(container.get("thread_ts") or message.get("thread_ts") or "")
        for action in payload.get("actions") or []:
            action_id = str(action.get("action_id", ""))
            if not action_id.startswith(ACTION_PREFIX) or not user or not channel:
                continue
            reply = await self.inbox.press(
                Press(
                    chat=f"{channel}:{thread}" if thread else channel,
                    message_id=ts,
                    user_id=user,
                    user_name=f"<@{user}>",
                    request_id=str(action.get("value", "")),
                    decision=action_id.removeprefix(ACTION_PREFIX),
                )
            )
            if reply.text and not reply.settled:
                try:
                    await self.web.chat_postEphemeral(
                        channel=channel, user=user, text=reply.text, thread_ts=thread or None
                    )
                except Exception as e:
                    log.info("slack: chat.postEphemeral failed: %s", e)

    def _inbound(self, req: Any) -> Inbound | None:
        payload = req.payload or {}
        if req.type == "slash_commands":
            command = str(payload.get("command", ""))
            text = str(payload.get("text", "")).strip()
            if command == "/pulse" and text:
                command, text = "/" + text.split()[0], ""
            channel = str(payload.get("channel_id", ""))
            return Inbound(
                chat=channel,
                user_id=str(payload.get("user_id", "")),
                text=f"{command} {text}".strip(),
                message_id=str(payload.get("trigger_id", "")),
                dedupe=f"cmd:{payload.get('trigger_id', '')}",
                user_name=str(payload.get("user_name", "")),
                meta={"channel": channel, "command": command},
            )
        if req.type != "events_api":
            return None
        event = payload.get("event") or {}
        etype = event.get("type")
        if etype not in ("message", "app_mention"):
            return None
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return None  # edits, joins, bot messages (our own answers among them)
        if event.get("user") == self.bot_user_id:
            return None
        channel = str(event.get("channel", ""))
        ts = str(event.get("ts", ""))
        thread = str(event.get("thread_ts", "") or "")
        direct = event.get("channel_type") == "im" or channel.startswith("D")
        if (
            etype == "message"
            and not direct
            and (not thread or not self.inbox.follows(f"{channel}:{thread}"))
        ):
            return None  # in channels: mentions, and replies in threads it talks in
        if direct and not thread:
            chat = channel
        else:
            root = thread or (ts if self.scfg.reply_in_thread else "")
            chat = f"{channel}:{root}" if root else channel
        text = _MENTION.sub("", str(event.get("text", ""))).strip()
        return Inbound(
            chat=chat,
            user_id=str(event["user"]),
            text=text,
            message_id=ts,
            dedupe=f"{channel}:{ts}",
            meta={
                "channel": channel,
                "ts": ts,
                "thread_ts": thread,
                "event_id": payload.get("event_id", ""),
                "channel_type": event.get("channel_type", ""),
            },
        )

    async def send(self, chat: str, part: Part, plain: bool) -> str:
        channel, _, thread = chat.partition(":")
        resp = await self._call(
            "chat.postMessage",
            lambda: self.web.chat_postMessage(
                channel=channel,
                text=part.plain if plain else part.body,
                thread_ts=thread or None,
                mrkdwn=not plain,
                unfurl_links=False,
            ),
        )
        return str(resp.get("ts", ""))

    async def ask(self, chat: str, prompt: ApprovalPrompt) -> str:
        """chat.postMessage with the prompt's blocks and the three buttons (their
        ``value`` is the request id), in the chat's thread."""
        channel, _, thread = chat.partition(":")
        rid = prompt.request_id
        buttons = [
            _button("Allow once", "once", rid, "primary"),
            _button("Allow for this session", "session", rid),
            _button("Deny", "deny", rid, "danger"),
        ]
        blocks = [
            *prompt_blocks(prompt),
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Answer within {prompt.wait_text()}; no answer = denied.",
                    }
                ],
            },
            {"type": "actions", "block_id": f"pulse_approval:{rid}", "elements": buttons},
        ]
        resp = await self._call(
            "chat.postMessage",
            lambda: self.web.chat_postMessage(
                channel=channel,
                text=f"Approval needed: {prompt.tool}",
                blocks=blocks,
                thread_ts=thread or None,
                unfurl_links=False,
            ),
        )
        return str(resp.get("ts", ""))

    async def settle(
        self, chat: str, message_id: str, prompt: ApprovalPrompt, outcome: str
    ) -> None:
        """chat.update: the prompt's blocks without the buttons, the outcome below."""
        channel = chat.partition(":")[0]
        blocks = [
            *prompt_blocks(prompt),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]},
        ]
        await self._call(
            "chat.update",
            lambda: self.web.chat_update(
                channel=channel,
                ts=message_id,
                text=f"Approval {prompt.tool}: {outcome}",
                blocks=blocks,
            ),
        )

    async def _call(self, method: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()`` (Web API ``method``) with its errors as ``SendError``.

        Raises:
            SendError: retryable for 5xx, 429, the transient error codes and network
                errors.
        """
        from slack_sdk.errors import SlackApiError

        try:
            return await call()
        except SlackApiError as e:
            error = _error_code(e)
            status = getattr(e.response, "status_code", 0) or 0
            retry_after = _retry_after(e.response)
            retryable = status >= 500 or status == 429 or error in RETRYABLE_ERRORS
            raise SendError(
                f"{method}: {error or 'HTTP ' + str(status)}",
                retryable=retryable,
                retry_after=retry_after,
            ) from None
        except (TimeoutError, OSError) as e:
            raise SendError(f"network error: {type(e).__name__}: {e}", retryable=True) from None
        except Exception as e:
            import aiohttp

            if isinstance(e, aiohttp.ClientError):
                raise SendError(f"network error: {e}", retryable=True) from None
            raise

    async def find_sent(self, chat: str, part: Part, since: datetime) -> str | None:
        """The ts of the bot's message in ``chat`` whose text is this part's, posted
        since ``since`` (less ``FIND_SLACK_S``): read with conversations.history, or
        conversations.replies in a thread. ``None`` when there is none or the history
        cannot be read (a missing ``*:history`` scope, a rate limit): sent again."""
        channel, _, thread = chat.partition(":")
        oldest = f"{since.timestamp() - FIND_SLACK_S:.6f}"
        try:
            if not self.bot_user_id:
                self.bot_user_id = str((await self.web.auth_test()).get("user_id", ""))
            if thread:
                resp = await self.web.conversations_replies(
                    channel=channel, ts=thread, oldest=oldest, limit=100
                )
            else:
                resp = await self.web.conversations_history(
                    channel=channel, oldest=oldest, limit=100
                )
        except Exception as e:
            log.info("slack: cannot read %s to check an interrupted send: %s", chat, e)
            return None
        texts = (part.body, part.plain)
        for m in resp.get("messages") or []:
            if m.get("user") == self.bot_user_id and m.get("text") in texts and m.get("ts"):
                return str(m["ts"])
        return None

    async def typing(self, inbound: Inbound, phase: TypingPhase) -> None:
        """A reaction on the message while its turn runs (reactions.add at start,
        reactions.remove at stop): Slack has no typing indicator for apps."""
        name = self.scfg.typing_reaction
        channel = str(inbound.meta.get("channel", ""))
        ts = str(inbound.meta.get("ts", ""))
        if not name or not channel or not ts or phase == "refresh":
            return
        try:
            if phase == "start":
                await self.web.reactions_add(channel=channel, timestamp=ts, name=name)
                self._reacting.add(ts)
            elif ts in self._reacting:
                self._reacting.discard(ts)
                await self.web.reactions_remove(channel=channel, timestamp=ts, name=name)
        except Exception as e:  # a missing indicator is no reason to fail anything
            log.debug("slack reaction %s failed: %s", phase, e)

    async def close(self) -> None:
        await self.disconnect()

    def render(self, markdown: str) -> list[Part]:
        return render_slack(markdown)


def prompt_blocks(prompt: ApprovalPrompt) -> list[dict[str, Any]]:
    """An approval request as Block Kit sections: the tool and its argument lines, then
    the shell's command as a code block (each section under ``SECTION_LIMIT``)."""
    head = f":lock: *Approval needed*: `{slack_escape(prompt.tool)}`"
    for i, line in enumerate(prompt.lines):
        more = "\n" + slack_escape(line)
        if len(head) + len(more) > SECTION_LIMIT - 20:
            head += f"\n… and {len(prompt.lines) - i} more"
            break
        head += more
    blocks = [_section(head)]
    if prompt.code:
        code = slack_escape(prompt.code)
        if len(code) > SECTION_LIMIT - 6:
            # Cut outside an entity (&amp; &lt; &gt;), so the cut shows as "…".
            code = _ENTITY_TAIL.sub("", code[: SECTION_LIMIT - 7]) + "…"
        blocks.append(_section(f"```{code}```"))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, decision: str, rid: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_PREFIX + decision,
        "text": {"type": "plain_text", "text": label},
        "value": rid,
    }
    if style:
        button["style"] = style
    return button


def _error_code(e: Any) -> str:
    data = getattr(getattr(e, "response", None), "data", None)
    return str(data.get("error", "")) if isinstance(data, dict) else ""


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return float(value) if value else None
    except (TypeError, ValueError):
        return None
