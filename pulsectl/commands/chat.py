"""``pulsectl chat``: one message (an argument or stdin) or, on a terminal, the prompt."""

from __future__ import annotations

import argparse
import sys

from pulsectl.chat import TurnRunner, chat_loop
from pulsectl.commands import client as _client
from pulsectl.diagnostics import EXIT_OK, UsageError
from pulsectl.output import Output


def _read_stdin_message() -> str:
    text = sys.stdin.read().strip()
    if not text:
        raise UsageError("empty message on stdin", "example: echo 'hello' | pulsectl chat -")
    return text


def cmd_chat(args: argparse.Namespace, out: Output) -> int:
    """``chat [MESSAGE|-]``: one turn (exit 1 when it fails), or the prompt on a terminal.

    Raises:
        UsageError: an empty message.
        TurnFailed: the turn ended with an error.
        ClientError: the daemon is unreachable or refused the message.
    """
    message: str | None = args.message
    stdin_tty = sys.stdin.isatty()
    if message == "-" or (message is None and not stdin_tty):
        message = _read_stdin_message()
    elif message is not None and not message.strip():
        raise UsageError("empty message", 'example: pulsectl chat "hello"')
    with _client(args) as client:
        runner = TurnRunner(
            client,
            out,
            json_mode=args.json,
            interactive=stdin_tty,
            auto_yes=args.yes,
            drain=message is None,
        )
        runner.model = args.model.strip()
        if message is None:
            return chat_loop(runner, args.session)
        turn = runner.run(message, args.session)
    if turn.error is not None:
        raise turn.error
    return EXIT_OK
