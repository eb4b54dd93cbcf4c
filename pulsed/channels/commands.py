"""The slash commands a chat answers without the agent: /new, /status, /cost, /start
and /help (Telegram's ``/cmd@botname`` form included)."""

from __future__ import annotations

from typing import Literal

from pulsed.channels.deps import ChannelDeps
from pulsed.channels.sessions import Sessions
from pulsed.store.base import to_iso
from pulsed.timeutil import local_midnight

Command = Literal["new", "status", "cost", "start", "help"]
"""A command the channel answers itself."""

COMMANDS: tuple[Command, ...] = ("new", "status", "cost", "start", "help")


def parse(text: str) -> Command | None:
    """The command ``text`` starts with (``/Status@pulse_bot`` → ``status``); None for
    a message or an unknown command (which goes to the agent)."""
    words = text.strip().split()
    if not words or not words[0].startswith("/"):
        return None
    word = words[0][1:].split("@", 1)[0].lower()
    for command in COMMANDS:
        if word == command:
            return command
    return None


class Commands:
    """Answers commands in the chats of one channel, with the daemon's status and
    costs (``deps``) and the chat's session (``sessions``)."""

    def __init__(self, deps: ChannelDeps, sessions: Sessions) -> None:
        self.d = deps
        self.sessions = sessions

    async def reply(self, command: Command, chat: str) -> str:
        """The answer to ``command`` in ``chat`` (Markdown); ``new`` also starts the
        chat's next session.

        Raises:
            PulseError: the store cannot answer (or record the new session).
        """
        if command == "new":
            session = await self.sessions.new(chat)
            return f"Started a new conversation (session `{session}`)."
        if command == "status":
            return await self._status(chat)
        if command == "cost":
            return await self._cost(chat)
        return (
            f"Hi, I'm {self.d.cfg.agent.name}. Just write to me.\n\n"
            "/new — start a new conversation\n"
            "/status — what I am running on\n"
            "/cost — what this conversation and today cost"
        )

    async def _status(self, chat: str) -> str:
        """The daemon's ``DaemonStatus`` (shared with ``System.Status``) for a chat."""
        st = await self.d.status.snapshot()
        session = self.sessions.session_for(chat)
        problem = st.provider_problem
        budget = st.budget_daily_usd
        lines = [
            f"*{st.agent_name}* — pulsed",
            f"Model: {st.provider} / {st.model}"
            + (" (not usable: " + problem + ")" if problem else ""),
            f"Session: `{session}`",
            f"Turns: {st.active_turns} running, {st.queued_turns} queued "
            f"({self.d.turns.queued_behind(session)} in this chat)",
            f"Spent today: ${st.spent_today_usd:.4f}"
            + (f" of ${budget:.2f}" if budget > 0 else ""),
        ]
        return "\n".join(lines)

    async def _cost(self, chat: str) -> str:
        """What the chat's session and the whole day cost, in USD."""
        store = self.d.store
        session = self.sessions.session_for(chat)
        today = await store.cost_summary(since=to_iso(local_midnight()))
        by_session = await store.cost_summary(by="session")
        mine = next((b for b in by_session.buckets if b.key == session), None)
        lines = [
            f"This conversation: ${mine.cost_usd:.4f} in {mine.requests} LLM calls "
            f"({mine.input_tokens + mine.output_tokens} tokens)"
            if mine
            else "This conversation: no LLM calls yet",
            f"Today, everything: ${today.total.cost_usd:.4f} in {today.total.requests} calls",
        ]
        budget = self.d.cfg.budget.daily_usd
        if budget > 0:
            lines.append(f"Daily budget: ${budget:.2f}")
        return "\n".join(lines)
