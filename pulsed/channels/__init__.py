"""Chat channels: the agent on Telegram and Slack, with a durable outbox.

A ``Channel`` (channel.py) composes its parts, each owning its own state:

- transport.py: the ``Transport`` a platform implements (connect, receive, send,
  typing, render), the ``Inbox`` it reports to, ``Inbound`` messages, errors;
  telegram.py and slack.py implement it.
- supervisor.py: keeps the receiver connected (watchdog, backoff) and owns the state.
- access.py: allowlist, pairing codes, refusals to strangers.
- sessions.py: each chat's session and ``/new``.
- inbound.py: an incoming message → dedupe, access, a command, or a turn.
- approvals.py: "ask" tools' approval requests as buttons in the chat, and the presses
  that answer them.
- commands.py: /new, /status, /cost, /start, /help.
- outbox.py: durable delivery of answers from the channel's cursor, with retries.
- journal.py: the channel's events.
- format.py: Markdown → each platform's formatted, split message parts.
- manager.py: builds the enabled channels; deps.py: what they need from the daemon.
"""
