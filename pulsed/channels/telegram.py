"""The agent as a Telegram bot, through python-telegram-bot's ``Bot`` by long polling.

Two ``Bot`` objects share the token: one long-polls ``getUpdates`` (and is rebuilt when
the watchdog finds it stalled), one sends, so a stuck poll never holds up replies.
Inbound updates are confirmed to Telegram only by the next ``getUpdates`` offset, after
they are stored; the last handled update id is kept as cursor
``channel:telegram:inbound`` so a restart resumes after it.

Reference: Telegram Bot API (core.telegram.org/bots/api): getUpdates offset semantics
("an update is considered confirmed as soon as getUpdates is called with an offset
higher than its update_id"), sendMessage ("On success, the sent Message is returned"),
sendChatAction; inline keyboards (InlineKeyboardMarkup, callback_data 1-64 bytes), callback
queries ("the client will display a progress bar until you call answerCallbackQuery"),
editMessageText (an edit without reply_markup drops the keyboard) and
editMessageReplyMarkup; python-telegram-bot 22
(docs.python-telegram-bot.org): ``Bot(base_url=...)`` appends the token to the base URL.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pulsed.channels.format import Part, render_telegram
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
from pulsed.config import TelegramConfig

log = logging.getLogger("pulsed.channels.telegram")

SEND_TIMEOUT_S = 20.0
"""Read timeout of a send; past it the send counts as failed and is retried."""

DECISION_CODES = {"o": "once", "s": "session", "d": "deny"}
"""The last part of an approval button's callback_data (``<request id>:<code>``)."""

T = TypeVar("T")


def chat_id(chat: str) -> int | str:
    """Telegram's chat id: a number, or an ``@channelusername``."""
    return int(chat) if chat.lstrip("-").isdigit() else chat


class TelegramTransport(Transport):
    """Telegram's Bot API, configured by ``[channels.telegram]``."""

    name = "telegram"
    platform = "Telegram"
    approvals = True

    def __init__(self, tcfg: TelegramConfig) -> None:
        super().__init__(tcfg)
        self.tcfg = tcfg
        self._inbox: Inbox | None = None
        self.sender: Any = None
        self.poller: Any = None
        self._requests: list[Any] = []

    def _bot(self, *, polling: bool) -> Any:
        from telegram import Bot
        from telegram.request import HTTPXRequest

        if polling:
            # PTB adds the long-poll timeout to this read timeout for getUpdates.
            req = HTTPXRequest(connection_pool_size=2, read_timeout=10.0, connect_timeout=10.0)
        else:
            req = HTTPXRequest(
                connection_pool_size=8, read_timeout=SEND_TIMEOUT_S, connect_timeout=10.0
            )
        self._requests.append(req)
        return Bot(
            self.tcfg.token,
            base_url=self.tcfg.api_base_url,
            request=req,
            get_updates_request=req,
        )

    @property
    def inbox(self) -> Inbox:
        """Where received updates go (set by ``open``)."""
        if self._inbox is None:
            raise RuntimeError("the Telegram transport is not open")
        return self._inbox

    async def open(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self.sender = self._bot(polling=False)

    async def connect(self) -> str:
        from telegram.error import InvalidToken, TelegramError

        if self.poller is None:
            self.poller = self._bot(polling=True)
        try:
            await self.poller.initialize()  # getMe: checks the token
        except InvalidToken:
            raise ConnectError(
                "Telegram rejected the bot token; check [channels.telegram] token or "
                "TELEGRAM_BOT_TOKEN",
                permanent=True,
            ) from None
        except TelegramError as e:
            raise ConnectError(f"getMe failed: {e}") from None
        return f"@{self.poller.username}"

    def stall_limit(self) -> float:
        return self.tcfg.poll_timeout_s + self.tcfg.stall_s

    async def receive(self) -> None:
        from telegram.error import Conflict

        inbox = self.inbox
        position = inbox.resume_position()
        offset = position + 1 if position else None
        while True:
            inbox.alive()
            try:
                updates = await self.poller.get_updates(
                    offset=offset,
                    timeout=self.tcfg.poll_timeout_s,
                    allowed_updates=["message", "callback_query"],
                )
            except Conflict:
                raise ConnectError(
                    "another program is polling this bot's updates (409 Conflict); "
                    "stop it or remove its webhook"
                ) from None
            inbox.alive()
            for update in updates:
                if update.callback_query is not None:
                    await self._press(update.callback_query)
                else:
                    inbound = self._inbound(update)
                    if inbound is not None:
                        await inbox.deliver(inbound)
                offset = update.update_id + 1
            if updates:
                await inbox.save_position(updates[-1].update_id)

    def _inbound(self, update: Any) -> Inbound | None:
        msg = update.message
        if msg is None or msg.from_user is None:
            return None
        user = msg.from_user
        return Inbound(
            chat=str(msg.chat.id),
            user_id=str(user.id),
            text=msg.text or msg.caption or "",
            message_id=str(msg.message_id),
            dedupe=f"{msg.chat.id}:{msg.message_id}",
            user_name=user.username or user.full_name or "",
            meta={"update_id": update.update_id, "chat_type": msg.chat.type},
        )

    async def _press(self, query: Any) -> None:
        """A callback query: an approval button's press goes to the inbox; the query is
        answered (its notice shown to the presser) either way."""
        rid, _, code = str(query.data or "").rpartition(":")
        msg = query.message
        text = ""
        if rid.startswith("ap-") and code in DECISION_CODES and msg is not None:
            user = query.from_user
            name = f"@{user.username}" if user.username else (user.full_name or str(user.id))
            reply = await self.inbox.press(
                Press(
                    chat=str(msg.chat.id),
                    message_id=str(msg.message_id),
                    user_id=str(user.id),
                    user_name=name,
                    request_id=rid,
                    decision=DECISION_CODES[code],
                )
            )
            text = reply.text
        try:
            await self.sender.answer_callback_query(query.id, text=text or None)
        except Exception as e:  # the spinner stops on its own; nothing depends on it
            log.info("answerCallbackQuery failed: %s", e)

    async def disconnect(self) -> None:
        """Drop the poller; the next connect builds a fresh one."""
        poller, self.poller = self.poller, None
        if poller is not None:
            req = poller.request
            await poller.shutdown()
            await req.shutdown()
            if req in self._requests:
                self._requests.remove(req)

    async def send(self, chat: str, part: Part, plain: bool) -> str:
        msg = await self._call(
            lambda: self.sender.send_message(
                chat_id=chat_id(chat),
                text=part.plain if plain else part.body,
                parse_mode=None if plain else "HTML",
            )
        )
        return str(msg.message_id)

    async def ask(self, chat: str, prompt: ApprovalPrompt) -> str:
        """sendMessage with the prompt (HTML) and an inline keyboard whose buttons
        carry ``<request id>:o|s|d`` as callback_data."""
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        rid = prompt.request_id
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("✅ Allow once", callback_data=f"{rid}:o"),
                    InlineKeyboardButton("✅ Allow for this session", callback_data=f"{rid}:s"),
                ],
                [InlineKeyboardButton("❌ Deny", callback_data=f"{rid}:d")],
            ]
        )
        msg = await self._call(
            lambda: self.sender.send_message(
                chat_id=chat_id(chat),
                text=prompt_html(prompt),
                parse_mode="HTML",
                reply_markup=keyboard,
            )
        )
        return str(msg.message_id)

    async def settle(
        self, chat: str, message_id: str, prompt: ApprovalPrompt, outcome: str
    ) -> None:
        """editMessageText: the prompt without its keyboard, the outcome below it; when
        Telegram refuses the edit, editMessageReplyMarkup at least drops the buttons."""
        text = prompt_html(prompt, outcome)
        try:
            await self._call(
                lambda: self.sender.edit_message_text(
                    text, chat_id=chat_id(chat), message_id=int(message_id), parse_mode="HTML"
                )
            )
        except SendError as e:
            if e.retryable:
                raise
            log.info("editMessageText refused (%s); dropping the buttons only", e.message)
            await self._call(
                lambda: self.sender.edit_message_reply_markup(
                    chat_id=chat_id(chat), message_id=int(message_id)
                )
            )

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` (a Bot API method) with its errors as ``SendError``.

        Raises:
            SendError: retryable for 429, timeouts and network errors; ``format_error``
                when Telegram cannot parse the HTML.
        """
        from telegram.error import (
            BadRequest,
            ChatMigrated,
            EndPointNotFound,
            Forbidden,
            InvalidToken,
            NetworkError,
            RetryAfter,
            TelegramError,
            TimedOut,
        )

        try:
            return await call()
        except RetryAfter as e:
            wait = e.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            raise SendError(str(e), retryable=True, retry_after=seconds) from None
        except BadRequest as e:
            text = str(e)
            if "parse" in text.lower() and "entit" in text.lower():
                raise SendError(text, retryable=False, format_error=True) from None
            raise SendError(f"Telegram refused the message: {text}", retryable=False) from None
        except (Forbidden, InvalidToken, EndPointNotFound, ChatMigrated) as e:
            raise SendError(f"Telegram refused the message: {e}", retryable=False) from None
        except TimedOut as e:
            raise SendError(f"timed out: {e}", retryable=True) from None
        except NetworkError as e:
            raise SendError(f"network error: {e}", retryable=True) from None
        except TelegramError as e:
            raise SendError(f"Telegram error: {e}", retryable=False) from None

    async def find_sent(self, chat: str, part: Part, since: datetime) -> str | None:
        """Always ``None``: the Bot API cannot tell whether a sendMessage whose answer
        never arrived was delivered, so the outbox sends such a part again.

        The Bot API (core.telegram.org/bots/api) has no method that reads a chat's
        history or the bot's own sent messages (getChatHistory is TDLib/MTProto, not the
        Bot API); getUpdates never returns the bot's own outgoing messages; sendMessage
        takes no client-chosen id or idempotency key, and the message_id that identifies
        a sent message exists only in its response. The edit methods (editMessageText,
        editMessageReplyMarkup) need that message_id; probing guessed ids with them
        relies on undocumented id order and error texts and could edit a different
        message, so it is not done."""
        return None

    async def typing(self, inbound: Inbound, phase: TypingPhase) -> None:
        """sendChatAction ``typing`` at start and each refresh (it shows for at most
        5 s, Bot API); nothing to undo at stop."""
        if phase == "stop":
            return
        try:
            await self.sender.send_chat_action(chat_id=chat_id(inbound.chat), action="typing")
        except Exception as e:  # a missing typing status is no reason to fail anything
            log.debug("sendChatAction failed: %s", e)

    async def close(self) -> None:
        await self.disconnect()
        for req in self._requests:
            await req.shutdown()
        self._requests = []

    def render(self, markdown: str) -> list[Part]:
        return render_telegram(markdown)


def prompt_html(prompt: ApprovalPrompt, outcome: str = "") -> str:
    """An approval request as Telegram HTML: the tool, its argument lines, the shell's
    command as a code block, and the time to answer, or the ``outcome`` when settled."""
    out = [f"🔐 <b>Approval needed</b>: <code>{html.escape(prompt.tool, quote=False)}</code>"]
    out += [html.escape(line, quote=False) for line in prompt.lines]
    if prompt.code:
        out.append(f"<pre>{html.escape(prompt.code, quote=False)}</pre>")
    if outcome:
        out.append("")
        out.append(html.escape(outcome, quote=False))
    else:
        out.append(f"<i>Answer within {prompt.wait_text()}; no answer = denied.</i>")
    return "\n".join(out)
